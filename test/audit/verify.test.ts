import { Client } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditInput,
  appendAuditEvent,
  appendAuditEvents,
  hashAuditEvent,
} from '../../src/audit/chain.js';
import { describeVerification, verifyAuditChain } from '../../src/audit/verify.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * `verifyAuditChain` on a real database. The table refuses updates and deletes, so tampering is
 * done as an attacker with superuser rights would: with triggers switched off for the session.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

type Statement = [text: string, params?: unknown[]];

/** Runs statements in one transaction; `bypassTriggers` as a superuser can. */
async function run(statements: Statement[], bypassTriggers: boolean): Promise<void> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    if (bypassTriggers) await client.query('SET LOCAL session_replication_role = replica');
    for (const [text, params = []] of statements) await client.query(text, params);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

const sql = (text: string, params: unknown[] = []) => run([[text, params]], false);
const tamper = (...statements: Statement[]) => run(statements, true);

/** Empties the trail as only a superuser bypassing the triggers can; `resetHead` as well. */
const emptyTrail = (resetHead: boolean) =>
  tamper(
    ['TRUNCATE audit_events RESTART IDENTITY'],
    ...(resetHead
      ? [["UPDATE audit_chain_head SET hash = repeat('0', 64), \"prevHash\" = repeat('0', 64)"] as Statement]
      : []),
  );

beforeEach(async () => {
  // Each test starts from an empty trail, with the chain's head back at the genesis hash.
  await emptyTrail(true);
});

const event = (n: number): AuditInput => ({
  requestId: `JIT-${String(n).padStart(6, '0')}`,
  actor: 'UALICE01',
  action: 'request.created',
  toState: 'pending',
  details: { n, reason: `investigating INC-${n}` },
});

/** `count` events appended in small batches, at distinct times; returns their ids in order. */
async function appendChain(count: number): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (let start = 0; start < count; start += 4) {
    const batch = Array.from({ length: Math.min(4, count - start) }, (_, i) => event(start + i));
    const at = new Date(Date.UTC(2026, 10, 1, 9, 0, start));
    ids.push(...(await db.prisma.$transaction((tx) => appendAuditEvents(tx, batch, at))));
  }
  return ids;
}

