import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queuedNotificationKinds } from '../support/bot-queues.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';
import { ShiftedClock } from '../support/shifted-clock.js';

/**
 * `autoApprove` through the real bot: a request a rule matches is approved by the policy and
 * granted on the target without any approver being asked, and the security channel is told which
 * rule did it; anything the rule does not cover goes to people as usual.
 */

const guest = 'UGUEST01';
const onCall = 'S0ONCALL';

const clock = new ShiftedClock();
const tuesdayMorning = '2026-12-01T10:00:00Z'; // the harness policy: UTC, Mon–Fri 08:00–19:00
const saturdayMorning = '2026-12-05T10:00:00Z';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    clock,
    extraResources: `
  oncall-db:
    description: Write access for whoever is on call
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 15m, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
    autoApprove:
      - requesterIn: { groups: [${onCall}] }
        maxDuration: 30m
        businessHoursOnly: true
    optOut:
      guests: review`,
  });
  h.fake.addUser({ id: guest, name: 'guest', email: `${h.login('eve')}@example.com`, isRestricted: true });
  h.fake.setGroup(onCall, [users.alice, guest]);
});
beforeEach(() => clock.setTo(tuesdayMorning));
afterAll(async () => {
  await h?.stop();
});

const requestRow = (id: string) => h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });

async function ask(userId: string, duration: string): Promise<{ id: string; text: string }> {
  const { reply } = await h.slash(userId, `request oncall-db ${duration} investigating INC-42`);
  const text = String(reply.body.text);
  const id = /JIT-[0-9A-Z]{6}/.exec(text)?.[0];
  if (!id) throw new Error(`no request id in the reply: ${text}`);
  return { id, text };
}

/** The notification jobs enqueued for a request; the reply comes only after they are enqueued. */
const notifyKindsFor = (id: string) => queuedNotificationKinds(h.bot, id);

describe('a request an autoApprove rule matches', () => {
  it('is granted without asking anyone, recorded as decided by the rule, and posted with the rule', async () => {
    const { id, text } = await ask(users.alice, '30m');
    expect(text).toContain('approved automatically by the rule `autoApprove[0]`');
    expect(text).toContain('no approver was asked');
    expect(text).toContain('Access is being granted');

    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(await h.isMember(h.login('alice'))).toBe(true);
    expect(await requestRow(id)).toMatchObject({
      state: 'active',
      decidedBy: 'policy',
      decisionRule: 'autoApprove[0]',
      reviewRule: null,
    });
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);

    const events = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => e.action)).toEqual(['request.created', 'request.approved', 'request.active']);
    expect(events[1]).toMatchObject({
      actor: 'policy',
      fromState: 'pending',
      toState: 'approved',
      details: { rule: 'autoApprove[0]' },
    });
    const approved = events[1]?.details as { reasons?: string[] } | undefined;
    const reasons = approved?.reasons?.join(' ') ?? '';
    expect(reasons).toContain(`user group ${onCall}`);
    expect(reasons).toContain('30m is within its maxDuration of 30m');

    await h.securityCard(id, 'Approved automatically by the rule `autoApprove[0]`');

    // No approver was asked: no ask job, and no message to anyone but the requester and the channel.
    expect(await notifyKindsFor(id)).not.toContain('ask-approvers');
    const aboutIt = h.fake.callsTo('chat.postMessage').filter((c) => String(c.args.text).includes(id));
    expect(
      aboutIt.filter((c) => ![securityChannel, `D${users.alice}`].includes(String(c.args.channel))),
    ).toEqual([]);

    await h.slash(users.alice, `release ${id}`);
    await expect.poll(() => h.isMember(h.login('alice'))).toBe(false);
  });
});

describe('requests the rule does not cover go to the approvers', () => {
  it.each([
    ['longer than the rule maxDuration', users.alice, '31m', tuesdayMorning, null],
    [
      'outside business hours, where the rule is businessHoursOnly',
      users.alice,
      '30m',
      saturdayMorning,
      null,
    ],
    ['from someone outside the group', users.eve, '30m', tuesdayMorning, null],
    ['from a guest in the group, where guests: review', guest, '30m', tuesdayMorning, 'optOut.guests'],
  ])('%s', async (_name, requester, duration, at, reviewRule) => {
    clock.setTo(at);
    const { id, text } = await ask(requester, duration);
    expect(text).toContain('sent to its approvers');
    expect(text).not.toContain('approved automatically');
    if (reviewRule) expect(text).toContain('It needs human review: guest account.');

    await h.approverMessage(id, users.bob);
    expect(await requestRow(id)).toMatchObject({
      state: 'pending',
      decisionRule: null,
      decidedBy: null,
      reviewRule,
    });
    const [created, ...rest] = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id },
      orderBy: { id: 'asc' },
    });
    expect(created?.action).toBe('request.created');
    expect(rest).toEqual([]);
    expect(await h.isMember(h.login(requester === users.alice ? 'alice' : 'eve'))).toBe(false);
  });
});
