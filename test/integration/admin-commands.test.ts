import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantAccess } from '../../src/app/grant.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { withAdminClient } from '../support/db.js';
import { grantedRequest } from '../support/granted-request.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

/**
 * The security team's commands: `/jit revoke`, `/jit freeze`, `/jit unfreeze`, against real
 * PostgreSQL roles, with the refusals of everyone else audited.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    extraResources: `
  staging-db:
    description: Staging database
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [UBOB0001] }`,
  });
});
afterAll(async () => {
  await h?.stop();
});

const grant = (requester: string, resource = 'prod-db-write', duration = '1h') =>
  grantedRequest(h, { requester, resource, duration });

const stateOf = async (id: string) =>
  (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state;

const auditOf = (action: string) =>
  h.db.prisma.auditEvent.findMany({ where: { action }, orderBy: { id: 'asc' } });

/** Ends every open grant, so each test starts with none and its counts are its own. */
async function endAllGrants(): Promise<void> {
  await h.db.prisma.freeze.updateMany({
    where: { liftedAt: null },
    data: { liftedAt: new Date(), liftedBy: 'test' },
  });
  const { reply } = await h.slash(users.sec, 'freeze all cleaning up between tests');
  expect(String(reply.body.text)).toContain('Froze');
  await h.slash(users.sec, 'unfreeze all');
}

describe('/jit revoke', () => {
  it('revokes one grant by id on the target, with the reason told to the requester and audited', async () => {
    const id = await grant(users.alice);
    expect(await h.isMember(h.login('alice'))).toBe(true);

    const { reply } = await h.slash(users.sec, `revoke ${id} suspicious queries from this login`);

    expect(String(reply.body.text)).toContain(`Revoked 1: \`${id}\``);
    expect(await stateOf(id)).toBe('revoked');
    expect(await h.isMember(h.login('alice'))).toBe(false);
    const dm = await h.dmTo(users.alice, `${id}\`: your access`);
    expect(JSON.stringify(dm.args.blocks)).toContain('suspicious queries from this login');
    const [event] = (await auditOf('request.revoked')).filter((e) => e.requestId === id);
    expect(event).toMatchObject({
      actor: users.sec,
      fromState: 'active',
      details: { reason: 'suspicious queries from this login' },
    });
  });

  it('says so, and changes nothing, when the grant already expired', async () => {
    const id = await grant(users.alice, 'prod-db-write', '1s');
    await h.dmTo(users.alice, `${id}\`: your access to \`prod-db-write\` has expired`);
    const before = await h.db.prisma.auditEvent.count();

    const { reply } = await h.slash(users.sec, `revoke ${id} too late`);

    expect(String(reply.body.text)).toContain(`${id}: the request is already expired; nothing to take back.`);
    expect(await stateOf(id)).toBe('expired');
    expect(await h.db.prisma.auditEvent.count()).toBe(before);
  });

  it('denies a request still waiting for approval, so it can never be granted', async () => {
    const id = await h.request(users.eve, 'prod-db-write', '1h');
    const { reply } = await h.slash(users.sec, `revoke ${id} not during the incident`);
    expect(String(reply.body.text)).toContain(`Denied before it was granted: \`${id}\``);
    expect(await stateOf(id)).toBe('denied');
    const click = await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
    expect(click.status).toBe(200);
    expect(await stateOf(id)).toBe('denied');
    expect(await h.isMember(h.login('eve'))).toBe(false);
  });

  it('revokes every grant of a user, and leaves other users alone', async () => {
    await endAllGrants();
    const first = await grant(users.alice);
    const second = await grant(users.alice, 'staging-db');
    const eves = await grant(users.eve);

    const { reply } = await h.slash(users.sec, `revoke <@${users.alice}|alice> laptop stolen`);

    expect(String(reply.body.text)).toContain('Revoked 2:');
    expect([await stateOf(first), await stateOf(second), await stateOf(eves)]).toEqual([
      'revoked',
      'revoked',
      'active',
    ]);
    expect(await h.isMember(h.login('alice'))).toBe(false);
    expect(await h.isMember(h.login('eve'))).toBe(true);
  });

  it('revokes every grant of a resource', async () => {
    await endAllGrants();
    const prod = await grant(users.alice);
    const staging = await grant(users.eve, 'staging-db');

    const { reply } = await h.slash(users.sec, 'revoke prod-db-write rotating the role');

    expect(String(reply.body.text)).toContain(`Revoked 1: \`${prod}\``);
    expect(await stateOf(prod)).toBe('revoked');
    expect(await stateOf(staging)).toBe('active');
  });

  it('says when there is nothing to revoke, and names the resources when one is unknown', async () => {
    await endAllGrants();
    const none = await h.slash(users.sec, `revoke <@${users.dave}> checking`);
    expect(String(none.reply.body.text)).toMatch(/holds no active grant; nothing to revoke/);
    const unknown = await h.slash(users.sec, 'revoke prod-db-read checking');
    expect(String(unknown.reply.body.text)).toContain(
      'Unknown resource "prod-db-read". Available: prod-db-two-level, prod-db-write, staging-db.',
    );
  });

  it('refuses anyone outside the security team, audits the attempt, and changes nothing', async () => {
    const id = await grant(users.alice);
    const { reply } = await h.slash(users.bob, `revoke ${id} I am not an admin`);

    expect(String(reply.body.text)).toContain('Only the security team');
    expect(await stateOf(id)).toBe('active');
    expect(await h.isMember(h.login('alice'))).toBe(true);
    const refused = (await auditOf('admin.refused')).filter((e) => e.requestId === id);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ actor: users.bob, details: { attempted: `revoke ${id}` } });
    await h.fake.waitFor(
      'chat.postMessage',
      (c) =>
        c.args.channel === securityChannel &&
        String(c.args.text).startsWith(`admin.refused ${id} by ${users.bob}`),
    );
  });

  it('needs a reason', async () => {
    const id = await grant(users.alice);
    const { reply } = await h.slash(users.sec, `revoke ${id}`);
    expect(String(reply.body.text)).toContain('needs a target and a reason');
    expect(await stateOf(id)).toBe('active');
  });
});

