import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantActionIds } from '../../src/slack/views/grant-card.js';
import { callbackIds } from '../../src/slack/views/modals.js';
import { withAdminClient } from '../support/db.js';
import type { FakeSlackCall } from '../support/fake-slack.js';
import { grantedRequest } from '../support/granted-request.js';
import { type Harness, securityChannel, signingSecret, startHarness, users } from '../support/harness.js';
import { postViewSubmission } from '../support/slack-signing.js';

/**
 * The buttons on grants: Revoke on the security channel's card (admins, behind a confirmation and
 * a reason), Release now on the requester's DM. Driven through Slack's payloads against real
 * PostgreSQL roles.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

interface Posted {
  channel: string;
  ts: string;
}

const grant = (duration = '1h') =>
  grantedRequest(h, { requester: users.alice, resource: 'prod-db-write', duration });

const stateOf = async (id: string) =>
  (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state;

const buttonsIn = (blocks: unknown): string[] =>
  [...JSON.stringify(blocks ?? []).matchAll(/"action_id":"(jit\.[a-z_]+)"/g)].map((m) => m[1] as string);

/**
 * The request's card in the security channel (posted with its first audit event, updated in
 * place), once it shows the grant: its blocks then carry the Revoke button.
 */
/** The request's card, once it shows the Revoke button (unless `active` is false: a short grant may be over first). */
async function securityCard(id: string, active = true): Promise<{ args: { blocks: unknown } } & Posted> {
  const call = await h.fake.waitFor(
    'chat.postMessage',
    (c) =>
      c.ok &&
      c.args.channel === securityChannel &&
      c.args.thread_ts === undefined &&
      String(c.args.text).startsWith(`Grant ${id}`),
  );
  const ts = String(call.result.ts);
  if (active) {
    await expect
      .poll(() => buttonsIn(h.fake.message(securityChannel, ts)?.blocks), { timeout: 15_000 })
      .toContain(grantActionIds.revoke);
  }
  return { args: { blocks: h.fake.message(securityChannel, ts)?.blocks }, channel: securityChannel, ts };
}

/** The requester's grant DM, with its Release now button. */
async function grantDm(id: string): Promise<Posted> {
  const call = await h.dmTo(users.alice, `${id}\`: you have`);
  return { channel: String(call.args.channel), ts: String(call.result.ts) };
}

/** The card as it stands now, once it shows `state` and no button any more. */
async function cardEnded(card: Posted, state: string): Promise<string> {
  await expect
    .poll(() => {
      const now = h.fake.message(card.channel, card.ts);
      return [now?.text.includes(`(${state})`), buttonsIn(now?.blocks)];
    })
    .toEqual([true, []]);
  return JSON.stringify(h.fake.message(card.channel, card.ts)?.blocks);
}

function clickReply(id: string, words: string) {
  return h.fake.waitForResponse(
    (r) =>
      r.id.startsWith('click-') && String(r.body.text).includes(id) && String(r.body.text).includes(words),
  );
}

/** Opens the revoke modal as the security team does, and returns the view Slack opened. */
async function openRevokeModal(id: string, card: Posted): Promise<FakeSlackCall> {
  await h.click(users.sec, grantActionIds.revoke, id, card);
  return h.fake.waitFor('views.open', (c) => {
    const view = c.args.view as { callback_id: string; private_metadata: string };
    return c.ok && view.callback_id === callbackIds.revoke && view.private_metadata.includes(id);
  });
}

const reasonValues = (reason: string) => ({
  reason: { reason: { type: 'plain_text_input', value: reason } },
});

