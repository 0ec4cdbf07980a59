import type { PrismaClient } from '../generated/prisma/client.js';
import { genesisHash, hashAuditEvent } from './chain.js';
import { auditEventPages } from './event-pages.js';

/**
 * Walks the whole audit chain in id order and recomputes every link. Rows are read a page at a
 * time, so a trail of millions of events is checked in constant memory; appends made meanwhile
 * only ever add rows after the last one read (ids are taken under the chain's lock), so a
 * verification running next to the bot sees a consistent prefix of the chain.
 */

/**
 * - `edited`: the event's stored hash is not the hash of its own contents: a field of it was
 *   changed after it was written.
 * - `missing-or-reordered`: the event is intact, but its `prevHash` is not the hash of the event
 *   stored before it: events before it were deleted or moved, or the one before it was rewritten
 *   together with its hash.
 */
export type ChainProblem = 'edited' | 'missing-or-reordered';

export type ChainVerification =
  | {
      ok: true;
      /** Events checked. */
      count: number;
      /** The newest event; compare with the security channel to notice the newest being removed. */
      last: { id: bigint; hash: string } | null;
    }
  | {
      ok: false;
      /** Intact events before the first broken one. */
      count: number;
      firstBrokenId: bigint;
      problem: ChainProblem;
    };

export async function verifyAuditChain(
  db: Pick<PrismaClient, 'auditEvent'>,
  options: { pageSize?: number } = {},
): Promise<ChainVerification> {
  let expectedPrev = genesisHash;
  let count = 0;
  let last: { id: bigint; hash: string } | null = null;
  for await (const page of auditEventPages(db, {}, options.pageSize)) {
    for (const row of page) {
      // The row's own hash first: an edited row is named as edited even when the edit also
      // touched its prevHash.
      if (hashAuditEvent(row.prevHash, row) !== row.hash) {
        return { ok: false, count, firstBrokenId: row.id, problem: 'edited' };
      }
      if (row.prevHash !== expectedPrev) {
        return { ok: false, count, firstBrokenId: row.id, problem: 'missing-or-reordered' };
      }
      expectedPrev = row.hash;
      count += 1;
      last = { id: row.id, hash: row.hash };
    }
  }
  return { ok: true, count, last };
}

/** One line for people: what `jit audit verify` prints and `/jit audit` repeats. */
export function describeVerification(result: ChainVerification): string {
  if (result.ok) {
    const tail = result.last ? `; last event #${result.last.id}, hash ${result.last.hash}` : '';
    return `OK: ${result.count} audit event${result.count === 1 ? '' : 's'}, every link intact${tail}`;
  }
  const why =
    result.problem === 'edited'
      ? 'its contents do not match its hash (the event was edited)'
      : 'it does not link to the event stored before it (events before it were deleted, reordered or rewritten)';
  const before = result.count === 1 ? 'the 1 event before it is' : `the ${result.count} events before it are`;
  return `BROKEN at event #${result.firstBrokenId}: ${why}; ${before} intact`;
}