describe('/jit freeze and /jit unfreeze', () => {
  it('freeze all revokes every grant and denies every pending request, and is audited', async () => {
    await endAllGrants();
    const alices = await grant(users.alice);
    const eves = await grant(users.eve, 'staging-db');
    const pending = await h.request(users.dave, 'prod-db-write', '30m');

    const { reply } = await h.slash(users.sec, 'freeze all credential leak in CI');

    const text = String(reply.body.text);
    expect(text).toContain('Froze *all access*');
    expect(text).toContain('Revoked 2:');
    expect(text).toContain(`Denied pending: \`${pending}\``);
    expect([await stateOf(alices), await stateOf(eves), await stateOf(pending)]).toEqual([
      'revoked',
      'revoked',
      'denied',
    ]);
    expect(await h.isMember(h.login('alice'))).toBe(false);
    expect(await h.isMember(h.login('eve'))).toBe(false);
    const denied = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id: pending } });
    expect(denied).toMatchObject({
      decisionRule: 'freeze',
      endReason: 'Frozen (all access) by the security team: credential leak in CI',
    });
    const [created] = (await auditOf('freeze.created')).slice(-1);
    expect(created).toMatchObject({
      actor: users.sec,
      details: { scope: 'all', target: '', reason: 'credential leak in CI' },
    });

    const lifted = await h.slash(users.sec, 'unfreeze all');
    expect(String(lifted.reply.body.text)).toContain('Lifted the freeze on *all access*');
    expect(await h.db.prisma.freeze.count({ where: { liftedAt: null } })).toBe(0);
  });

  it('a second freeze of the same scope is recognised, and unfreezing what is not frozen says so', async () => {
    await h.slash(users.sec, `freeze <@${users.eve}> phished`);
    const again = await h.slash(users.sec, `freeze <@${users.eve}> phished again`);
    expect(String(again.reply.body.text)).toContain('was already frozen');
    expect(
      await h.db.prisma.freeze.count({ where: { scope: 'user', target: users.eve, liftedAt: null } }),
    ).toBe(1);

    await h.slash(users.sec, `unfreeze <@${users.eve}>`);
    const twice = await h.slash(users.sec, `unfreeze <@${users.eve}>`);
    expect(String(twice.reply.body.text)).toContain(`user ${users.eve} is not frozen; nothing to lift.`);
  });

  it('two admins freezing the same scope at once make one freeze', async () => {
    await h.db.prisma.freeze.updateMany({
      where: { liftedAt: null },
      data: { liftedAt: new Date(), liftedBy: 'test' },
    });
    const before = (await auditOf('freeze.created')).length;
    const replies = await Promise.all([
      h.slash(users.sec, 'freeze staging-db migration gone wrong'),
      h.slash(users.sec, 'freeze staging-db migration gone wrong'),
    ]);
    const texts = replies.map((r) => String(r.reply.body.text));
    expect(texts.filter((t) => t.includes('Froze `staging-db`'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('was already frozen'))).toHaveLength(1);
    expect(await h.db.prisma.freeze.count({ where: { target: 'staging-db', liftedAt: null } })).toBe(1);
    expect((await auditOf('freeze.created')).length).toBe(before + 1);
    await h.slash(users.sec, 'unfreeze staging-db');
  });

  it('refuses non-admins (audited), unknown resources and single requests', async () => {
    const bob = await h.slash(users.bob, 'freeze all I would like to');
    expect(String(bob.reply.body.text)).toContain('Only the security team');
    expect(await h.db.prisma.freeze.count({ where: { liftedAt: null } })).toBe(0);
    expect((await auditOf('admin.refused')).at(-1)).toMatchObject({
      actor: users.bob,
      details: { attempted: 'freeze all access' },
    });

    const unknown = await h.slash(users.sec, 'freeze prod-db-read no such thing');
    expect(String(unknown.reply.body.text)).toContain('Unknown resource "prod-db-read"');
    const single = await h.slash(users.sec, 'freeze JIT-7K2MQ9 one request');
    expect(String(single.reply.body.text)).toContain('freezes a resource, a user or all');
    const unfreezeBob = await h.slash(users.bob, 'unfreeze all');
    expect(String(unfreezeBob.reply.body.text)).toContain('Only the security team');
    expect(await h.db.prisma.freeze.count({ where: { liftedAt: null } })).toBe(0);
  });

  it('an approved request is not granted while a freeze covers it', async () => {
    await h.slash(users.sec, 'freeze prod-db-write incident 77');
    // Approved just before the freeze, its grant job running just after: insert it as such.
    const id = 'JIT-FRZ001';
    await h.db.prisma.accessRequest.create({
      data: {
        id,
        requesterId: users.dave,
        resource: 'prod-db-write',
        reason: 'approved before the freeze',
        durationSec: 600,
        identity: h.login('dave'),
        state: 'approved',
        decidedBy: users.bob,
        decidedAt: new Date(),
      },
    });

    expect(await grantAccess(h.bot.deps, id)).toBe('frozen');

    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request).toMatchObject({
      state: 'revoked',
      endReason: 'Frozen (prod-db-write) by the security team: incident 77',
    });
    expect(await h.isMember(h.login('dave'))).toBe(false);
    await h.slash(users.sec, 'unfreeze prod-db-write');
  });

  it('holds across a restart: a grant the freeze did not get to is revoked by the start-up sweep', async () => {
    await endAllGrants();
    const id = await grant(users.alice);
    // The freeze committed, then the process died before revoking anything.
    await h.db.prisma.freeze.create({
      data: { scope: 'user', target: users.alice, reason: 'token leaked', createdBy: users.sec },
    });
    await h.restartBot();

    await h.dmTo(users.alice, `${id}\`: your access`);
    expect(await stateOf(id)).toBe('revoked');
    expect(await h.isMember(h.login('alice'))).toBe(false);
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request.endReason).toBe(`Frozen (user ${users.alice}) by the security team: token leaked`);
    await h.slash(users.sec, `unfreeze <@${users.alice}>`);
  });
});

describe('bulk revocation', () => {
  it('falls back to one by one when the bulk statement fails, e.g. a login was dropped', async () => {
    await endAllGrants();
    const alices = await grant(users.alice);
    const eves = await grant(users.eve, 'staging-db');
    await withAdminClient((client) => client.query(`DROP ROLE ${h.login('eve')}`));

    const { reply } = await h.slash(users.sec, 'freeze all logins rotated');

    expect(String(reply.body.text)).toContain('Revoked 2:');
    expect([await stateOf(alices), await stateOf(eves)]).toEqual(['revoked', 'revoked']);
    expect(await h.isMember(h.login('alice'))).toBe(false);
    const events = (await auditOf('request.revoked')).filter(
      (e) => e.requestId === alices || e.requestId === eves,
    );
    expect(events).toHaveLength(2);
    await h.slash(users.sec, 'unfreeze all');
  });
});
