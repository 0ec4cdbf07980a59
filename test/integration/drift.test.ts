import { escapeIdentifier } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftReport } from '../../src/app/drift.js';
import { driftSchedulerId } from '../../src/jobs/drift.js';
import { jobIds } from '../../src/jobs/queues.js';
import { reconcileQueues } from '../../src/jobs/reconcile.js';
import { runCheckRound } from '../support/bot-queues.js';
import { withAdminClient } from '../support/db.js';
import { grantedRequest } from '../support/granted-request.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

const HOUR = 3_600_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    // The scheduler runs one round at start-up; the tests run the others when they need them.
    driftCheckIntervalMs: HOUR,
    extraProviders: `
  slackgroups:
    type: slack-usergroup`,
    extraResources: `
  oncall-group:
    description: Membership of the on-call Slack group
    provider: slackgroups
    grant: { usergroup: S0ONCALL }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }`,
  });
  h.fake.setGroup('S0ONCALL', [users.carol]);
});
afterAll(async () => {
  await h?.stop();
});

const approvedGrant = (requester: string, resource = 'prod-db-write') =>
  grantedRequest(h, { requester, resource, duration: '1h' });

/** Changes the target the way someone with a superuser login would, bypassing the bot. */
async function behindTheBotsBack(statement: 'GRANT' | 'REVOKE', login: string): Promise<void> {
  const direction = statement === 'GRANT' ? 'TO' : 'FROM';
  await withAdminClient((client) =>
    client.query(`${statement} ${escapeIdentifier(h.role)} ${direction} ${escapeIdentifier(login)}`),
  );
}

let rounds = 0;
/** One round of drift detection, through the drift queue and the bot's worker. */
const driftRound = () => runCheckRound<DriftReport>(h.bot.queues.drift, `test-drift-${++rounds}`);

function securityPost(action: string, id: string) {
  return h.fake.waitFor(
    'chat.postMessage',
    (c) => c.args.channel === securityChannel && String(c.args.text).startsWith(`${action} ${id}`),
  );
}

async function row(id: string) {
  return h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
}

describe('drift detection', () => {
  it('grants again an active grant whose role was revoked behind the bot, and reports it', async () => {
    const id = await approvedGrant(users.alice);
    const before = await row(id);
    await behindTheBotsBack('REVOKE', h.login('alice'));
    expect(await h.isMember(h.login('alice'))).toBe(false);

    const report = await driftRound();
    expect(report.regranted).toEqual([id]);
    expect(await h.isMember(h.login('alice'))).toBe(true);
    const post = await securityPost('drift.regranted', id);
    expect(JSON.stringify(post.args.blocks)).toContain('access missing on the target');
    const after = await row(id);
    expect(after.state).toBe('active');
    expect(after.version).toBe(before.version + 1);
    expect(after.verifiedAt).not.toBeNull();
    const audit = await h.db.prisma.auditEvent.findFirst({
      where: { requestId: id, action: 'drift.regranted' },
    });
    expect(audit?.actor).toBe('drift');

    // Nothing left to fix: the next round only verifies.
    const next = await driftRound();
    expect(next.regranted).toEqual([]);
    expect(next.verified).toBeGreaterThanOrEqual(1);
    await h.slash(users.alice, `release ${id}`);
  });

  it('revokes again a released grant whose role was granted back behind the bot, and reports it', async () => {
    const id = await approvedGrant(users.eve);
    await h.slash(users.eve, `release ${id}`);
    expect(await h.isMember(h.login('eve'))).toBe(false);
    await behindTheBotsBack('GRANT', h.login('eve'));

    const report = await driftRound();
    expect(report.revoked).toEqual([id]);
    expect(await h.isMember(h.login('eve'))).toBe(false);
    const post = await securityPost('drift.revoked', id);
    expect(JSON.stringify(post.args.blocks)).toContain('access still on the target');
    const after = await row(id);
    expect(after.state).toBe('released');
    expect(after.verifiedAt).not.toBeNull();

    expect((await driftRound()).revoked).toEqual([]);
  });

  it('leaves alone access that a newer grant of the same user holds', async () => {
    const first = await approvedGrant(users.dave);
    await h.slash(users.dave, `release ${first}`);
    const second = await approvedGrant(users.dave);

    const report = await driftRound();
    expect(report.revoked).not.toContain(first);
    expect(report.regranted).not.toContain(second);
    expect(await h.isMember(h.login('dave'))).toBe(true);
    await h.slash(users.dave, `release ${second}`);
  });

  it('repairs a Slack user group changed behind the bot, keeping its other members', async () => {
    const id = await approvedGrant(users.eve, 'oncall-group');
    expect(h.fake.groupMembers('S0ONCALL')).toEqual([users.carol, users.eve]);
    h.fake.setGroup('S0ONCALL', [users.carol]);
    expect((await driftRound()).regranted).toEqual([id]);
    expect(h.fake.groupMembers('S0ONCALL')).toEqual([users.carol, users.eve]);

    await h.slash(users.eve, `release ${id}`);
    h.fake.setGroup('S0ONCALL', [users.carol, users.eve, users.dave]);
    expect((await driftRound()).revoked).toEqual([id]);
    expect(h.fake.groupMembers('S0ONCALL')).toEqual([users.carol, users.dave]);
  });

  it('does not grant again while a revoke of the grant is waiting for its retry', async () => {
    const id = await approvedGrant(users.alice);
    // A revoke whose first attempt failed: it waits in the revoke queue for its next attempt.
    const retry = await h.bot.queues.revoke.add(
      'revoke',
      { requestId: id, event: 'revoke', actorId: 'system', reason: 'leaving the rotation' },
      { jobId: jobIds.revoke(id, 'revoke'), delay: HOUR },
    );
    await behindTheBotsBack('REVOKE', h.login('alice'));

    const report = await driftRound();
    expect(report.skipped).toContain(id);
    expect(report.regranted).toEqual([]);
    expect(await h.isMember(h.login('alice'))).toBe(false);
    await retry.promote();
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('revoked');
  });

  it('is scheduled by the sweep, and the sweep puts the scheduler back when Redis lost it', async () => {
    const queue = h.bot.queues.drift;
    expect((await queue.getJobScheduler(driftSchedulerId))?.every).toBe(HOUR);
    await queue.removeJobScheduler(driftSchedulerId);
    expect(await queue.getJobScheduler(driftSchedulerId)).toBeUndefined();
    await reconcileQueues(h.bot.deps, h.bot.queues);
    expect((await queue.getJobScheduler(driftSchedulerId))?.every).toBe(HOUR);
  });
});
