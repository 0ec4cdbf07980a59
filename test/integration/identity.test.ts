import { escapeIdentifier } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionIds } from '../../src/slack/views/request-card.js';
import { withAdminClient } from '../support/db.js';
import { type Harness, startHarness, users } from '../support/harness.js';

/**
 * Identity at the edges, through the real bot: who may ask, who may approve, and which login the
 * access goes to. Each refusal leaves no request behind and is on the audit trail.
 */

const mallory = 'UMALLORY1'; // email at another domain, local part = alice's login
const external = 'UEXTERN01'; // Slack Connect: is_stranger
const otherTeam = 'UOTHERT01'; // Slack Connect: another team's id
const twin = 'UTWIN0001'; // alice's second Slack account, listed as an approver

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    extraResources: `
  prod-db-blocked-bob:
    description: Bob may not touch this one
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}, ${users.carol}] }
    optOut: { blockedUsers: [${users.bob}] }`,
  });
  h.fake.addUser({ id: mallory, name: 'mallory', email: `${h.login('alice')}@evil.example` });
  h.fake.addUser({ id: external, name: 'ext', email: `${h.login('eve')}@example.com`, isStranger: true });
  h.fake.addUser({ id: otherTeam, name: 'other', email: `${h.login('eve')}@example.com`, teamId: 'T0OTHER' });
  h.fake.addUser({ id: twin, name: 'alice2', email: `${h.login('alice').toUpperCase()}@Example.com` });
  h.fake.setGroup('S0DBA', [users.carol, twin]);
});
afterAll(async () => {
  await h?.stop();
});

async function refusalsOf(actor: string) {
  return h.db.prisma.auditEvent.findMany({ where: { actor, action: 'identity.refused' } });
}

function clickReply(fragment: string) {
  return h.fake.waitForResponse((r) => r.id.startsWith('click-') && String(r.body.text).includes(fragment));
}

describe('who may request', () => {
  it('refuses an email at a domain the policy does not allow, instead of granting its local part', async () => {
    const { reply } = await h.slash(mallory, 'request prod-db-write 30m INC-1');
    expect(String(reply.body.text)).toContain('evil.example');
    expect(await h.db.prisma.accessRequest.count({ where: { requesterId: mallory } })).toBe(0);
    const [refusal] = await refusalsOf(mallory);
    expect(refusal?.details).toMatchObject({
      attempted: 'request',
      code: 'domain',
      resource: 'prod-db-write',
    });
  });

  it.each([
    ['a Slack Connect external (is_stranger)', external],
    ['an account of another team', otherTeam],
  ])('refuses %s, audited', async (_label, userId) => {
    const { reply } = await h.slash(userId, 'request prod-db-write 30m INC-2');
    expect(String(reply.body.text)).toContain('another organization');
    expect(await h.db.prisma.accessRequest.count({ where: { requesterId: userId } })).toBe(0);
    expect((await refusalsOf(userId)).map((e) => (e.details as { code: string }).code)).toEqual(['external']);
  });

  it('refuses a deactivated account and a bot', async () => {
    h.fake.addUser({ id: 'UGONE0001', name: 'gone', email: 'gone@example.com', deleted: true });
    h.fake.addUser({ id: 'UROBOT001', name: 'robot', email: 'robot@example.com', isBot: true });
    expect(
      String((await h.slash('UGONE0001', 'request prod-db-write 30m INC-3 cleanup')).reply.body.text),
    ).toContain('deactivated');
    expect(
      String((await h.slash('UROBOT001', 'request prod-db-write 30m INC-3 cleanup')).reply.body.text),
    ).toContain('not bots');
    expect(
      await h.db.prisma.accessRequest.count({ where: { requesterId: { in: ['UGONE0001', 'UROBOT001'] } } }),
    ).toBe(0);
  });

  it('stores the identity and the grant as requested on the request', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    const row = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(row.identity).toBe(h.login('alice'));
    expect(row.grantSnapshot).toEqual({
      provider: 'proddb',
      type: 'postgres',
      grant: { role: h.role },
      details: {},
    });
  });
});

