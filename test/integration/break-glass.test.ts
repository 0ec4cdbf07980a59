import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../src/app/deps.js';
import { runCli } from '../../src/cli/main.js';
import { jobIds } from '../../src/jobs/queues.js';
import { reconcileQueues } from '../../src/jobs/reconcile.js';
import { breakGlassActionIds } from '../../src/slack/views/break-glass.js';
import { loseQueueData } from '../support/bot-queues.js';
import { type Harness, securityChannel, signingSecret, startHarness, users } from '../support/harness.js';
import { postEvent } from '../support/slack-signing.js';

/**
 * `breakGlass:` through the whole bot: `/jit break-glass` grants at once on the real PostgreSQL,
 * the security channel gets a top-level alert, the reviewers a DM with Acknowledge / Flag; a
 * flag revokes (and freezes under freezeOnFlag); a review nobody did in time is alerted once,
 * also after Redis lost its deadline job; refusals change nothing.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    extraResources: `
  emergency-db:
    description: Production database, break-glass for incidents
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}] }
    breakGlass:
      maxDuration: 30m
      reviewers: { users: [${users.sec}, ${users.dave}] }
      reviewWithin: 1h
      limit: { count: 1, per: 1h }
  emergency-db-strict:
    description: Production database; a flagged break-glass freezes the requester
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}] }
    breakGlass:
      maxDuration: 15m
      reviewers: { users: [${users.sec}] }
      reviewWithin: 2s
      freezeOnFlag: true
      limit: { count: 5, per: 1h }`,
  });
});
afterAll(async () => {
  await h?.stop();
});

function idIn(text: unknown): string {
  const id = /JIT-[0-9A-Z]{6}/.exec(String(text))?.[0];
  if (!id) throw new Error(`no request id in ${String(text)}`);
  return id;
}

async function breakGlass(userId: string, text: string): Promise<{ id: string; reply: string }> {
  const { reply } = await h.slash(userId, `break-glass ${text}`);
  return { id: idIn(reply.body.text), reply: String(reply.body.text) };
}

async function reviewerDm(id: string, reviewerId: string): Promise<{ channel: string; ts: string }> {
  const call = await h.dmTo(reviewerId, `Break-glass ${id}`);
  return { channel: String(call.args.channel), ts: String(call.result.ts) };
}

function clickReply(fragment: string) {
  return h.fake.waitForResponse((r) => r.id.startsWith('click-') && String(r.body.text).includes(fragment));
}

function topLevelAlerts(id: string, fragment: string) {
  return h.fake
    .callsTo('chat.postMessage')
    .filter(
      (c) =>
        c.ok &&
        c.args.channel === securityChannel &&
        c.args.thread_ts === undefined &&
        JSON.stringify(c.args.blocks ?? '').includes(id) &&
        JSON.stringify(c.args.blocks ?? '').includes(fragment),
    );
}

function reviewOf(id: string) {
  return h.db.prisma.breakGlassReview.findUniqueOrThrow({ where: { requestId: id } });
}

async function waitForMembership(login: string, member: boolean): Promise<void> {
  await expect.poll(() => h.isMember(login), { timeout: 15_000 }).toBe(member);
}

describe('break-glass', () => {
  it('grants at once, alerts the channel top-level and asks the reviewers, never the requester', async () => {
    const { id, reply } = await breakGlass(
      users.alice,
      'emergency-db 20m INC-9 primary is down, failing over',
    );
    expect(reply).toContain('break-glass');
    await waitForMembership(h.login('alice'), true);

    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request).toMatchObject({ state: 'active', decidedBy: users.alice, decisionRule: 'breakGlass' });
    const actions = (
      await h.db.prisma.auditEvent.findMany({ where: { requestId: id }, orderBy: { id: 'asc' } })
    ).map((e) => e.action);
    expect(actions.slice(0, 3)).toEqual(['request.created', 'request.approved', 'break_glass.used']);

    await expect.poll(() => topLevelAlerts(id, 'BREAK-GLASS').length, { timeout: 10_000 }).toBe(1);
    await reviewerDm(id, users.sec);
    await reviewerDm(id, users.dave);
    expect(
      h.fake
        .callsTo('chat.postMessage')
        .some(
          (c) => String(c.args.text).startsWith(`Break-glass ${id}`) && c.args.channel === `D${users.alice}`,
        ),
    ).toBe(false);
    // Approvers of the resource are not asked: nothing waits for them.
    expect(
      h.fake
        .callsTo('chat.postMessage')
        .some((c) => c.args.channel === `D${users.bob}` && String(c.args.text).includes(id)),
    ).toBe(false);
    await h.securityCard(id, 'to be reviewed by', 15_000);

    // Acknowledged by dave: recorded once; sec's Flag a moment later changes nothing.
    const daveDm = await reviewerDm(id, users.dave);
    const secDm = await reviewerDm(id, users.sec);
    await h.click(users.dave, breakGlassActionIds.acknowledge, id, daveDm);
    await clickReply(`You acknowledged break-glass \`${id}\``);
    await h.click(users.sec, breakGlassActionIds.flag, id, secDm);
    await clickReply(`${id} was already acknowledged by <@${users.dave}>`);
    expect(await reviewOf(id)).toMatchObject({ outcome: 'acknowledged', decidedBy: users.dave });
    expect(await h.isMember(h.login('alice'))).toBe(true);
    await h.securityCard(id, 'acknowledged by', 15_000);
    const acknowledged = await h.db.prisma.auditEvent.count({
      where: { requestId: id, action: { startsWith: 'break_glass.' } },
    });
    expect(acknowledged).toBe(2);

    await h.slash(users.alice, `release ${id}`);
    await waitForMembership(h.login('alice'), false);
  });

  it('refuses what the policy does not allow, with a message, and writes no grant', async () => {
    const before = await h.db.prisma.accessRequest.count();
    const { reply: noBreakGlass } = await h.slash(users.eve, 'break-glass prod-db-write 10m outage INC-1');
    expect(noBreakGlass.body.text).toContain('does not allow break-glass');
    expect(noBreakGlass.body.text).toContain('emergency-db');
    const { reply: tooLong } = await h.slash(users.eve, 'break-glass emergency-db 45m outage INC-1');
    expect(tooLong.body.text).toContain('30m');
    const { reply: noReason } = await h.slash(users.eve, 'break-glass emergency-db 10m');
    expect(noReason.body.text).toContain('reason');
    expect(await h.db.prisma.accessRequest.count()).toBe(before);

    // The limit: once an hour on emergency-db; the second is recorded denied, no access given.
    const first = await breakGlass(users.eve, 'emergency-db 10m outage INC-2');
    await waitForMembership(h.login('eve'), true);
    const second = await breakGlass(users.eve, 'emergency-db 10m outage INC-3');
    expect(second.reply).toContain('breakGlass.limit');
    const denied = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id: second.id } });
    expect(denied.state).toBe('denied');
    expect(await h.db.prisma.breakGlassReview.count({ where: { requestId: second.id } })).toBe(0);

    // Someone who is not a reviewer cannot review it; nor can the requester.
    const secDm = await reviewerDm(first.id, users.sec);
    await h.click(users.bob, breakGlassActionIds.flag, first.id, secDm);
    await clickReply(`You are not a reviewer of ${first.id}`);
    await h.click(users.eve, breakGlassActionIds.acknowledge, first.id, secDm);
    await clickReply('You cannot review your own break-glass grant');
    expect((await reviewOf(first.id)).outcome).toBeNull();
    expect(await h.isMember(h.login('eve'))).toBe(true);
    // Both reviewers at the same moment: one review is recorded, the other is told.
    await Promise.all([
      h.click(users.sec, breakGlassActionIds.acknowledge, first.id, secDm),
      h.click(users.dave, breakGlassActionIds.acknowledge, first.id, await reviewerDm(first.id, users.dave)),
    ]);
    await clickReply(`${first.id} was already acknowledged by`);
    expect(
      await h.db.prisma.auditEvent.count({
        where: { requestId: first.id, action: 'break_glass.acknowledged' },
      }),
    ).toBe(1);
    await h.slash(users.eve, `release ${first.id}`);
  });

  it('a flag revokes now and, under freezeOnFlag, freezes the requester', async () => {
    const { id } = await breakGlass(users.carol, 'emergency-db-strict 10m INC-4 cache poisoning');
    await waitForMembership(h.login('carol'), true);
    const secDm = await reviewerDm(id, users.sec);
    await h.click(users.sec, breakGlassActionIds.flag, id, secDm);
    await clickReply(`You flagged break-glass \`${id}\``);
    expect(await h.isMember(h.login('carol'))).toBe(false);
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request.state).toBe('revoked');
    expect(await h.db.prisma.freeze.count({ where: { scope: 'user', target: users.carol } })).toBe(1);
    await expect.poll(() => topLevelAlerts(id, 'Break-glass flagged').length, { timeout: 10_000 }).toBe(1);

    // Frozen: carol's next request is denied by the freeze.
    const { reply } = await h.slash(users.carol, 'request prod-db-write 10m checking the fix');
    expect(reply.body.text).toContain('denied automatically by a freeze');
    await h.slash(users.sec, `unfreeze <@${users.carol}>`);
  });

  it('alerts once when nobody reviewed in time, also after Redis lost the deadline job', async () => {
    const { id } = await breakGlass(users.dave, 'emergency-db-strict 5m INC-5 disk full');
    await waitForMembership(h.login('dave'), true);
    await expect.poll(async () => (await reviewOf(id)).overdueAt, { timeout: 15_000 }).not.toBeNull();
    await expect.poll(() => topLevelAlerts(id, 'not reviewed').length, { timeout: 10_000 }).toBe(1);
    await h.securityCard(id, 'not reviewed', 15_000);

    // A second grant whose deadline job Redis loses: the sweep adds it back, and it alerts once.
    await h.slash(users.dave, `release ${id}`);
    const lost = await breakGlass(users.dave, 'emergency-db-strict 5m INC-6 disk full again');
    await reviewerDm(lost.id, users.sec);
    expect(await loseQueueData(h.bot)).toBeGreaterThan(0);
    expect(await h.bot.queues.approval.getJob(jobIds.approval('review', lost.id))).toBeUndefined();
    const later: Deps = { ...h.bot.deps, clock: { now: () => new Date(Date.now() + 60_000) } };
    const report = await reconcileQueues(later, h.bot.queues);
    expect(report.reviewDeadlines).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await reviewOf(lost.id)).overdueAt, { timeout: 15_000 }).not.toBeNull();
    await expect.poll(() => topLevelAlerts(lost.id, 'not reviewed').length, { timeout: 10_000 }).toBe(1);
    expect(
      await h.db.prisma.auditEvent.count({
        where: { requestId: lost.id, action: 'break_glass.review_overdue' },
      }),
    ).toBe(1);

    // Unreviewed: on the admins' App Home, and named by `jit audit export`.
    const from = h.fake.calls.length;
    const opened = {
      type: 'app_home_opened',
      user: users.sec,
      channel: `D${users.sec}`,
      tab: 'home',
      event_ts: `${Math.floor(Date.now() / 1000)}.000200`,
    };
    expect((await postEvent(h.url, signingSecret, opened)).status).toBe(200);
    const home = await h.fake.waitFor(
      'views.publish',
      (c) => h.fake.calls.indexOf(c) >= from && c.args.user_id === users.sec,
    );
    expect(home.ok, JSON.stringify(home.messages)).toBe(true);
    const homeText = JSON.stringify(home.args.view);
    expect(homeText).toContain('Break-glass to review');
    expect(homeText).toContain(lost.id);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['audit', 'export', '--unreviewed'], {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      env: { DATABASE_URL: h.db.url },
    });
    expect(code).toBe(0);
    const exported = out.map((line) => JSON.parse(line) as { requestId: string | null });
    expect(new Set(exported.map((e) => e.requestId))).toContain(lost.id);
    expect(exported.every((e) => e.requestId !== null)).toBe(true);
    expect(err.join('\n')).toContain(lost.id);
    // Its reviewers' DMs lost too (as if the follow-up never ran): the sweep asks them again.
    await h.db.prisma.slackMessage.deleteMany({ where: { requestId: lost.id, purpose: 'reviewer' } });
    const asked = h.fake
      .callsTo('chat.postMessage')
      .filter((c) => String(c.args.text).startsWith(`Break-glass ${lost.id}`)).length;
    expect((await reconcileQueues(later, h.bot.queues)).reviewerAsks).toBe(1);
    await expect
      .poll(
        () =>
          h.fake
            .callsTo('chat.postMessage')
            .filter((c) => String(c.args.text).startsWith(`Break-glass ${lost.id}`)).length,
        { timeout: 10_000 },
      )
      .toBe(asked + 1);
    await h.slash(users.dave, `release ${lost.id}`);
  });
});
