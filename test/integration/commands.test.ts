import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackIds, requestFields } from '../../src/slack/views/modals.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, signingSecret, startHarness, users } from '../support/harness.js';
import {
  postBlockAction,
  postSigned,
  postSlashCommand,
  signSlackRequest,
  slashCommandBody,
} from '../support/slack-signing.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function counts() {
  const [requests, audit] = await Promise.all([
    h.db.prisma.accessRequest.count(),
    h.db.prisma.auditEvent.count(),
  ]);
  return { requests, audit };
}

describe('bad input gets a clear ephemeral message and writes nothing', () => {
  it.each([
    [
      'request prod-db-nope 1h fixing things',
      /Unknown resource "prod-db-nope"\. Available: prod-db-two-level, prod-db-write/,
    ],
    ['request prod-db-write 5h fixing things', /longer than the maximum of 4h/],
    ['request prod-db-write 1x fixing things', /"1x" is not a duration/],
    ['request prod-db-write 1h', /needs a resource, a duration and a reason/],
    ['request prod-db-write 1h ok', /reason is required/],
    ['request prod-db-write 0s fixing things', /"0s" is not a duration/],
    // Names of Object.prototype members are no resources, nor an internal error.
    ...['constructor', '__proto__', 'toString', 'hasOwnProperty'].map((name): [string, RegExp] => [
      `request ${name} 1h fixing things`,
      new RegExp(`Unknown resource "${name.toLowerCase()}"`),
    ]),
    ['release nonsense', /needs one request id/],
    ['release JIT-ZZZZZZ', /No request JIT-ZZZZZZ/],
    ['frobnicate', /Unknown command "frobnicate"/],
    ['\u0000\u0001<!channel> %%%', /Unknown command/],
  ])('/jit %s', async (text, expected) => {
    const before = await counts();
    const { reply } = await h.slash(users.alice, text);
    expect(reply.body.response_type).toBe('ephemeral');
    expect(String(reply.body.text)).toMatch(expected);
    expect(await counts()).toEqual(before);
  });

  it.each(['constructor', '__proto__'])(
    '/jit revoke %s by an admin finds no resource of that name',
    async (name) => {
      const before = await counts();
      const { reply } = await h.slash(users.sec, `revoke ${name} compromised host`);
      // `constructor` is a well-formed name the policy does not have; `__proto__` is no name at all.
      expect(String(reply.body.text)).toMatch(/Unknown resource "constructor"|needs a target/);
      expect(String(reply.body.text)).not.toMatch(/error reference|something went wrong/i);
      expect(await counts()).toEqual(before);
    },
  );

  it('refuses a requester without a database identity before anything is written', async () => {
    h.fake.addUser({ id: 'UNOMAIL1', name: 'nomail' });
    const before = await counts();
    const { reply } = await h.slash('UNOMAIL1', 'request prod-db-write 1h fixing INC-7');
    expect(String(reply.body.text)).toMatch(/no email/);
    expect(await counts()).toEqual(before);
  });
});

describe('malformed interactions', () => {
  it('acknowledges and ignores a button whose value is not a request id', async () => {
    const before = await counts();
    const res = await postBlockAction(h.url, signingSecret, {
      user_id: users.bob,
      action_id: actionIds.approve,
      value: "'; DROP TABLE approvals; --",
    });
    expect(res.status).toBe(200);
    expect(await counts()).toEqual(before);
  });

  it('refuses a form whose private metadata was tampered with', async () => {
    const before = await counts();
    const res = await h.submitView(
      users.bob,
      callbackIds.deny,
      { requestId: 'not-an-id' },
      { reason: { reason: { type: 'plain_text_input', value: 'x' } } },
    );
    expect(JSON.parse(res.body)).toMatchObject({ response_action: 'errors' });
    expect(await counts()).toEqual(before);
  });
});