describe('logins the database provider will not grant to', () => {
  const root = 'UROOT0001';
  const rootLogin = () => `root_${h.login('alice')}`;
  beforeAll(async () => {
    await withAdminClient((client) =>
      client.query(`CREATE ROLE ${escapeIdentifier(rootLogin())} LOGIN SUPERUSER PASSWORD 'pw'`),
    );
    h.fake.addUser({ id: root, name: 'root', email: `${rootLogin()}@example.com` });
  });
  afterAll(async () => {
    await withAdminClient((client) => client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(rootLogin())}`));
  });

  it('refuses at request time a requester whose login is a superuser, audited, and writes no request', async () => {
    const { reply } = await h.slash(root, 'request prod-db-write 30m INC-9');
    expect(String(reply.body.text)).toContain(`proddb will not grant to ${rootLogin()}`);
    expect(String(reply.body.text)).toContain('is a superuser');
    expect(await h.db.prisma.accessRequest.count({ where: { requesterId: root } })).toBe(0);
    const [refusal] = await refusalsOf(root);
    expect(refusal?.details).toMatchObject({
      attempted: 'request',
      code: 'target',
      resource: 'prod-db-write',
    });
  });

  it('fails the grant of a login made a superuser after the request, granting nothing', async () => {
    const id = await h.request(users.eve, 'prod-db-write', '30m');
    const eve = escapeIdentifier(h.login('eve'));
    await withAdminClient((client) => client.query(`ALTER ROLE ${eve} SUPERUSER`));
    try {
      await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
      await h.dmTo(users.eve, 'could not be granted');
      const row = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
      expect(row.state).toBe('grant_failed');
      expect(await h.isMember(h.login('eve'))).toBe(false);
    } finally {
      await withAdminClient((client) => client.query(`ALTER ROLE ${eve} NOSUPERUSER`));
    }
  });
});

describe('who may approve', () => {
  it("refuses the requester's second Slack account, whose own login is the one the access goes to", async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    const message = await h.approverMessage(id, users.bob);
    await h.click(twin, actionIds.approve, id, message);
    await clickReply('your own identity');
    const row = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(row.state).toBe('pending');
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);
    const refused = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id, action: 'approval.refused' },
    });
    expect(refused.map((e) => e.actor)).toEqual([twin]);
  });

  it('refuses a frozen approver and a blocked one, audited, and lets the others approve', async () => {
    const id = await h.request(users.alice, 'prod-db-blocked-bob', '30m');
    const message = await h.approverMessage(id, users.carol);
    await h.click(users.bob, actionIds.approve, id, message);
    await clickReply('blocked from this resource');

    const other = await h.request(users.alice, 'prod-db-write', '30m');
    await h.slash(users.sec, `freeze <@${users.bob}> suspicious logins`);
    await h.click(users.bob, actionIds.approve, other, await h.approverMessage(other, users.bob));
    await clickReply('You are frozen');
    expect(await h.db.prisma.approval.count({ where: { requestId: { in: [id, other] } } })).toBe(0);
    const refused = await h.db.prisma.auditEvent.findMany({
      where: { requestId: { in: [id, other] }, action: 'approval.refused', actor: users.bob },
    });
    expect(refused).toHaveLength(2);

    await h.click(users.carol, actionIds.approve, id, message);
    await h.dmTo(users.alice, id);
    await expect.poll(() => h.isMember(h.login('alice'))).toBe(true);
  });

  it('shows approvers the login the access goes to and when it would end', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '45m');
    const call = await h.fake.waitFor(
      'chat.postMessage',
      (c) => c.ok && c.args.channel === `D${users.bob}` && String(c.args.text).includes(id),
    );
    const blocks = typeof call.args.blocks === 'string' ? call.args.blocks : JSON.stringify(call.args.blocks);
    expect(blocks).toContain(`*Access goes to*\\n\`${h.login('alice')}\` on proddb`);
    expect(blocks).toContain('*Would end*');
  });
});
