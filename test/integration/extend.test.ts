import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIds } from '../../src/jobs/queues.js';
import { extensionActionIds } from '../../src/slack/views/extension-card.js';
import { grantActionIds } from '../../src/slack/views/grant-card.js';
import { callbackIds } from '../../src/slack/views/modals.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import type { FakeSlackCall } from '../support/fake-slack.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

/**
 * More time on an active grant: `/jit extend` and the Extend button, decided by the resource's
 * policy (auto-approval within the maximum, approval levels otherwise), driven through signed
 * Slack payloads against real PostgreSQL roles and real expiry jobs.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    extraResources: `
  oncall-db:
    description: On-call engineers extend without asking, up to the maximum
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 1h, max: 2h }
    approvals:
      - from: { users: [${users.bob}] }
    autoApprove:
      - requesterIn: { groups: [S0ONCALL] }
  frozen-db:
    description: A resource that gets frozen while a grant is active
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }`,
  });
  // Before the bot first looks the group up (it caches membership).
  h.fake.setGroup('S0ONCALL', [users.alice]);
});
afterAll(async () => {
  await h?.stop();
});

interface Posted {
  channel: string;
  ts: string;
}

const requestRow = (id: string) => h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
const extensionsOf = (requestId: string) =>
  h.db.prisma.extension.findMany({ where: { requestId }, orderBy: { createdAt: 'asc' } });
const auditOf = (requestId: string, action: string) =>
  h.db.prisma.auditEvent.findMany({ where: { requestId, action }, orderBy: { id: 'asc' } });

/** An active grant of alice's; `approvers` click in order unless the policy approved it itself. */
async function grant(resource: string, duration: string, approvers: string[] = [users.bob]): Promise<string> {
  const id = await h.request(users.alice, resource, duration);
  if ((await requestRow(id)).state === 'pending') {
    for (const approver of approvers) {
      await h.click(approver, actionIds.approve, id, await h.approverMessage(id, approver));
    }
  }
  await h.dmTo(users.alice, `${id}\`: you have`);
  return id;
}

/** `/jit extend` by `userId`; the reply's text. */
async function extend(userId: string, text: string): Promise<string> {
  const { reply } = await h.slash(userId, `extend ${text}`);
  expect(reply.body.response_type).toBe('ephemeral');
  return String(reply.body.text);
}

function extensionIdIn(text: string): string {
  const id = /EXT-[0-9A-Z]{6}/.exec(text)?.[0];
  if (!id) throw new Error(`no extension id in: ${text}`);
  return id;
}

/** The extension card DMed to an approver. */
async function extensionCard(extensionId: string, approverId: string): Promise<FakeSlackCall & Posted> {
  const call = await h.fake.waitFor(
    'chat.postMessage',
    (c) => c.ok && c.args.channel === `D${approverId}` && String(c.args.text).includes(extensionId),
  );
  return { ...call, channel: String(call.args.channel), ts: String(call.result.ts) };
}

const sentCardTo = (extensionId: string, approverId: string) =>
  h.fake
    .callsTo('chat.postMessage')
    .some((c) => c.args.channel === `D${approverId}` && String(c.args.text).includes(extensionId));

function clickReply(fragment: string) {
  return h.fake.waitForResponse((r) => r.id.startsWith('click-') && String(r.body.text).includes(fragment));
}

const buttonsIn = (blocks: unknown): string[] =>
  [...JSON.stringify(blocks ?? []).matchAll(/"action_id":"(jit\.[a-z_.]+)"/g)].map((m) => m[1] as string);

const reasonValues = (reason: string) => ({
  reason: { reason: { type: 'plain_text_input', value: reason } },
});

const plus = (date: Date | null, seconds: number) => new Date((date as Date).getTime() + seconds * 1000);

