import { createHmac } from 'node:crypto';
import { escapeIdentifier } from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withAdminClient } from '../support/db.js';
import { type FakeWebhookReceiver, startFakeWebhookReceiver } from '../support/fake-webhook.js';
import { grantedRequest } from '../support/granted-request.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

/**
 * Grants survive policy changes (revoke, verify and expiry use the grant as granted, stored on the
 * request) and the cleanup after a grant that raced a revoke or failed half-way is as durable as
 * an expiry. Real PostgreSQL roles, a real HTTP receiver for the webhook provider.
 */

const secret = 'grant-hook-secret-0123456789';
const hookSecret = 'recall-hook-secret-0123456789';

async function recall(body: Record<string, string>): Promise<number> {
  const text = JSON.stringify(body);
  const ts = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', hookSecret).update(`v0:${ts}:${text}`).digest('hex');
  const response = await fetch(`${h.origin}/hooks/recall`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-jit-timestamp': String(ts),
      'x-jit-signature': `v0=${signature}`,
    },
    body: text,
  });
  return response.status;
}
let receiver: FakeWebhookReceiver;
let h: Harness;
const r2 = `${'r2'}_${process.pid}_${Date.now().toString(36)}`;

beforeAll(async () => {
  receiver = await startFakeWebhookReceiver(secret);
  await withAdminClient(async (client) => {
    await client.query(`CREATE ROLE ${escapeIdentifier(r2)} NOLOGIN`);
    await client.query(`GRANT ${escapeIdentifier(r2)} TO jit_granter WITH ADMIN OPTION`);
  });
  h = await startHarness({
    driftCheckIntervalMs: 3_600_000,
    env: { JIT_HOOK_SECRET: hookSecret },
    extraProviders: `
  ticketing:
    type: webhook
    url: ${receiver.url}
    secret: ${secret}`,
    extraResources: `
  ticketing-admin:
    description: Admin in the ticketing system
    provider: ticketing
    grant: { group: admins }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
  prod-db-legacy:
    description: Going away
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }`,
  });
  // Bob holds r2 on his own: whatever happens to alice's grants must leave it alone.
  await withAdminClient((client) =>
    client.query(`GRANT ${escapeIdentifier(r2)} TO ${escapeIdentifier(h.login('bob'))}`),
  );
});
afterAll(async () => {
  await h?.stop();
  await receiver?.close();
  await withAdminClient((client) => client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(r2)}`));
});
beforeEach(() => {
  receiver.calls.length = 0;
  receiver.onCall = undefined;
});

async function holds(role: string, login: string): Promise<boolean> {
  return withAdminClient(async (client) => {
    const { rows } = await client.query(
      `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = $1 AND u.rolname = $2`,
      [role, login],
    );
    return rows.length > 0;
  });
}

async function row(id: string) {
  return h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
}

describe('grants that survive policy changes', () => {
  it('expires the role it granted after a restart with the role changed: r1 revoked, r2 untouched', async () => {
    const alice = h.login('alice');
    const id = await grantedRequest(h, { requester: users.alice, resource: 'prod-db-write', duration: '4s' });
    expect(await holds(h.role, alice)).toBe(true);

    await h.restartBot((yaml) =>
      yaml.replace(
        `  prod-db-write:\n    description: Write access to the production database\n    provider: proddb\n    grant: { role: ${h.role} }`,
        `  prod-db-write:\n    description: Write access to the production database\n    provider: proddb\n    grant: { role: ${r2} }`,
      ),
    );
    expect(h.bot.deps.policy.resources['prod-db-write']?.grant).toEqual({ role: r2 });

    // The security channel is told at start-up which grant belongs to a changed resource.
    const alert = await h.db.prisma.auditEvent.findFirst({
      where: { action: 'policy.grants_outside_policy' },
    });
    expect(JSON.stringify(alert?.details)).toContain(id);
    await h.fake.waitFor(
      'chat.postMessage',
      (c) =>
        c.ok &&
        c.args.channel === securityChannel &&
        String(c.args.text).includes('policy.grants_outside_policy'),
    );

    await expect.poll(async () => (await row(id)).state, { timeout: 15_000 }).toBe('expired');
    expect(await holds(h.role, alice)).toBe(false);
    expect(await holds(r2, alice)).toBe(false);
    expect(await holds(r2, h.login('bob'))).toBe(true);
  });

  it('does not grant a request approved before its resource changed: neither the old role nor the new', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    await h.approverMessage(id, users.bob);
    // (the previous test left the resource on r2; change it back while this one waits)
    await h.restartBot((yaml) => yaml.replace(`grant: { role: ${r2} }`, `grant: { role: ${h.role} }`));
    await h.click(users.bob, 'jit.approve', id, await h.approverMessage(id, users.bob));
    await expect.poll(async () => (await row(id)).state, { timeout: 10_000 }).toBe('grant_failed');
    expect((await row(id)).endReason).toContain('since it was approved');
    expect(await holds(h.role, h.login('alice'))).toBe(false);
    expect(await holds(r2, h.login('alice'))).toBe(false);
  });

  it('keeps grants of a removed resource revocable: by its old name, and through the recall hook', async () => {
    const first = await grantedRequest(h, {
      requester: users.alice,
      resource: 'prod-db-legacy',
      duration: '1h',
    });
    const second = await grantedRequest(h, {
      requester: users.carol,
      resource: 'prod-db-legacy',
      duration: '1h',
    });
    expect(await holds(h.role, h.login('carol'))).toBe(true);
    // prod-db-legacy is the policy's last resource: cut it off.
    await h.restartBot((yaml) => yaml.slice(0, yaml.indexOf('  prod-db-legacy:')));
    expect(Object.hasOwn(h.bot.deps.policy.resources, 'prod-db-legacy')).toBe(false);
    const alert = await h.db.prisma.auditEvent.findFirst({
      where: { action: 'policy.grants_outside_policy' },
      orderBy: { id: 'desc' },
    });
    expect(JSON.stringify(alert?.details)).toContain('no longer in the policy file');

    expect(await recall({ user: users.carol, resource: 'prod-db-legacy', reason: 'retired' })).toBe(200);
    await expect.poll(async () => (await row(second)).state, { timeout: 10_000 }).toBe('revoked');
    expect(await holds(h.role, h.login('carol'))).toBe(false);
    expect((await row(first)).state).toBe('active');

    const { reply } = await h.slash(users.sec, 'revoke prod-db-legacy resource retired');
    expect(String(reply.body.text)).toContain(first);
    await expect.poll(async () => (await row(first)).state, { timeout: 10_000 }).toBe('revoked');
    expect(await holds(h.role, h.login('alice'))).toBe(false);

    // A name that never held anything is still unknown.
    const unknown = await h.slash(users.sec, 'revoke prod-db-never resource retired');
    expect(String(unknown.reply.body.text)).toContain('Unknown resource');
  });
});

describe('cleanup revokes are durable', () => {
  it('takes back a grant that failed half-way, retrying a target that fails the first cleanup', async () => {
    const id = await h.request(users.alice, 'ticketing-admin', '1h');
    receiver.onCall = (call) => {
      if (call.action !== 'grant') return undefined;
      // Applied, then refused: the outside system holds the grant although it said no.
      receiver.respondNext({ status: 503, body: 'maintenance' });
      return { status: 422, body: 'half done' };
    };
    await h.click(users.bob, 'jit.approve', id, await h.approverMessage(id, users.bob));
    await expect.poll(async () => (await row(id)).state, { timeout: 10_000 }).toBe('grant_failed');
    await expect.poll(() => receiver.held.has(id), { timeout: 15_000 }).toBe(false);
    expect(receiver.callsFor('revoke').map((call) => call.status)).toEqual([503, 200]);
    await expect.poll(async () => (await row(id)).cleanupNeeded, { timeout: 5_000 }).toBe(false);
    expect(await h.db.prisma.auditEvent.count({ where: { requestId: id, action: 'grant.cleaned_up' } })).toBe(
      1,
    );
  });

  it('takes back a grant that landed after the request was revoked, through the retried path', async () => {
    const id = await h.request(users.alice, 'ticketing-admin', '1h');
    let land: () => void = () => {};
    const landed = new Promise<void>((resolve) => {
      land = resolve;
    });
    let grantSeen: () => void = () => {};
    const seen = new Promise<void>((resolve) => {
      grantSeen = resolve;
    });
    receiver.onCall = (call) => {
      if (call.action !== 'grant') return undefined;
      // The outside system applies the grant only later, after the revoke below.
      receiver.held.delete(id);
      grantSeen();
      return { status: 200, after: landed.then(() => receiver.held.add(id)) };
    };
    await h.click(users.bob, 'jit.approve', id, await h.approverMessage(id, users.bob));
    await seen;
    await h.slash(users.sec, `revoke ${id} changed our minds`);
    await expect.poll(async () => (await row(id)).state, { timeout: 10_000 }).toBe('revoked');
    expect((await row(id)).cleanupNeeded).toBe(true);

    receiver.respondNext({ status: 503, body: 'maintenance' });
    receiver.onCall = undefined;
    land();
    await expect.poll(() => receiver.held.has(id), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => receiver.held.has(id), { timeout: 15_000 }).toBe(false);
    expect(receiver.callsFor('revoke').map((call) => call.status)).toEqual([200, 503, 200]);
    await expect.poll(async () => (await row(id)).cleanupNeeded, { timeout: 5_000 }).toBe(false);
  });
});