describe('list, pending, help', () => {
  it('lists my open requests and the ones waiting for me', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '45m', 'rotating keys INC-9');
    const mine = await h.slash(users.alice, 'list');
    expect(String(mine.reply.body.text)).toContain(id);
    expect(String(mine.reply.body.text)).toContain('45m');

    const forBob = await h.slash(users.bob, 'pending');
    expect(String(forBob.reply.body.text)).toContain(id);
    const forEve = await h.slash(users.eve, 'pending');
    expect(String(forEve.reply.body.text)).toContain('Nothing is waiting');
    const forAlice = await h.slash(users.alice, 'pending');
    expect(String(forAlice.reply.body.text)).not.toContain(id);

    await h.slash(users.alice, `release ${id}`);
    const after = await h.slash(users.alice, 'list');
    expect(String(after.reply.body.text)).not.toContain(id);
  });

  it('explains every command in /jit help', async () => {
    const { reply } = await h.slash(users.eve, 'help');
    for (const verb of [
      'request',
      'list',
      'pending',
      'release',
      'extend',
      'revoke',
      'freeze',
      'unfreeze',
      'audit',
    ]) {
      expect(String(reply.body.text)).toContain(`/jit ${verb}`);
    }
  });
});

describe('the request modal', () => {
  it('opens on /jit and creates a request on submit', async () => {
    // The modal opens instead of a reply.
    const http = await postSlashCommand(h.url, signingSecret, {
      text: '',
      user_id: users.alice,
      response_url: h.fake.responseUrl('modal'),
    });
    expect(http.status).toBe(200);
    const opened = await h.fake.waitFor(
      'views.open',
      (c) => (c.args.view as { callback_id?: string }).callback_id === callbackIds.request,
    );
    expect(opened.ok).toBe(true);
    const view = opened.args.view as { private_metadata: string };
    const metadata = JSON.parse(view.private_metadata);

    const values = (duration: string, reason: string) => ({
      [requestFields.resource.block]: {
        [requestFields.resource.action]: {
          type: 'static_select',
          selected_option: { value: 'prod-db-write' },
        },
      },
      [requestFields.duration.block]: {
        [requestFields.duration.action]: { type: 'plain_text_input', value: duration },
      },
      [requestFields.reason.block]: {
        [requestFields.reason.action]: { type: 'plain_text_input', value: reason },
      },
    });

    const before = await counts();
    const bad = await h.submitView(
      users.alice,
      callbackIds.request,
      metadata,
      values('ages', 'checking replication lag'),
    );
    expect(JSON.parse(bad.body)).toMatchObject({
      response_action: 'errors',
      errors: { duration: expect.stringContaining('not a duration') },
    });
    expect(await counts()).toEqual(before);

    const ok = await h.submitView(
      users.alice,
      callbackIds.request,
      metadata,
      values('', 'checking replication lag'),
    );
    expect(ok.status).toBe(200);
    const confirmation = await h.fake.waitFor(
      'chat.postEphemeral',
      (c) => c.args.user === users.alice && String(c.args.text).includes('sent to its approvers'),
    );
    const id = /JIT-[0-9A-Z]{6}/.exec(String(confirmation.args.text))?.[0] as string;
    // No duration given: the resource default (1h) applies.
    expect(await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({
      durationSec: 3600,
      state: 'pending',
    });
    await h.slash(users.alice, `release ${id}`);
  });
});

describe('request signatures', () => {
  it('rejects a wrong signature and a stale timestamp, and writes nothing', async () => {
    const before = await counts();
    const body = slashCommandBody({
      text: 'request prod-db-write 1h forged',
      user_id: users.alice,
      response_url: h.fake.responseUrl('forged'),
    });
    const wrong = await postSigned(h.url, 'not-the-secret', body, 'application/x-www-form-urlencoded');
    expect(wrong.status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    const old = await fetch(h.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...signSlackRequest(signingSecret, body, stale),
      },
      body,
    });
    expect(old.status).toBe(401);
    expect(await counts()).toEqual(before);
  });
});

describe('health', () => {
  it('answers /healthz, /readyz and /metrics', async () => {
    const base = h.url.replace('/slack/events', '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { database: 'ok', redis: 'ok' } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/jit_requests\{state="/);
    expect(metrics).toContain('jit_queue_jobs');
  });
});
