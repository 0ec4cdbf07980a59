import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestAccess } from '../../src/app/request-access.js';
import { jobIds } from '../../src/jobs/queues.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('request → approve → grant → expire', () => {
  it('runs the whole lifecycle on real PostgreSQL and Redis', async () => {
    // 1. The engineer asks; the reply is ephemeral and names the request.
    const { http, reply } = await h.slash(users.alice, 'request prod-db-write 3s investigating INC-42');
    expect(http.status).toBe(200);
    expect(reply.body.response_type).toBe('ephemeral');
    const id = /JIT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0] as string;
    expect(id).toBeDefined();
    const pending = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(pending).toMatchObject({
      state: 'pending',
      requesterId: users.alice,
      resource: 'prod-db-write',
      durationSec: 3,
      identity: h.login('alice'),
    });

    // 2. Both approvers (one listed by id, one through the user group) get a DM with buttons.
    const bobMessage = await h.approverMessage(id, users.bob);
    await h.approverMessage(id, users.carol);
    const posted = h.fake.message(bobMessage.channel, bobMessage.ts);
    const buttons = JSON.stringify(posted?.blocks);
    expect(buttons).toContain(actionIds.approve);
    expect(buttons).toContain(actionIds.deny);
    expect(buttons).toContain('investigating INC-42');
    expect(await h.isMember(h.login('alice'))).toBe(false);

    // 3. Approval grants on the target and schedules the expiry in BullMQ.
    const click = await h.click(users.bob, actionIds.approve, id, bobMessage);
    expect(click.status).toBe(200);
    await h.dmTo(users.alice, ':unlock:');
    const active = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(active.state).toBe('active');
    expect(active.decidedBy).toBe(users.bob);
    expect(await h.isMember(h.login('alice'))).toBe(true);
    const expiry = await h.bot.queues.revoke.getJob(jobIds.expire(id, active.expiresAt as Date));
    expect(expiry?.data).toMatchObject({ requestId: id, event: 'expire' });

    // The approvers' messages now show the decision, without buttons.
    await h.fake.waitFor(
      'chat.update',
      (c) => c.args.ts === bobMessage.ts && !JSON.stringify(c.args.blocks).includes(actionIds.approve),
    );

    // 4. At expiry the role is revoked and the requester told.
    await h.dmTo(users.alice, 'has expired', 15_000);
    const expired = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(expired.state).toBe('expired');
    expect(expired.endedAt?.getTime()).toBeGreaterThanOrEqual((active.expiresAt as Date).getTime());
    expect(await h.isMember(h.login('alice'))).toBe(false);

    // 5. Every transition is an audit event, chained, and each reaches the security channel.
    const events = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => e.action)).toEqual([
      'request.created',
      'request.approved',
      'request.active',
      'request.expired',
    ]);
    for (const [i, event] of events.entries()) {
      if (i > 0) expect(event.prevHash).toBe(events[i - 1]?.hash);
    }
    // The security channel's card tells those steps in words, updated in place; each event
    // counts as posted once the card shows it.
    const card = await h.securityCard(id, 'expired');
    expect(JSON.stringify(card.args.blocks)).toContain(`Approved by <@${users.bob}>`);
    await expect
      .poll(async () => await h.db.prisma.auditEvent.count({ where: { requestId: id, postedAt: null } }))
      .toBe(0);
    const posts = h.fake.callsTo('chat.postMessage').filter((c) => c.args.channel === securityChannel);
    expect(posts.filter((c) => String(c.args.text).includes(id)).map((c) => c.args.text)).toEqual([
      expect.stringMatching(new RegExp(`^Grant ${id}:`)),
    ]);
  });

  it('gives a request waiting for approvers a new id when its first one is taken', async () => {
    // The same random bytes twice, then fresh ones: the second request's first id collides.
    const fixed = new Uint8Array(16).fill(7);
    let calls = 0;
    const deps = {
      ...h.bot.deps,
      randomBytes: (n: number) => (calls++ < 2 ? fixed.slice(0, n) : h.bot.deps.randomBytes(n)),
    };
    const ask = (reason: string) =>
      requestAccess(deps, { requesterId: users.alice, resource: 'prod-db-write', duration: '30m', reason });
    const first = await ask('INC-1300 first of two');
    const second = await ask('INC-1301 second of two');

    expect(second.id).not.toBe(first.id);
    const rows = await h.db.prisma.accessRequest.findMany({ where: { id: { in: [first.id, second.id] } } });
    expect(rows.map((r) => [r.reason, r.state]).sort()).toEqual([
      ['INC-1300 first of two', 'pending'],
      ['INC-1301 second of two', 'pending'],
    ]);
    const created = await h.db.prisma.auditEvent.findMany({
      where: { requestId: { in: [first.id, second.id] }, action: 'request.created' },
    });
    expect(created.map((e) => e.requestId).sort()).toEqual([first.id, second.id].sort());
    for (const id of [first.id, second.id]) await h.slash(users.alice, `release ${id}`);
  });
});

describe('request → approve → grant → release', () => {
  it('takes the role back at once and leaves no guard job to run a minute later', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '1h', 'INC-1310 released by hand');
    const bobMessage = await h.approverMessage(id, users.bob);
    await h.click(users.bob, actionIds.approve, id, bobMessage);
    // This request's own grant (alice's earlier grant DM in this file would match a DM wait).
    await expect
      .poll(async () => (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state, {
        timeout: 10_000,
      })
      .toBe('active');
    expect(await h.isMember(h.login('alice'))).toBe(true);

    const { reply } = await h.slash(users.alice, `release ${id}`);
    expect(String(reply.body.text)).toContain(id);
    await expect
      .poll(async () => (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state)
      .toBe('released');
    expect(await h.isMember(h.login('alice'))).toBe(false);
    // The guard added before the attempt finished nothing: it is gone, not left to run as a
    // revocation (which would hold follow-up work back while it ran).
    await expect
      .poll(async () => await h.bot.queues.revoke.getJob(jobIds.revoke(id, 'release')))
      .toBeUndefined();
  });
});
