import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callbackIds, requestFields } from '../../src/slack/views/modals.js';
import { queuedNotificationKinds } from '../support/bot-queues.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';
import { ShiftedClock } from '../support/shifted-clock.js';

/**
 * Requests refused or sent to review by a resource's `optOut` rules, and by a standing freeze,
 * through the real bot: what the requester is told, what is recorded, what the security channel
 * sees, and that no approver is bothered with a refused request.
 */

const guest = 'UGUEST01';

const clock = new ShiftedClock();
const tuesdayMorning = '2026-12-01T10:00:00Z'; // the harness policy: UTC, Mon–Fri 08:00–19:00
const saturdayMorning = '2026-12-05T10:00:00Z';

const resource = (name: string, optOut: string) => `
  ${name}:
    description: ${name} with opt-out rules
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
    optOut:
${optOut}`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    clock,
    extraResources: [
      resource('guarded-db', `      guests: deny\n      blockedUsers: [${users.eve}]`),
      resource('reviewed-db', '      guests: review'),
      resource('office-db', '      outsideBusinessHours: deny'),
      resource('limited-db', '      maxRequestsPerHour: 2'),
      resource('burst-db', '      maxRequestsPerHour: 2'),
    ].join(''),
  });
  h.fake.addUser({ id: guest, name: 'guest', email: `${h.login('alice')}@example.com`, isRestricted: true });
});
beforeEach(() => clock.setTo(tuesdayMorning));
afterAll(async () => {
  await h?.stop();
});

const requestRow = (id: string) => h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });

const auditOf = (id: string) =>
  h.db.prisma.auditEvent.findMany({ where: { requestId: id }, orderBy: { id: 'asc' } });

/** The notification jobs enqueued for a request; the reply comes only after they are enqueued. */
const notifyKindsFor = (id: string) => queuedNotificationKinds(h.bot, id);

/** `/jit request …`; returns the reply text and the request id in it. */
async function ask(userId: string, resourceName: string): Promise<{ id: string; text: string }> {
  const { reply } = await h.slash(userId, `request ${resourceName} 1h investigating INC-42`);
  const text = String(reply.body.text);
  const id = /JIT-[0-9A-Z]{6}/.exec(text)?.[0];
  if (!id) throw new Error(`no request id in the reply: ${text}`);
  return { id, text };
}

async function expectDeniedByRule(id: string, rule: string, explanation: RegExp): Promise<void> {
  const row = await requestRow(id);
  expect(row).toMatchObject({ state: 'denied', decisionRule: rule, decidedBy: 'policy', reviewRule: null });
  expect(row.endReason).toMatch(explanation);
  const events = await auditOf(id);
  expect(events.map((e) => e.action)).toEqual(['request.created', 'request.denied']);
  expect(events[1]).toMatchObject({
    actor: 'policy',
    fromState: 'pending',
    toState: 'denied',
    details: { rule, reason: row.endReason },
  });
  await h.securityCard(id, `Denied automatically by the rule \`${rule}\``);
  // Its one follow-up brings the security card up to date; no approver is asked.
  expect(await notifyKindsFor(id)).toEqual(['refresh']);
}

describe('blocked users and guests', () => {
  it('denies a blocked account at once: recorded, audited, posted, no approver asked, nothing granted', async () => {
    const { id, text } = await ask(users.eve, 'guarded-db');

    expect(text).toContain('denied automatically by the rule `optOut.blockedUsers`');
    expect(text).toContain('Talk to the security team.');
    expect(text).not.toContain('sent to its approvers');
    await expectDeniedByRule(id, 'optOut.blockedUsers', /may not request this resource/);
    // Only the request's card in the security channel, which tells its steps.
    const recorded = await h.db.prisma.slackMessage.findMany({ where: { requestId: id } });
    expect(recorded.map((m) => [m.purpose, m.channel])).toEqual([['security', securityChannel]]);
    const aboutIt = h.fake.callsTo('chat.postMessage').filter((c) => String(c.args.text).includes(id));
    expect(aboutIt.filter((c) => c.args.channel !== securityChannel)).toEqual([]);
    expect(await h.isMember(h.login('eve'))).toBe(false);

    // The same account on a resource without the rule is asked about as usual.
    const allowed = await ask(users.eve, 'prod-db-write');
    expect(allowed.text).toContain('sent to its approvers');
    expect(await notifyKindsFor(allowed.id)).toContain('ask-approvers');
    await h.approverMessage(allowed.id, users.bob);
  });

  it('denies a guest where guests: deny, and the form confirmation says why', async () => {
    const { id, text } = await ask(guest, 'guarded-db');
    expect(text).toContain('denied automatically by the rule `optOut.guests`');
    expect(text).toContain('Ask a full member of your team to request it');
    await expectDeniedByRule(id, 'optOut.guests', /Guest accounts may not request this resource/);

    const submitted = await h.submitView(
      guest,
      callbackIds.request,
      { channelId: 'C0GENERAL' },
      {
        [requestFields.resource.block]: {
          [requestFields.resource.action]: {
            type: 'static_select',
            selected_option: { value: 'guarded-db' },
          },
        },
        [requestFields.duration.block]: {
          [requestFields.duration.action]: { type: 'plain_text_input', value: '' },
        },
        [requestFields.reason.block]: {
          [requestFields.reason.action]: { type: 'plain_text_input', value: 'investigating INC-42' },
        },
      },
    );
    expect(submitted.status).toBe(200);
    expect(submitted.body).toBe(''); // the form closes: the request was recorded, denied
    const confirmation = await h.fake.waitFor(
      'chat.postEphemeral',
      (c) => c.args.user === guest && String(c.args.text).includes('denied automatically'),
    );
    expect(String(confirmation.args.text)).toContain('`optOut.guests`');
    const modalId = /JIT-[0-9A-Z]{6}/.exec(String(confirmation.args.text))?.[0] as string;
    await expectDeniedByRule(modalId, 'optOut.guests', /Guest accounts/);
  });

  it('sends a guest to human review where guests: review, and tells requester and approver', async () => {
    const { id, text } = await ask(guest, 'reviewed-db');

    expect(text).toContain('sent to its approvers');
    expect(text).toContain('It needs human review: guest account.');
    const row = await requestRow(id);
    expect(row).toMatchObject({ state: 'pending', reviewRule: 'optOut.guests', decisionRule: null });
    const [created] = await auditOf(id);
    expect(created).toMatchObject({ action: 'request.created', details: { reviewRule: 'optOut.guests' } });
    await h.securityCard(id, 'Needs human review: guest account');

    await h.approverMessage(id, users.bob);
    const card = h.fake
      .callsTo('chat.postMessage')
      .find((c) => c.args.channel === `D${users.bob}` && String(c.args.text).includes(id));
    expect(JSON.stringify(card?.args.blocks)).toContain('Needs human review: guest account');

    // A full member on the same resource needs no special review.
    const member = await ask(users.alice, 'reviewed-db');
    expect(member.text).not.toContain('human review');
    expect((await requestRow(member.id)).reviewRule).toBeNull();
  });
});