describe('the grant card in the security channel', () => {
  it('is posted when access is granted, with a Revoke button behind a confirmation', async () => {
    const id = await grant();
    const card = await securityCard(id);
    const blocks = JSON.stringify(card.args.blocks);
    expect(blocks).toContain(`<@${users.alice}>`);
    expect(blocks).toContain('`prod-db-write`');
    expect(blocks).toContain(h.login('alice'));
    expect(blocks).toContain('investigating INC-42');
    const [revoke] = (card.args.blocks as Array<{ type: string; elements?: Array<Record<string, unknown>> }>)
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? []);
    expect(revoke).toMatchObject({ action_id: grantActionIds.revoke, value: id, style: 'danger' });
    expect(revoke?.confirm).toMatchObject({ confirm: { text: 'Revoke' }, deny: { text: 'Cancel' } });
    expect(JSON.stringify(revoke?.confirm)).toContain(`<@${users.alice}>`);

    const recorded = await h.db.prisma.slackMessage.findMany({ where: { requestId: id } });
    expect(recorded.map((m) => [m.purpose, m.channel]).sort()).toEqual([
      ['approver', `D${users.bob}`],
      ['approver', `D${users.carol}`],
      ['requester', `D${users.alice}`],
      ['security', securityChannel],
    ]);
    await h.slash(users.alice, `release ${id}`);
    await cardEnded(card, 'released');
  });

  it('revokes through the button and the reason modal: target, database, requester and card', async () => {
    const id = await grant();
    const card = await securityCard(id);
    const dm = await grantDm(id);

    const modal = await openRevokeModal(id, card);
    expect(JSON.stringify(modal.args.view)).toContain(`<@${users.alice}>`);
    const submitted = await h.submitView(
      users.sec,
      callbackIds.revoke,
      { requestId: id },
      reasonValues('credentials leaked in a paste'),
    );

    expect(submitted).toMatchObject({ status: 200, body: '' }); // the modal closes
    expect(await stateOf(id)).toBe('revoked');
    expect(await h.isMember(h.login('alice'))).toBe(false);
    const told = await h.dmTo(users.alice, `${id}\`: your access to \`prod-db-write\` was revoked`);
    expect(JSON.stringify(told.args.blocks)).toContain('credentials leaked in a paste');
    expect(await cardEnded(card, 'revoked')).toContain('credentials leaked in a paste');
    await expect.poll(() => buttonsIn(h.fake.message(dm.channel, dm.ts)?.blocks)).toEqual([]);
    expect(h.fake.message(dm.channel, dm.ts)?.text).toContain('was revoked');
    const [event] = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id, action: 'request.revoked' },
    });
    expect(event).toMatchObject({ actor: users.sec, details: { reason: 'credentials leaked in a paste' } });
  });

  it('refuses anyone outside the security team, audits the attempt, and changes nothing', async () => {
    const id = await grant();
    const card = await securityCard(id);
    const opened = h.fake.callsTo('views.open').length;

    await h.click(users.bob, grantActionIds.revoke, id, card);
    const refusal = await h.fake.waitForResponse(
      (r) => r.id.startsWith('click-') && String(r.body.text).includes('Only the security team'),
    );
    expect(refusal.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(h.fake.callsTo('views.open').length).toBe(opened);
    const refused = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id, action: 'admin.refused' },
    });
    expect(refused).toMatchObject([{ actor: users.bob, details: { attempted: `revoke ${id}` } }]);

    // A submission forged without the button is refused the same way.
    const forged = await h.submitView(
      users.bob,
      callbackIds.revoke,
      { requestId: id },
      reasonValues('because I can'),
    );
    expect(JSON.parse(forged.body)).toMatchObject({
      response_action: 'errors',
      errors: { reason: expect.stringContaining('Only the security team') },
    });

    expect(await stateOf(id)).toBe('active');
    expect(await h.isMember(h.login('alice'))).toBe(true);
    expect(buttonsIn(h.fake.message(card.channel, card.ts)?.blocks)).toEqual([grantActionIds.revoke]);
    await h.slash(users.alice, `release ${id}`);
  });

  it('shows a missing reason inline and keeps the grant', async () => {
    const id = await grant();
    const response = await h.submitView(users.sec, callbackIds.revoke, { requestId: id }, reasonValues(' '));
    expect(JSON.parse(response.body)).toMatchObject({
      response_action: 'errors',
      errors: { reason: expect.stringContaining('reason is required') },
    });
    const unreadable = await h.submitView(
      users.sec,
      callbackIds.revoke,
      { requestId: 'nonsense' },
      reasonValues('x y z'),
    );
    expect(JSON.parse(unreadable.body)).toMatchObject({ response_action: 'errors' });
    expect(await stateOf(id)).toBe('active');
    await h.slash(users.alice, `release ${id}`);
  });

  it('revokes once when the reason is submitted twice at the same moment', async () => {
    const id = await grant();
    const card = await securityCard(id);
    const values = reasonValues('double submit');

    const answers = await Promise.all([
      h.submitView(users.sec, callbackIds.revoke, { requestId: id }, values),
      h.submitView(users.sec, callbackIds.revoke, { requestId: id }, values),
    ]);

    const bodies = answers.map((a) => a.body).sort();
    expect(bodies[0]).toBe(''); // one closes: it revoked
    expect(JSON.parse(bodies[1] as string)).toMatchObject({ response_action: 'update' });
    expect(bodies[1]).toContain('already revoked');
    expect(await h.db.prisma.auditEvent.count({ where: { requestId: id, action: 'request.revoked' } })).toBe(
      1,
    );
    await cardEnded(card, 'revoked');
    await h.dmTo(users.alice, `${id}\`: your access to \`prod-db-write\` was revoked`);
    const notices = h.fake
      .callsTo('chat.postMessage')
      .filter((c) => String(c.args.text).includes(`${id}\`: your access to \`prod-db-write\` was revoked`));
    expect(notices).toHaveLength(1);
  });

  it('says so, without a modal, when the grant has already ended, and shows the final state', async () => {
    const id = await grant('1s');
    // Its Revoke button may come and go before the test sees it: a click on an old copy is the point.
    const card = await securityCard(id, false);
    await h.dmTo(users.alice, `${id}\`: your access to \`prod-db-write\` has expired`);
    const opened = h.fake.callsTo('views.open').length;
    const before = await h.db.prisma.auditEvent.count({ where: { requestId: id } });

    await h.click(users.sec, grantActionIds.revoke, id, card);

    await clickReply(id, 'already expired; nothing to take back');
    expect(h.fake.callsTo('views.open').length).toBe(opened);
    await cardEnded(card, 'expired');
    // A modal opened just before the expiry: its submission says the same and changes nothing.
    const late = await h.submitView(
      users.sec,
      callbackIds.revoke,
      { requestId: id },
      reasonValues('too late'),
    );
    expect(JSON.parse(late.body)).toMatchObject({ response_action: 'update' });
    expect(late.body).toContain('already expired');
    expect(await stateOf(id)).toBe('expired');
    expect(await h.db.prisma.auditEvent.count({ where: { requestId: id } })).toBe(before);
  });

  it('answers in time while the target is slow, and shows the outcome when it comes', async () => {
    const id = await grant();
    const modal = await openRevokeModal(id, await securityCard(id));
    const viewId = String((modal.result.view as { id: string }).id);

    await withAdminClient(async (target) => {
      // An uncommitted revoke of the same membership makes the bot's revoke wait for it.
      await target.query('BEGIN');
      await target.query(`REVOKE "${h.role}" FROM "${h.login('alice')}"`);
      const submitted = await postViewSubmission(h.url, signingSecret, {
        user_id: users.sec,
        callback_id: callbackIds.revoke,
        private_metadata: JSON.stringify({ requestId: id }),
        state_values: reasonValues('slow target'),
        view_id: viewId,
      });
      expect(submitted.status).toBe(200);
      expect(JSON.parse(submitted.body)).toMatchObject({ response_action: 'update' });
      expect(submitted.body).toContain('slow to answer');
      expect(await stateOf(id)).toBe('active');
      await target.query('ROLLBACK');
    });

    const outcome = await h.fake.waitFor('views.update', (c) => c.ok && c.args.view_id === viewId);
    expect(JSON.stringify(outcome.args.view)).toContain(`Revoked 1: \`${id}\``);
    expect(await stateOf(id)).toBe('revoked');
    expect(await h.isMember(h.login('alice'))).toBe(false);
  });
});

