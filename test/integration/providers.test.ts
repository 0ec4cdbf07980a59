import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DriftReport } from '../../src/app/drift.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { runCheckRound } from '../support/bot-queues.js';
import { type FakeGithub, startFakeGithub } from '../support/fake-github.js';
import { type FakeWebhookReceiver, startFakeWebhookReceiver } from '../support/fake-webhook.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

/** The outside-system providers inside the whole bot: grant and revoke jobs, retries and alerts. */

const secret = 'grant-hook-secret-0123456789';
let receiver: FakeWebhookReceiver;
let github: FakeGithub;
let h: Harness;

beforeAll(async () => {
  receiver = await startFakeWebhookReceiver(secret);
  github = await startFakeGithub({ org: 'acme' });
  github.addTeam('oncall', { 'carol-ops': 'maintainer' });
  github.addUser('alice-gh');
  github.addUser('dave-gh');
  h = await startHarness({
    driftCheckIntervalMs: 3_600_000,
    extraProviders: `
  ticketing:
    type: webhook
    url: ${receiver.url}
    secret: ${secret}
  gh:
    type: github-team
    token: ${github.token}
    org: acme
    baseUrl: ${github.baseUrl}
    identities: { ${users.alice}: alice-gh, ${users.dave}: dave-gh }`,
    extraResources: `
  ticketing-admin:
    description: Admin in the ticketing system
    provider: ticketing
    grant: { group: admins }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
  gh-oncall-invite:
    description: On-call team on GitHub, inviting into the org when needed
    provider: gh
    grant: { team: oncall, inviteToOrg: true }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
  gh-oncall:
    description: On-call team on GitHub
    provider: gh
    grant: { team: oncall }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }`,
  });
});
afterAll(async () => {
  await h?.stop();
  await receiver?.close();
  await github?.close();
});
beforeEach(() => {
  receiver.calls.length = 0;
});

async function approve(id: string): Promise<void> {
  await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
}

/** The statuses the receiver answered `action` calls about one request with (other tests' late calls left out). */
function statusesFor(action: string, requestId: string): number[] {
  return receiver
    .callsFor(action)
    .filter((call) => call.body.requestId === requestId)
    .map((call) => call.status);
}

async function row(id: string) {
  return h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
}

describe('webhook provider in the bot', () => {
  it('grants and revokes through signed calls to the outside system', async () => {
    const id = await h.request(users.alice, 'ticketing-admin', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(receiver.held.has(id)).toBe(true);
    const grant = receiver.callsFor('grant')[0];
    expect(grant?.signatureOk).toBe(true);
    expect(grant?.body).toMatchObject({
      requestId: id,
      user: h.login('alice'),
      slackUser: users.alice,
      resource: 'ticketing-admin',
      grant: { group: 'admins' },
    });

    await h.slash(users.sec, `revoke ${id} done here`);
    expect(receiver.held.has(id)).toBe(false);
    expect((await row(id)).state).toBe('revoked');
  });

  it('retries a grant the receiver fails with 5xx, and grants once it answers', async () => {
    const id = await h.request(users.alice, 'ticketing-admin', '1h');
    receiver.respondNext({ status: 503, body: 'maintenance' });
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`, 15_000);
    expect(statusesFor('grant', id)).toEqual([503, 200]);
    expect(receiver.held.has(id)).toBe(true);
    await h.slash(users.sec, `revoke ${id} done here`);
  });

  it('ends in grant_failed when the receiver refuses with 4xx, saying why', async () => {
    const id = await h.request(users.alice, 'ticketing-admin', '1h');
    receiver.respondNext({ status: 422, body: 'unknown user' });
    await approve(id);
    const dm = await h.dmTo(users.alice, 'could not be granted');
    expect(JSON.stringify(dm.args.blocks)).toContain('HTTP 422: unknown user');
    expect((await row(id)).state).toBe('grant_failed');
  });

  it('keeps retrying a revoke the receiver fails, alerts the security channel, and ends it once it answers', async () => {
    const id = await h.request(users.alice, 'ticketing-admin', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`);
    receiver.respondNext(...Array.from({ length: 4 }, () => ({ status: 500, body: 'down' })));

    const { reply } = await h.slash(users.sec, `revoke ${id} incident over`);
    expect(String(reply.body.text)).toContain(id);
    await h.fake.waitFor(
      'chat.postMessage',
      (c) => c.args.channel === securityChannel && String(c.args.text).startsWith(`revoke.retrying ${id}`),
      { timeoutMs: 15_000 },
    );
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('revoked');
    expect(receiver.held.has(id)).toBe(false);
    expect(statusesFor('revoke', id)).toEqual([500, 500, 500, 500, 200]);
  });

  it('retries a /jit release the receiver fails, as it said it would, until the access is gone', async () => {
    const id = await h.request(users.alice, 'ticketing-admin', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`);
    receiver.respondNext({ status: 503, body: 'maintenance' }, { status: 503, body: 'maintenance' });

    const { reply } = await h.slash(users.alice, `release ${id}`);

    expect(String(reply.body.text)).toContain('retried automatically');
    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('released');
    expect(receiver.held.has(id)).toBe(false);
    expect(statusesFor('revoke', id)).toEqual([503, 503, 200]);
  });
});

describe('github-team provider in the bot', () => {
  it('adds the mapped GitHub login to the team for the grant and removes it at the end', async () => {
    const id = await h.request(users.alice, 'gh-oncall', '1h');
    await approve(id);
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(github.membership('oncall', 'alice-gh')).toEqual({ role: 'member', state: 'active' });
    await h.slash(users.alice, `release ${id}`);
    expect(github.membership('oncall', 'alice-gh')).toBeUndefined();
    expect(github.membership('oncall', 'carol-ops')).toBeDefined();
  });

  it('ends in grant_failed for a user whose email local part is no GitHub login and who is not mapped', async () => {
    const id = await h.request(users.eve, 'gh-oncall', '1h');
    await approve(id);
    const dm = await h.dmTo(users.eve, 'could not be granted');
    expect(JSON.stringify(dm.args.blocks)).toContain("map the user in the provider's identities");
    expect(github.callsTo('PUT', h.login('eve'))).toEqual([]);
  });

  it('records the org invitation a drift re-grant creates, so the end of the grant takes it back', async () => {
    const id = await h.request(users.dave, 'gh-oncall-invite', '1h');
    await approve(id);
    await h.dmTo(users.dave, `${id}\`: you have`);
    // dave-gh was an org member before the grant: nothing of the org is the grant's to take back.
    const granted = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(granted.grantSnapshot).toMatchObject({ details: {} });
    expect(JSON.stringify(granted.grantSnapshot)).not.toContain('orgMembership');

    // Someone removes dave-gh from the org behind the bot's back; the team membership goes with it.
    github.setOrgMembership('dave-gh', undefined);
    expect(github.membership('oncall', 'dave-gh')).toBeUndefined();
    const report = await runCheckRound<DriftReport>(h.bot.queues.drift, 'test-drift-gh-invite');
    expect(report.regranted).toEqual([id]);
    expect(github.orgMembership('dave-gh')).toEqual({ role: 'member', state: 'pending' });
    const regranted = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(regranted.grantSnapshot).toMatchObject({ details: { orgMembership: 'created' } });

    await h.slash(users.dave, `release ${id}`);
    expect(github.membership('oncall', 'dave-gh')).toBeUndefined();
    expect(github.orgMembership('dave-gh')).toBeUndefined();
  });
});