describe('verifyAuditChain', () => {
  it('reports an empty trail as intact', async () => {
    expect(await verifyAuditChain(db.prisma)).toEqual({ ok: true, count: 0, last: null });
  });

  it('walks an intact chain across pages and reports its count and newest event', async () => {
    const ids = await appendChain(23);
    const newest = await db.prisma.auditEvent.findUniqueOrThrow({ where: { id: ids[22] as bigint } });

    const result = await verifyAuditChain(db.prisma, { pageSize: 5 });

    expect(result).toEqual({ ok: true, count: 23, last: { id: newest.id, hash: newest.hash } });
    expect(describeVerification(result)).toBe(
      `OK: 23 audit events, every link intact; last event #${newest.id}, hash ${newest.hash}`,
    );
  });

  it('cannot be tampered with through the table itself', async () => {
    const [id] = await appendChain(1);
    await expect(sql(`UPDATE audit_events SET actor = 'UEVE0001' WHERE id = $1`, [id])).rejects.toThrow(
      /append-only/,
    );
    await expect(sql('DELETE FROM audit_events WHERE id = $1', [id])).rejects.toThrow(/append-only/);
    expect((await verifyAuditChain(db.prisma)).ok).toBe(true);
  });

  it('names an edited event', async () => {
    const ids = await appendChain(12);
    const edited = ids[7] as bigint;
    await tamper([
      `UPDATE audit_events SET details = jsonb_set(details, '{reason}', '"nothing to see"') WHERE id = $1`,
      [edited],
    ]);

    const result = await verifyAuditChain(db.prisma, { pageSize: 5 });

    expect(result).toEqual({ ok: false, count: 7, firstBrokenId: edited, problem: 'edited' });
    expect(describeVerification(result)).toBe(
      `BROKEN at event #${edited}: its contents do not match its hash (the event was edited); the 7 events before it are intact`,
    );
  });

  it('names an edited event whose actor or time was changed', async () => {
    const ids = await appendChain(6);
    await tamper(
      [`UPDATE audit_events SET "at" = "at" + interval '1 millisecond' WHERE id = $1`, [ids[2]]],
      [`UPDATE audit_events SET actor = 'UEVE0001' WHERE id = $1`, [ids[4]]],
    );
    expect(await verifyAuditChain(db.prisma)).toMatchObject({
      ok: false,
      firstBrokenId: ids[2],
      problem: 'edited',
    });
  });

  it('names the event after a deleted one', async () => {
    const ids = await appendChain(12);
    await tamper(['DELETE FROM audit_events WHERE id = $1', [ids[5]]]);

    expect(await verifyAuditChain(db.prisma, { pageSize: 5 })).toEqual({
      ok: false,
      count: 5,
      firstBrokenId: ids[6],
      problem: 'missing-or-reordered',
    });
  });

  it('notices the very first event being deleted', async () => {
    const ids = await appendChain(3);
    await tamper(['DELETE FROM audit_events WHERE id = $1', [ids[0]]]);
    expect(await verifyAuditChain(db.prisma)).toEqual({
      ok: false,
      count: 0,
      firstBrokenId: ids[1],
      problem: 'missing-or-reordered',
    });
  });

  it('notices a trail emptied and begun again: the head still holds the old chain', async () => {
    await appendChain(3);
    await emptyTrail(false);
    const [id] = await appendChain(1);
    expect(await verifyAuditChain(db.prisma)).toEqual({
      ok: false,
      count: 0,
      firstBrokenId: id,
      problem: 'missing-or-reordered',
    });
  });

  it('names the first of two events whose contents were swapped (reordered)', async () => {
    const ids = await appendChain(12);
    const [first, second] = [ids[3], ids[8]];
    // Every column but the id moves, hashes included, so each row stays self-consistent.
    const columns = [
      'at',
      'requestId',
      'actor',
      'action',
      'fromState',
      'toState',
      'details',
      'prevHash',
      'hash',
    ];
    const moveInto: Statement[0] = `UPDATE audit_events AS e SET ${columns.map((c) => `"${c}" = m."${c}"`).join(', ')}
       FROM moved AS m WHERE e.id = $1 AND m.id = $2`;
    await tamper(
      ['CREATE TEMP TABLE moved AS SELECT * FROM audit_events WHERE id IN ($1, $2)', [first, second]],
      // Hashes are unique: the first row's is parked while the second row takes it.
      ['UPDATE audit_events SET hash = id::text WHERE id = $1', [first]],
      [moveInto, [second, first]],
      [moveInto, [first, second]],
    );
    const swapped = await db.prisma.auditEvent.findMany({
      where: { id: { in: [first, second] as bigint[] } },
    });
    expect(swapped.map((row) => (row.details as { n: number }).n).sort()).toEqual([3, 8]);
    expect(swapped.find((row) => row.id === first)?.details).toMatchObject({ n: 8 });

    expect(await verifyAuditChain(db.prisma, { pageSize: 5 })).toEqual({
      ok: false,
      count: 3,
      firstBrokenId: first,
      problem: 'missing-or-reordered',
    });
  });

  it('catches an edited event whose hash was recomputed, at the event after it', async () => {
    const ids = await appendChain(5);
    const rewritten = ids[1] as bigint;
    const row = await db.prisma.auditEvent.findUniqueOrThrow({ where: { id: rewritten } });
    const hash = hashAuditEvent(row.prevHash, { ...row, actor: 'UEVE0001' });
    await tamper([`UPDATE audit_events SET actor = 'UEVE0001', hash = $2 WHERE id = $1`, [rewritten, hash]]);

    expect(await verifyAuditChain(db.prisma)).toEqual({
      ok: false,
      count: 2,
      firstBrokenId: ids[2],
      problem: 'missing-or-reordered',
    });
  });

  it('verifies while other clients keep appending', async () => {
    await appendChain(40);
    const appends = Array.from({ length: 30 }, (_, i) =>
      db.prisma.$transaction((tx) => appendAuditEvent(tx, event(100 + i), new Date())),
    );
    const [result] = await Promise.all([verifyAuditChain(db.prisma, { pageSize: 3 }), ...appends]);
    expect(result.ok).toBe(true);
    expect(result.count).toBeGreaterThanOrEqual(40);
    expect(await verifyAuditChain(db.prisma)).toMatchObject({ ok: true, count: 70 });
  });
});
