import { Client, escapeIdentifier } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIds } from '../../src/jobs/queues.js';
import { reconcileQueues } from '../../src/jobs/reconcile.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { loseQueueData } from '../support/bot-queues.js';
import { withAdminClient } from '../support/db.js';
import { grantedRequest } from '../support/granted-request.js';
import { type Harness, startHarness, users } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    extraResources: `
  frank-db:
    description: A resource for a requester without a database login
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 10m, max: 1h }
    approvals:
      - from: { users: [UBOB0001] }`,
  });
});
afterAll(async () => {
  await h?.stop();
});

const approvedGrant = (duration: string) =>
  grantedRequest(h, { requester: users.alice, resource: 'prod-db-write', duration });

describe('revocation', () => {
  it('ends the open database sessions of the user at expiry, not only the role membership', async () => {
    const id = await approvedGrant('2s');
    const session = new Client({
      connectionString: `postgresql://${h.login('alice')}:pw@127.0.0.1:5432/jit`,
    });
    session.on('error', () => undefined); // the termination arrives as an error, then 'end'
    const ended = new Promise<void>((resolve) => session.on('end', resolve));
    await session.connect();
    await session.query(`SET ROLE ${h.role}`); // works while the grant is active
    await h.dmTo(users.alice, `${id}\`: your access`, 15_000);
    await ended;
    await expect(session.query('SELECT 1')).rejects.toThrow();
    expect((await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state).toBe('expired');
  });

  it('releases early on /jit release, and a second release says there is nothing left', async () => {
    const id = await approvedGrant('1h');
    expect(await h.isMember(h.login('alice'))).toBe(true);
    const { reply } = await h.slash(users.alice, `release ${id}`);
    expect(String(reply.body.text)).toContain('released');
    expect(await h.isMember(h.login('alice'))).toBe(false);
    const again = await h.slash(users.alice, `release ${id}`);
    expect(String(again.reply.body.text)).toMatch(/already released/);
    const bob = await h.slash(users.bob, `release ${id}`);
    expect(String(bob.reply.body.text)).toMatch(/Only the requester/);
  });

  it('refuses at request time a requester whose database login does not exist', async () => {
    const { reply } = await h.slash(users.frank, 'request frank-db 10m INC-70 checking');
    expect(String(reply.body.text)).toContain(`database login "${h.login('frank')}" does not exist`);
    expect(await h.db.prisma.accessRequest.count({ where: { requesterId: users.frank } })).toBe(0);
  });

  it('ends in grant_failed when the provider refuses for good, and tells requester and security', async () => {
    // The login exists when frank asks and is gone by the time the grant runs.
    const login = escapeIdentifier(h.login('frank'));
    await withAdminClient((client) => client.query(`CREATE ROLE ${login} LOGIN`));
    const id = await h.request(users.frank, 'frank-db', '10m');
    await withAdminClient((client) => client.query(`DROP ROLE ${login}`));
    await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
    const dm = await h.dmTo(users.frank, 'could not be granted');
    expect(JSON.stringify(dm.args.blocks)).toContain('does not exist');
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request.state).toBe('grant_failed');
    const card = await h.securityCard(id, 'failed to grant');
    expect(JSON.stringify(card.args.blocks)).toContain('does not exist');
  });

  it('revokes on time after Redis lost the expiry job, once the sweep has run', async () => {
    const id = await approvedGrant('1h');
    expect(await loseQueueData(h.bot)).toBeGreaterThan(0);
    // The grant's time has come while the job was gone.
    await h.db.prisma.accessRequest.update({
      where: { id },
      data: { expiresAt: new Date(Date.now() - 1_000) },
    });
    const report = await reconcileQueues(h.bot.deps, h.bot.queues);
    expect(report.expiries).toBeGreaterThanOrEqual(1);
    await h.dmTo(users.alice, `${id}\`: your access`);
    expect((await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state).toBe('expired');
    expect(await h.isMember(h.login('alice'))).toBe(false);
  });

  it('re-creates a missing future expiry job without firing it early', async () => {
    const id = await approvedGrant('1h');
    const { expiresAt } = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    await loseQueueData(h.bot);
    await reconcileQueues(h.bot.deps, h.bot.queues);
    const job = await h.bot.queues.revoke.getJob(jobIds.expire(id, expiresAt as Date));
    expect(await job?.getState()).toBe('delayed');
    expect(await h.isMember(h.login('alice'))).toBe(true);
    await h.slash(users.alice, `release ${id}`);
  });

  it('re-creates the expiry jobs of more active grants than one lookup chunk, and none for ended ones', async () => {
    const due = new Date(Date.now() + 3_600_000);
    const ids = Array.from(
      { length: 250 },
      (_, i) => `JIT-SW${i.toString(36).toUpperCase().padStart(4, '0')}`,
    );
    await h.db.prisma.accessRequest.createMany({
      data: ids.map((id, i) => ({
        id,
        requesterId: users.alice,
        resource: 'prod-db-write',
        reason: 'sweep test',
        durationSec: 3_600,
        state: i === 0 ? ('expired' as const) : ('active' as const),
        version: 2,
        identity: h.login('alice'),
        expiresAt: due,
      })),
    });
    try {
      let pauses = 0;
      const report = await reconcileQueues(h.bot.deps, h.bot.queues, {
        beforeChunk: async () => {
          pauses++;
        },
      });
      expect(report.expiries).toBe(249);
      // The sweep lets revocations go first between chunks of lookups (50 at a time).
      expect(pauses).toBeGreaterThanOrEqual(5);
      const states = await Promise.all(
        ids.map(
          async (id) => (await h.bot.queues.revoke.getJob(jobIds.expire(id, due)))?.getState() ?? 'none',
        ),
      );
      expect(states[0]).toBe('none');
      expect(new Set(states.slice(1))).toEqual(new Set(['delayed']));
      // A second sweep finds every job in place.
      expect((await reconcileQueues(h.bot.deps, h.bot.queues)).expiries).toBe(0);
    } finally {
      await Promise.all(ids.map((id) => h.bot.queues.revoke.remove(jobIds.expire(id, due))));
      await h.db.prisma.accessRequest.deleteMany({ where: { id: { in: ids } } });
    }
  });

  it('accepts a request while Redis is away, and the sweep asks the approvers afterwards', async () => {
    h.bot.redis.disconnect();
    const id = await h.request(users.alice, 'prod-db-write', '30m'); // answered, not hung
    expect((await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state).toBe('pending');
    expect(h.fake.callsTo('chat.postMessage').some((c) => String(c.args.text).includes(id))).toBe(false);

    await h.bot.redis.connect();
    // The sweep leaves requests younger than a few seconds to the normal path; look from later.
    const later = { ...h.bot.deps, clock: { now: () => new Date(Date.now() + 60_000) } };
    const report = await reconcileQueues(later, h.bot.queues);
    expect(report.approverAsks).toBe(1);
    await h.approverMessage(id, users.bob);
    await h.slash(users.alice, `release ${id}`);
  });

  it('still expires a grant after the bot restarts', async () => {
    const id = await approvedGrant('3s');
    await h.restartBot();
    await h.dmTo(users.alice, `${id}\`: your access to`, 15_000);
    expect((await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state).toBe('expired');
    expect(await h.isMember(h.login('alice'))).toBe(false);
  });
});
