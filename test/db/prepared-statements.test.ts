import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeAtOnce, lockRequest } from '../../src/app/transition.js';
import type { PrismaClient } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/**
 * The bot's client prepares its statements (src/db/statement-names.ts). A prepared statement that
 * says `*` breaks once its table gains a column ("cached plan must not change result type"), as
 * it does when the next release's migration runs while this one still serves: the statements
 * the hot path runs on `access_requests` name their columns, so they go on working.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

const clock = { now: () => new Date('2026-12-08T10:00:00Z') };

async function pendingRequest(id: string) {
  return db.prisma.accessRequest.create({
    data: { id, requesterId: 'U1', resource: 'db', reason: 'prepared', durationSec: 3600, identity: 'alice' },
  });
}

describe('prepared statements', () => {
  it('are prepared on the connection: the next run only binds', async () => {
    const request = await pendingRequest('req_prepared_1');
    const prepared = await db.prisma.$transaction(async (tx) => {
      await lockRequest(tx, request.id);
      return tx.$queryRaw<{ statement: string }[]>`SELECT statement FROM pg_prepared_statements`;
    });
    expect(prepared.map((row) => row.statement)).toEqual(
      expect.arrayContaining([expect.stringMatching(/FROM "access_requests" WHERE "id" = \$1 FOR UPDATE/)]),
    );
  });

  it('go on working after a migration adds a column to access_requests', async () => {
    const request = await pendingRequest('req_prepared_2');
    // One transaction is one connection: the statements run after the ALTER are the ones
    // prepared before it.
    const { locked, moved } = await db.prisma.$transaction(async (tx) => {
      const deps = { clock, db: tx as unknown as PrismaClient };
      const seen = await lockRequest(tx, request.id);
      const first = await changeAtOnce(deps, seen, {
        to: 'pending',
        audit: { actor: 'U1', action: 'test.touched' },
      });
      await tx.$executeRawUnsafe('ALTER TABLE "access_requests" ADD COLUMN "addedLater" text');
      const locked = await lockRequest(tx, request.id);
      const moved = await changeAtOnce(deps, first.request, {
        to: 'pending',
        audit: { actor: 'U1', action: 'test.touched' },
      });
      return { locked, moved };
    });
    expect(locked.version).toBe(1);
    expect(moved.request.version).toBe(2);
    expect(moved.request).not.toHaveProperty('addedLater');
  });
});