describe('auto-approved extensions', () => {
  it('move the end, and the grant expires at the new time, not the old one', async () => {
    const id = await grant('oncall-db', '4s');
    const before = (await requestRow(id)).expiresAt as Date;

    const reply = await extend(users.alice, `${id} 3s`);
    expect(reply).toContain(`\`${id}\` extended by 3s`);
    expect(reply).toContain('`autoApprove[0]`');
    const after = (await requestRow(id)).expiresAt as Date;
    expect(after).toEqual(plus(before, 3));
    const [extension] = await extensionsOf(id);
    expect(extension).toMatchObject({
      state: 'approved',
      extraSec: 3,
      decidedBy: 'policy',
      decisionRule: 'autoApprove[0]',
    });
    const [extended] = await auditOf(id, 'request.extended');
    expect(extended?.details).toMatchObject({
      extensionId: extension?.id,
      extraSec: 3,
      expiresAt: after.toISOString(),
      rule: 'autoApprove[0]',
    });
    await h.dmTo(users.alice, `${id}\`: your access to \`oncall-db\` was extended by 3s`);

    await h.dmTo(users.alice, `${id}\`: your access to \`oncall-db\` has expired`, 20_000);
    const [expired] = await auditOf(id, 'request.expired');
    expect(expired?.at.getTime()).toBeGreaterThanOrEqual(after.getTime());
    expect(await h.isMember(h.login('alice'))).toBe(false);
    // The job for the old end ran, found the grant not due, and left it to the new one.
    const oldJob = await h.bot.queues.revoke.getJob(jobIds.expire(id, before));
    expect(oldJob?.returnvalue).toBe('not-due');
    expect(
      (await auditOf(id, 'extension.created')).length + (await auditOf(id, 'extension.approved')).length,
    ).toBe(2);
  });

  it('two asks at once: each applied one moves the end by exactly its time, none on a stale view', async () => {
    const id = await grant('oncall-db', '1h');
    const before = (await requestRow(id)).expiresAt as Date;
    const replies = await Promise.all([extend(users.alice, `${id} 10m`), extend(users.alice, `${id} 10m`)]);
    // Overlapping, the second finds the grant changed under it; one after the other, both apply.
    const applied = replies.filter((r) => r.includes('extended by 10m')).length;
    expect(applied).toBeGreaterThanOrEqual(1);
    expect(replies.filter((r) => r.includes(`${id} was just extended`))).toHaveLength(2 - applied);
    expect((await requestRow(id)).expiresAt).toEqual(plus(before, 600 * applied));
    expect((await extensionsOf(id)).map((e) => e.state)).toEqual(Array(applied).fill('approved'));
    expect(await auditOf(id, 'request.extended')).toHaveLength(applied);
    await h.slash(users.alice, `release ${id}`);
  });

  it('beyond the maximum go to the approvers even for someone auto-approval covers', async () => {
    const id = await grant('oncall-db', '1h');
    const before = (await requestRow(id)).expiresAt as Date;

    const reply = await extend(users.alice, `${id} 2h`);
    const extensionId = extensionIdIn(reply);
    expect(reply).toContain('Asked the approvers');
    expect(reply).toContain('maximum of 2h');
    expect((await requestRow(id)).expiresAt).toEqual(before);

    const card = await extensionCard(extensionId, users.bob);
    expect(JSON.stringify(card.args.blocks)).toContain('(max 2h)');
    await h.click(users.bob, extensionActionIds.approve, extensionId, card);
    await clickReply(`You approved \`${extensionId}\``);
    expect((await requestRow(id)).expiresAt).toEqual(plus(before, 7_200));
    await h.slash(users.alice, `release ${id}`);
  });
});