describe('Release now on the requester’s grant message', () => {
  it('ends the grant for the requester only, and a second click says it is already released', async () => {
    const id = await grant();
    const dm = await grantDm(id);
    expect(buttonsIn(h.fake.message(dm.channel, dm.ts)?.blocks)).toEqual([
      grantActionIds.release,
      grantActionIds.extend,
    ]);
    const card = await securityCard(id);

    await h.click(users.bob, grantActionIds.release, id, dm);
    const refusal = await clickReply(id, 'Only the requester');
    expect(refusal.body.response_type).toBe('ephemeral');
    expect(await stateOf(id)).toBe('active');
    expect(await h.isMember(h.login('alice'))).toBe(true);

    await h.click(users.alice, grantActionIds.release, id, dm);
    const released = await clickReply(id, 'is now released');
    expect(released.body.response_type).toBe('ephemeral');
    expect(await stateOf(id)).toBe('released');
    expect(await h.isMember(h.login('alice'))).toBe(false);
    await expect.poll(() => buttonsIn(h.fake.message(dm.channel, dm.ts)?.blocks)).toEqual([]);
    expect(h.fake.message(dm.channel, dm.ts)?.text).toContain('you released');
    await cardEnded(card, 'released');

    await h.click(users.alice, grantActionIds.release, id, dm);
    await clickReply(id, 'already released');
    expect(await h.db.prisma.auditEvent.count({ where: { requestId: id, action: 'request.released' } })).toBe(
      1,
    );
  });
});
