import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PrismaPg } from '@prisma/adapter-pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditInput,
  appendAuditEvent,
  appendAuditEvents,
  genesisHash,
  hashAuditEvent,
} from '../../src/audit/chain.js';
import { TRANSACTION_OPTIONS } from '../../src/db/client.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * The chain on a real database: single and bulk appends, from two clients (as two processes
 * would), interleaved, still form one unbroken chain in id order.
 */

const execFileAsync = promisify(execFile);

let db: TestDatabase;
let other: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  other = new PrismaClient({
    adapter: new PrismaPg({ connectionString: db.url, max: 5 }),
    transactionOptions: TRANSACTION_OPTIONS,
  });
});
afterAll(async () => {
  await other?.$disconnect();
  await db?.drop();
});

const event = (n: number, who: string): AuditInput => ({
  requestId: `JIT-${String(n).padStart(6, '0')}`,
  actor: who,
  action: 'request.revoked',
  fromState: 'active',
  toState: 'revoked',
  details: { n },
});

async function brokenLinks(): Promise<bigint[]> {
  const rows = await db.prisma.auditEvent.findMany({ orderBy: { id: 'asc' } });
  const broken: bigint[] = [];
  let prev = genesisHash;
  for (const row of rows) {
    if (row.prevHash !== prev || hashAuditEvent(row.prevHash, row) !== row.hash) broken.push(row.id);
    prev = row.hash;
  }
  return broken;
}

describe('appendAuditEvents', () => {
  it('returns the ids in the order given, chained in that order', async () => {
    const ids = await db.prisma.$transaction((tx) =>
      appendAuditEvents(tx, [event(1, 'a'), event(2, 'a'), event(3, 'a')], new Date()),
    );
    const rows = await db.prisma.auditEvent.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
    expect(rows.map((row) => row.id)).toEqual(ids);
    expect(rows.map((row) => (row.details as { n: number }).n)).toEqual([1, 2, 3]);
    expect(rows[1]?.prevHash).toBe(rows[0]?.hash);
    expect(await brokenLinks()).toEqual([]);
  });

  it('hashes a single event in the database exactly as the program does, whatever the text', async () => {
    const odd: AuditInput = {
      requestId: null,
      actor: 'U0ÉLÈNE',
      action: 'request.created',
      details: {
        reason: 'café ✓ 🚀 "quoted" \\ back\nslash',
        nested: { z: 1, a: [true, null, 1.5e-7] },
        '': 'empty key',
      },
    };
    const at = new Date('2026-12-07T10:00:00.123Z');
    const id = await db.prisma.$transaction((tx) => appendAuditEvent(tx, odd, at));
    const row = await db.prisma.auditEvent.findUniqueOrThrow({ where: { id } });
    expect(row.at.toISOString()).toBe(at.toISOString());
    expect(row.hash).toBe(hashAuditEvent(row.prevHash, row));
    expect(await brokenLinks()).toEqual([]);
  });

  it('appends nothing for an empty list, without taking the lock', async () => {
    const before = await db.prisma.auditEvent.count();
    expect(await db.prisma.$transaction((tx) => appendAuditEvents(tx, [], new Date()))).toEqual([]);
    expect(await db.prisma.auditEvent.count()).toBe(before);
  });

  it('keeps one chain when two clients append singly and in bulk at the same time', async () => {
    const before = await db.prisma.auditEvent.count();
    const at = new Date();
    const work = (client: PrismaClient, who: string) =>
      Array.from({ length: 20 }, (_, i) =>
        i % 4 === 0
          ? client.$transaction((tx) =>
              appendAuditEvents(
                tx,
                Array.from({ length: 25 }, (_, j) => event(i * 100 + j, who)),
                at,
              ),
            )
          : client.$transaction((tx) => appendAuditEvent(tx, event(i, who), at)),
      );
    await Promise.all([...work(db.prisma, 'first'), ...work(other, 'second')]);

    expect(await db.prisma.auditEvent.count()).toBe(before + 2 * (15 + 5 * 25));
    expect(await brokenLinks()).toEqual([]);
  });

  it('keeps one chain when two processes append at the same time', async () => {
    const before = await db.prisma.auditEvent.count();
    const script = fileURLToPath(new URL('../support/append-audit-events.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const run = (label: string) => execFileAsync(tsx, [script, db.url, label, '40']);
    await Promise.all([run('process-a'), run('process-b')]);

    expect(await db.prisma.auditEvent.count()).toBe(before + 2 * (40 + 8));
    const actors = await db.prisma.auditEvent.groupBy({
      by: ['actor'],
      _count: true,
      where: { action: 'test.appended' },
    });
    expect(Object.fromEntries(actors.map((a) => [a.actor, a._count]))).toEqual({
      'process-a': 48,
      'process-b': 48,
    });
    expect(await brokenLinks()).toEqual([]);
  }, 60_000);
});