describe('extensions that need approval', () => {
  it('ask the approvers; an approval moves the end, tells the requester and updates the card', async () => {
    const id = await grant('prod-db-write', '1h');
    const before = (await requestRow(id)).expiresAt as Date;
    const grantDm = await h.dmTo(users.alice, `${id}\`: you have`);

    const extensionId = extensionIdIn(await extend(users.alice, `${id} 30m`));
    expect((await extensionsOf(id)).map((e) => e.state)).toEqual(['pending']);
    expect((await requestRow(id)).expiresAt).toEqual(before);

    const card = await extensionCard(extensionId, users.bob);
    await extensionCard(extensionId, users.carol); // through the S0DBA group
    expect(sentCardTo(extensionId, users.alice)).toBe(false);
    expect(buttonsIn(card.args.blocks)).toEqual([extensionActionIds.approve, extensionActionIds.deny]);
    expect(JSON.stringify(card.args.blocks)).toContain(`"value":"${extensionId}"`);

    await h.click(users.bob, extensionActionIds.approve, extensionId, card);
    const approved = await clickReply(`You approved \`${extensionId}\``);
    expect(approved.body.response_type).toBe('ephemeral');
    const after = (await requestRow(id)).expiresAt as Date;
    expect(after).toEqual(plus(before, 1_800));
    expect((await extensionsOf(id))[0]).toMatchObject({ state: 'approved', decidedBy: users.bob });
    const told = await h.dmTo(users.alice, `${id}\`: your access to \`prod-db-write\` was extended by 30m`);
    expect(JSON.stringify(told.args.blocks)).toContain(`<!date^${Math.floor(after.getTime() / 1000)}^`);
    expect((await auditOf(id, 'request.extended'))[0]?.details).toMatchObject({ approvers: [users.bob] });

    // The expiry moved, the card lost its buttons, and the grant's own messages show the new end.
    const job = await h.bot.queues.revoke.getJob(jobIds.expire(id, after));
    expect(await job?.getState()).toBe('delayed');
    await expect.poll(() => buttonsIn(h.fake.message(card.channel, card.ts)?.blocks)).toEqual([]);
    expect(h.fake.message(card.channel, card.ts)?.text).toContain('(approved)');
    const unix = `<!date^${Math.floor(after.getTime() / 1000)}^`;
    await expect
      .poll(() => h.fake.message(String(grantDm.args.channel), String(grantDm.result.ts))?.text)
      .toContain(unix);
    await h.fake.waitFor(
      'chat.postMessage',
      (c) => c.args.channel === securityChannel && String(c.args.text).startsWith(`request.extended ${id}`),
    );

    // Carol's card is stale now: her click changes nothing and shows where it stands.
    const carolCard = await extensionCard(extensionId, users.carol);
    await h.click(users.carol, extensionActionIds.approve, extensionId, carolCard);
    await clickReply(`${extensionId} is already approved`);
    await expect.poll(() => buttonsIn(h.fake.message(carolCard.channel, carolCard.ts)?.blocks)).toEqual([]);
    expect((await requestRow(id)).expiresAt).toEqual(after);
    await h.slash(users.alice, `release ${id}`);
  });

  it('refuse a frozen approver, as for the request itself, audited, and leave the extension pending', async () => {
    const id = await grant('prod-db-write', '1h');
    const extensionId = extensionIdIn(await extend(users.alice, `${id} 30m`));
    const card = await extensionCard(extensionId, users.bob);
    await h.slash(users.sec, `freeze <@${users.bob}> INC-900 laptop stolen`);
    try {
      await h.click(users.bob, extensionActionIds.approve, extensionId, card);
      await clickReply('You are frozen (INC-900 laptop stolen)');
      expect((await extensionsOf(id)).map((e) => e.state)).toEqual(['pending']);
      const refused = await auditOf(id, 'approval.refused');
      expect(refused.map((e) => e.actor)).toEqual([users.bob]);
    } finally {
      await h.slash(users.sec, `unfreeze <@${users.bob}>`);
    }
    await h.slash(users.alice, `release ${id}`);
  });

  it('is denied with a reason the requester is shown; the end stays, and asking again works', async () => {
    const id = await grant('prod-db-write', '1h');
    const before = (await requestRow(id)).expiresAt as Date;
    const extensionId = extensionIdIn(await extend(users.alice, `${id} 1h`));
    const card = await extensionCard(extensionId, users.bob);

    await h.click(users.bob, extensionActionIds.deny, extensionId, card);
    const opened = await h.fake.waitFor('views.open', (c) => {
      const view = c.args.view as { callback_id: string; private_metadata: string };
      return (
        c.ok && view.callback_id === callbackIds.extensionDeny && view.private_metadata.includes(extensionId)
      );
    });
    const metadata = JSON.parse((opened.args.view as { private_metadata: string }).private_metadata);
    expect(metadata).toEqual({ extensionId, channel: card.channel, ts: card.ts });

    const tooShort = await h.submitView(users.bob, callbackIds.extensionDeny, metadata, reasonValues('no'));
    expect(JSON.parse(tooShort.body)).toMatchObject({ response_action: 'errors' });
    expect((await extensionsOf(id))[0]?.state).toBe('pending');

    const submitted = await h.submitView(
      users.bob,
      callbackIds.extensionDeny,
      metadata,
      reasonValues('the migration window closes at 18:00'),
    );
    expect(submitted).toMatchObject({ status: 200, body: '' });
    expect((await extensionsOf(id))[0]).toMatchObject({
      state: 'denied',
      decidedBy: users.bob,
      endReason: 'the migration window closes at 18:00',
    });
    expect((await requestRow(id)).expiresAt).toEqual(before);
    const told = await h.dmTo(users.alice, `(\`${extensionId}\`) was denied by <@${users.bob}>`);
    expect(JSON.stringify(told.args.blocks)).toContain('the migration window closes at 18:00');
    expect((await auditOf(id, 'extension.denied'))[0]).toMatchObject({ actor: users.bob });
    await expect.poll(() => buttonsIn(h.fake.message(card.channel, card.ts)?.blocks)).toEqual([]);

    const again = await extend(users.alice, `${id} 15m`);
    expect(extensionIdIn(again)).not.toBe(extensionId);
    expect((await extensionsOf(id)).map((e) => e.state)).toEqual(['denied', 'pending']);
    await h.slash(users.alice, `release ${id}`);
  });

  it('asks level 2 only once level 1 has approved, and each person once', async () => {
    const id = await grant('prod-db-two-level', '30m', [users.bob, users.dave]);
    const before = (await requestRow(id)).expiresAt as Date;
    const extensionId = extensionIdIn(await extend(users.alice, `${id} 10m`));

    const bobCard = await extensionCard(extensionId, users.bob);
    await extensionCard(extensionId, users.carol);
    expect(sentCardTo(extensionId, users.dave)).toBe(false);

    const refusals = (await auditOf(id, 'approval.refused')).length;
    await h.click(users.dave, extensionActionIds.approve, extensionId);
    await clickReply('not an approver for this extension at level 1');
    expect(await auditOf(id, 'approval.refused')).toHaveLength(refusals + 1);

    await h.click(users.bob, extensionActionIds.approve, extensionId, bobCard);
    await clickReply(`Your approval of \`${extensionId}\` is recorded (first level)`);
    expect((await requestRow(id)).expiresAt).toEqual(before);
    const daveCard = await extensionCard(extensionId, users.dave);
    const carolCards = h.fake
      .callsTo('chat.postMessage')
      .filter((c) => c.args.channel === `D${users.carol}` && String(c.args.text).includes(extensionId));
    expect(carolCards).toHaveLength(1); // asked at level 1 already; her buttons still work

    await h.click(users.dave, extensionActionIds.approve, extensionId, daveCard);
    await clickReply(`You approved \`${extensionId}\``);
    expect((await requestRow(id)).expiresAt).toEqual(plus(before, 600));
    expect((await auditOf(id, 'request.extended'))[0]?.details).toMatchObject({
      approvers: [users.bob, users.dave],
    });
    await h.slash(users.alice, `release ${id}`);
  });

  it('apply once when approvers click at the same time, or one clicks twice', async () => {
    const id = await grant('prod-db-write', '1h');
    const before = (await requestRow(id)).expiresAt as Date;
    const extensionId = extensionIdIn(await extend(users.alice, `${id} 20m`));
    const bobCard = await extensionCard(extensionId, users.bob);
    const carolCard = await extensionCard(extensionId, users.carol);
    const answered = h.fake.responses.length;

    await Promise.all([
      h.click(users.bob, extensionActionIds.approve, extensionId, bobCard),
      h.click(users.bob, extensionActionIds.approve, extensionId, bobCard),
      h.click(users.carol, extensionActionIds.approve, extensionId, carolCard),
    ]);
    await expect.poll(() => h.fake.responses.length - answered).toBe(3);
    const texts = h.fake.responses.slice(answered).map((r) => String(r.body.text));
    expect(texts.filter((t) => t.includes('You approved'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('already approved'))).toHaveLength(2);

    expect((await requestRow(id)).expiresAt).toEqual(plus(before, 1_200));
    expect(await h.db.prisma.extensionApproval.count({ where: { extensionId } })).toBe(1);
    expect(await auditOf(id, 'request.extended')).toHaveLength(1);
    expect(await auditOf(id, 'extension.approved')).toHaveLength(1);
    await h.slash(users.alice, `release ${id}`);
  });

  it('is cancelled, not applied, when the grant ended while it waited', async () => {
    const id = await grant('prod-db-write', '1h');
    const extensionId = extensionIdIn(await extend(users.alice, `${id} 30m`));
    const card = await extensionCard(extensionId, users.bob);
    await h.slash(users.alice, `release ${id}`);

    await h.click(users.bob, extensionActionIds.approve, extensionId, card);
    await clickReply(`the extension ${extensionId} no longer applies`);
    const [extension] = await extensionsOf(id);
    expect(extension?.state).toBe('cancelled');
    expect((await requestRow(id)).state).toBe('released');
    expect(await auditOf(id, 'request.extended')).toHaveLength(0);
    expect(await auditOf(id, 'extension.cancelled')).toHaveLength(1);
  });
});

describe('the policy refuses', () => {
  it('an extension in the scope of a standing freeze, and says why', async () => {
    const id = await grant('frozen-db', '1h');
    const before = (await requestRow(id)).expiresAt as Date;
    // As if the freeze were just made and its sweep had not reached this grant yet.
    const freeze = await h.db.prisma.freeze.create({
      data: { scope: 'resource', target: 'frozen-db', reason: 'INC-9 credential leak', createdBy: users.sec },
    });
    try {
      const reply = await extend(users.alice, `${id} 30m`);
      expect(reply).toContain('denied automatically by a freeze');
      expect(reply).toContain('INC-9 credential leak');
      expect((await extensionsOf(id))[0]).toMatchObject({
        state: 'denied',
        decisionRule: 'freeze',
        decidedBy: 'policy',
      });
      expect((await requestRow(id)).expiresAt).toEqual(before);
      expect((await auditOf(id, 'extension.denied'))[0]).toMatchObject({ actor: 'policy' });
      expect(sentCardTo(extensionIdIn(reply), users.bob)).toBe(false);
    } finally {
      await h.db.prisma.freeze.update({ where: { id: freeze.id }, data: { liftedAt: new Date() } });
    }
  });
});

describe('refusals change nothing', () => {
  async function counts(requestId: string) {
    const [extensions, audit] = await Promise.all([
      h.db.prisma.extension.count({ where: { requestId } }),
      h.db.prisma.auditEvent.count({ where: { requestId } }),
    ]);
    return { extensions, audit, expiresAt: (await requestRow(requestId)).expiresAt };
  }

  it('someone else, bad durations, unknown ids', async () => {
    const id = await grant('prod-db-write', '1h');
    const before = await counts(id);
    expect(await extend(users.bob, `${id} 30m`)).toContain(`Only the requester can extend ${id}`);
    expect(await extend(users.alice, `${id} 1x`)).toContain('"1x" is not a duration');
    expect(await extend(users.alice, `${id} 0s`)).toContain('"0s" is not a duration');
    expect(await extend(users.alice, `${id}`)).toContain('Usage: `/jit extend <id> <duration>`');
    expect(await extend(users.alice, 'JIT-ZZZZZZ 30m')).toContain('No request JIT-ZZZZZZ');
    expect(await counts(id)).toEqual(before);
    await h.slash(users.alice, `release ${id}`);
  });

  it('a grant that is not active: still pending, or already over', async () => {
    const pending = await h.request(users.alice, 'prod-db-write', '1h');
    expect(await extend(users.alice, `${pending} 30m`)).toContain(
      `${pending} cannot be extended: it is waiting for approval`,
    );
    await h.slash(users.alice, `release ${pending}`);

    const released = await grant('prod-db-write', '1h');
    await h.slash(users.alice, `release ${released}`);
    const before = await counts(released);
    expect(await extend(users.alice, `${released} 30m`)).toContain(
      `${released} cannot be extended: it is released`,
    );
    expect(await counts(released)).toEqual(before);
    expect(await h.db.prisma.extension.count({ where: { requestId: pending } })).toBe(0);
  });

  it('a second ask while one waits', async () => {
    const id = await grant('prod-db-write', '1h');
    const first = extensionIdIn(await extend(users.alice, `${id} 30m`));
    const before = await counts(id);
    const second = await extend(users.alice, `${id} 1h`);
    expect(second).toContain('already asked for 30m more');
    expect(second).toContain(first);
    expect(await counts(id)).toEqual(before);
    await h.slash(users.alice, `release ${id}`);
  });
});

describe('the Extend button on the grant message', () => {
  it('opens a form for the requester only, and its submission asks the approvers', async () => {
    const id = await grant('prod-db-write', '1h');
    const dm = await h.dmTo(users.alice, `${id}\`: you have`);
    const place = { channel: String(dm.args.channel), ts: String(dm.result.ts) };
    expect(buttonsIn(dm.args.blocks)).toEqual([grantActionIds.release, grantActionIds.extend]);

    const opened = h.fake.callsTo('views.open').length;
    await h.click(users.bob, grantActionIds.extend, id, place);
    await clickReply(`Only the requester can extend ${id}`);
    expect(h.fake.callsTo('views.open')).toHaveLength(opened);

    await h.click(users.alice, grantActionIds.extend, id, place);
    const modal = await h.fake.waitFor('views.open', (c) => {
      const view = c.args.view as { callback_id: string; private_metadata: string };
      return c.ok && view.callback_id === callbackIds.extend && view.private_metadata.includes(id);
    });
    expect(JSON.stringify(modal.args.view)).toContain('`prod-db-write`');

    const values = (duration: string, reason: string | null) => ({
      duration: { duration: { type: 'plain_text_input', value: duration } },
      reason: { reason: { type: 'plain_text_input', value: reason } },
    });
    const bad = await h.submitView(users.alice, callbackIds.extend, { requestId: id }, values('soon', null));
    expect(JSON.parse(bad.body)).toMatchObject({
      response_action: 'errors',
      errors: { duration: expect.any(String) },
    });
    expect(bad.body).toContain('not a duration');
    expect(await h.db.prisma.extension.count({ where: { requestId: id } })).toBe(0);

    const submitted = await h.submitView(
      users.alice,
      callbackIds.extend,
      { requestId: id },
      values('20m', 'the backfill is slower than planned'),
    );
    const answer = JSON.parse(submitted.body);
    expect(answer).toMatchObject({ response_action: 'update' });
    expect(JSON.stringify(answer.view)).toContain('Asked the approvers for 20m more');
    const [extension] = await extensionsOf(id);
    expect(extension).toMatchObject({
      state: 'pending',
      extraSec: 1_200,
      reason: 'the backfill is slower than planned',
    });
    const card = await extensionCard(extension?.id as string, users.bob);
    expect(JSON.stringify(card.args.blocks)).toContain('the backfill is slower than planned');
    await h.slash(users.alice, `release ${id}`);
  });
});