describe('business hours', () => {
  it('denies outside business hours and accepts inside them', async () => {
    clock.setTo(saturdayMorning);
    const saturday = await ask(users.alice, 'office-db');
    expect(saturday.text).toContain('denied automatically by the rule `optOut.outsideBusinessHours`');
    expect(saturday.text).toContain('Mon–Fri 08:00–19:00 UTC');
    expect(saturday.text).toContain('Ask again during business hours');
    await expectDeniedByRule(saturday.id, 'optOut.outsideBusinessHours', /business hours/);

    // Other resources are not limited to business hours.
    expect((await ask(users.alice, 'prod-db-write')).text).toContain('sent to its approvers');

    clock.setTo(tuesdayMorning);
    const tuesday = await ask(users.alice, 'office-db');
    expect(tuesday.text).toContain('sent to its approvers');
    expect(await requestRow(tuesday.id)).toMatchObject({ state: 'pending', decisionRule: null });
    await h.approverMessage(tuesday.id, users.bob);
  });
});

describe('maxRequestsPerHour', () => {
  it('denies beyond N an hour, does not count the refused retries, and allows again an hour later', async () => {
    const first = await ask(users.carol, 'limited-db');
    const second = await ask(users.carol, 'limited-db');
    for (const { id } of [first, second]) expect((await requestRow(id)).state).toBe('pending');

    const third = await ask(users.carol, 'limited-db');
    expect(third.text).toContain('denied automatically by the rule `optOut.maxRequestsPerHour`');
    expect(third.text).toContain('the limit is 2');
    await expectDeniedByRule(third.id, 'optOut.maxRequestsPerHour', /2 requests .* last hour/);
    // Per resource: the same person can still ask for something else.
    expect((await ask(users.carol, 'prod-db-write')).text).toContain('sent to its approvers');

    clock.setTo('2026-12-01T10:30:00Z');
    const retry = await ask(users.carol, 'limited-db');
    expect((await requestRow(retry.id)).decisionRule).toBe('optOut.maxRequestsPerHour');

    // An hour after the first two, two more are allowed: the retry at 10:30 did not count.
    clock.setTo('2026-12-01T11:01:00Z');
    const again = [await ask(users.carol, 'limited-db'), await ask(users.carol, 'limited-db')];
    for (const { id, text } of again) {
      expect(text).toContain('sent to its approvers');
      expect((await requestRow(id)).state).toBe('pending');
    }
    const over = await ask(users.carol, 'limited-db');
    expect((await requestRow(over.id)).decisionRule).toBe('optOut.maxRequestsPerHour');
  });

  it('counts concurrent requests by one person one after the other', async () => {
    const burst = await Promise.all(Array.from({ length: 5 }, () => ask(users.dave, 'burst-db')));
    const rows = await Promise.all(burst.map(({ id }) => requestRow(id)));
    expect(rows.filter((r) => r.state === 'pending')).toHaveLength(2);
    expect(rows.filter((r) => r.decisionRule === 'optOut.maxRequestsPerHour')).toHaveLength(3);
  });
});

describe('freezes at request time', () => {
  it('denies a request that arrives after a freeze with its reason, only in its scope, until lifted', async () => {
    const froze = await h.slash(users.sec, 'freeze prod-db-write migration in progress');
    expect(String(froze.reply.body.text)).toContain('Froze');

    const frozen = await ask(users.alice, 'prod-db-write');
    expect(frozen.text).toContain('denied automatically by a freeze');
    expect(frozen.text).toContain('migration in progress');
    await expectDeniedByRule(
      frozen.id,
      'freeze',
      /Frozen \(prod-db-write\) by the security team: migration in progress/,
    );

    const elsewhere = await ask(users.alice, 'prod-db-two-level');
    expect(elsewhere.text).toContain('sent to its approvers');

    const lifted = await h.slash(users.sec, 'unfreeze prod-db-write');
    expect(String(lifted.reply.body.text)).not.toContain('not frozen');
    const after = await ask(users.alice, 'prod-db-write');
    expect(after.text).toContain('sent to its approvers');
    expect(await requestRow(after.id)).toMatchObject({ state: 'pending', decisionRule: null });
    await h.approverMessage(after.id, users.bob);
  });
});
