import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { Prisma } from '../generated/prisma/client.js';

/**
 * The audit trail is one hash chain over all events: each row stores the previous row's hash, and
 * its own hash covers that plus the canonical JSON (RFC 8785) of the event, so editing, deleting
 * or reordering any row breaks every link after it.
 */

// canonicalize 2.x is CommonJS (it runs on every Node we support) and its types describe an ES
// default export; imported from ESM, the default is the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export const genesisHash = '0'.repeat(64);

/** Serialises appends across every process sharing the database, so the chain never forks. */
const auditChainLockKey = 0x6a69_7461; // "jita"

export interface AuditInput {
  requestId?: string | null;
  /** Slack user id, or `system` / `hook:<name>` for automatic actions. */
  actor: string;
  /** What happened, e.g. `request.created`, `request.approved`, `approval.refused`. */
  action: string;
  fromState?: string | null;
  toState?: string | null;
  details?: Record<string, unknown>;
}

export interface ChainedFields {
  at: Date;
  requestId: string | null;
  actor: string;
  action: string;
  fromState: string | null;
  toState: string | null;
  details: unknown;
}

export function hashAuditEvent(prevHash: string, event: ChainedFields): string {
  const body = canonicalize({
    at: event.at.toISOString(),
    requestId: event.requestId,
    actor: event.actor,
    action: event.action,
    fromState: event.fromState,
    toState: event.toState,
    details: event.details,
  });
  return createHash('sha256')
    .update(prevHash)
    .update(body ?? '')
    .digest('hex');
}

/**
 * Appends one event inside the caller's transaction. The advisory lock is held until that
 * transaction ends, so the next append (from any process) sees this row as the chain's tail.
 */
export async function appendAuditEvent(
  tx: Prisma.TransactionClient,
  input: AuditInput,
  at: Date,
): Promise<bigint> {
  const [id] = await appendAuditEvents(tx, [input], at);
  return id as bigint;
}

/**
 * Appends several events in order with one lock and one insert: a bulk revocation records a
 * thousand ends without taking the chain's lock a thousand times.
 */
export async function appendAuditEvents(
  tx: Prisma.TransactionClient,
  inputs: readonly AuditInput[],
  at: Date,
): Promise<bigint[]> {
  if (inputs.length === 0) return [];
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${auditChainLockKey})`;
  const tail = await tx.auditEvent.findFirst({ orderBy: { id: 'desc' }, select: { hash: true } });
  let prevHash = tail?.hash ?? genesisHash;
  const rows = inputs.map((input) => {
    const fields: ChainedFields = {
      at,
      requestId: input.requestId ?? null,
      actor: input.actor,
      action: input.action,
      fromState: input.fromState ?? null,
      toState: input.toState ?? null,
      details: input.details ?? {},
    };
    const hash = hashAuditEvent(prevHash, fields);
    const row = { ...fields, details: fields.details as Prisma.InputJsonValue, prevHash, hash };
    prevHash = hash;
    return row;
  });
  // Ids come from one sequence under the lock, in insert order, so the chain reads back in order.
  const created = await tx.auditEvent.createManyAndReturn({ data: rows, select: { id: true, hash: true } });
  const idByHash = new Map(created.map((row) => [row.hash, row.id]));
  return rows.map((row) => idByHash.get(row.hash) as bigint);
}
