import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IdleRecallReport, recallIdleGrants } from '../../src/app/idle-recall.js';
import { idleRecallSchedulerId, redisIdleWatch } from '../../src/jobs/idle-recall.js';
import { reconcileQueues } from '../../src/jobs/reconcile.js';
import { createPostgresProvider } from '../../src/providers/postgres.js';
import { runCheckRound } from '../support/bot-queues.js';
import { grantedRequest } from '../support/granted-request.js';
import { type Harness, startHarness, users } from '../support/harness.js';
import { closedPort } from '../support/ports.js';
import { ShiftedClock } from '../support/shifted-clock.js';

const HOUR = 3_600_000;

const clock = new ShiftedClock();

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    clock,
    // The scheduler runs one round at start-up; the tests run the others when they need them.
    idleCheckIntervalMs: HOUR,
    extraResources: `
  idle-db:
    description: Taken back after a minute without a session
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 8h, max: 8h }
    recallAfterIdle: 1m
    approvals:
      - from: { users: [${users.carol}] }`,
  });
});
afterAll(async () => {
  await h?.stop();
});

const grantIdleDb = (requester: string) =>
  grantedRequest(h, { requester, resource: 'idle-db', duration: '8h', approver: users.carol });

let rounds = 0;
/** One round of the idle check, through the recall queue and the bot's worker. */
const idleRound = () => runCheckRound<IdleRecallReport>(h.bot.queues.recall, `test-round-${++rounds}`);

async function sessionAs(login: string): Promise<Client> {
  const session = new Client({ connectionString: `postgresql://${login}:pw@127.0.0.1:5432/jit` });
  session.on('error', () => undefined);
  await session.connect();
  return session;
}

async function sessionsOf(login: string): Promise<number> {
  const provider = h.bot.deps.providers.get('proddb');
  const target = { requestId: '-', identity: login, grant: { role: h.role }, expiresAt: new Date() };
  return (await provider?.activeSessions?.(target)) ?? -1;
}

async function requestRow(id: string) {
  return h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
}

describe('idle recall', () => {
  it('recalls a grant with no session for recallAfterIdle, and keeps one in use', async () => {
    const alice = await grantIdleDb(users.alice);
    const bob = await grantIdleDb(users.bob);
    expect((await idleRound()).recalled).toEqual([]); // starts watching both
    const session = await sessionAs(h.login('bob'));
    try {
      clock.advance(61_000);
      const checkedAt = clock.now().getTime();
      const report = await idleRound();
      expect(report.recalled).toEqual([alice]);
      expect(report.inUse).toBe(1);

      const dm = await h.dmTo(users.alice, `${alice}\`: your access`);
      expect(String(dm.args.text)).toContain('no session on the target for 1m (recallAfterIdle)');
      const recalled = await requestRow(alice);
      expect(recalled.state).toBe('revoked');
      expect(recalled.endReason).toBe('no session on the target for 1m (recallAfterIdle)');
      expect(await h.isMember(h.login('alice'))).toBe(false);
      const audit = await h.db.prisma.auditEvent.findFirst({
        where: { requestId: alice, action: 'request.revoked' },
      });
      expect(audit?.actor).toBe('recall:idle');

      const kept = await requestRow(bob);
      expect(kept.state).toBe('active');
      expect(kept.lastActiveAt?.getTime()).toBeGreaterThanOrEqual(checkedAt);
      expect(await h.isMember(h.login('bob'))).toBe(true);
      expect((await session.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await session.end();
    }

    // Idle time counts from the last session seen, not from the grant.
    await expect.poll(() => sessionsOf(h.login('bob'))).toBe(0);
    clock.advance(30_000);
    expect((await idleRound()).recalled).not.toContain(bob);
    expect((await requestRow(bob)).state).toBe('active');
    clock.advance(31_000);
    expect((await idleRound()).recalled).toEqual([bob]);
    expect(await h.isMember(h.login('bob'))).toBe(false);
  });

  it('recalls nothing while the target cannot be reached, nor for the time nobody could look', async () => {
    const id = await grantIdleDb(users.alice);
    await idleRound(); // starts watching
    const unreachable = createPostgresProvider(
      { url: `postgresql://jit_granter:jit_granter@127.0.0.1:${await closedPort()}/jit` },
      { connectTimeoutMs: 500 },
    );
    const down = { ...h.bot.deps, providers: new Map([['proddb', unreachable]]) };
    const watch = redisIdleWatch(h.bot.redis, String(h.bot.queues.recall.opts.prefix), 3 * HOUR);
    try {
      for (const step of [HOUR, HOUR, 1.5 * HOUR]) {
        clock.advance(step);
        const report = await recallIdleGrants(down, watch);
        expect(report.skipped).toContain(id);
        expect(report.recalled).toEqual([]);
      }
    } finally {
      await unreachable.close();
    }
    expect((await requestRow(id)).state).toBe('active');
    expect(await h.isMember(h.login('alice'))).toBe(true);

    // Back after 3.5 hours unwatched: idle time starts again from now, so no recall yet.
    clock.advance(1_000);
    expect((await idleRound()).recalled).not.toContain(id);
    expect((await requestRow(id)).state).toBe('active');
    clock.advance(61_000);
    expect((await idleRound()).recalled).toEqual([id]);
  });

  it('has its scheduler re-created by the sweep after Redis lost it, without moving a kept one', async () => {
    const queue = h.bot.queues.recall;
    const scheduled = await queue.getJobScheduler(idleRecallSchedulerId);
    expect(scheduled?.every).toBe(HOUR);
    await reconcileQueues(h.bot.deps, h.bot.queues);
    expect((await queue.getJobScheduler(idleRecallSchedulerId))?.next).toBe(scheduled?.next);

    // Only this harness's scheduler: other test files share the Redis.
    expect(await queue.removeJobScheduler(idleRecallSchedulerId)).toBe(true);
    expect(await queue.getJobScheduler(idleRecallSchedulerId)).toBeUndefined();
    const lostAt = Date.now();
    await reconcileQueues(h.bot.deps, h.bot.queues);
    expect((await queue.getJobScheduler(idleRecallSchedulerId))?.every).toBe(HOUR);
    // A new scheduler runs its first round at once, on the bot's worker.
    await expect
      .poll(async () =>
        (await queue.getJobs(['completed'])).some(
          (job) => job.repeatJobKey === idleRecallSchedulerId && (job.finishedOn ?? 0) >= lostAt,
        ),
      )
      .toBe(true);
  });
});
