import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { blockKitViolations, viewViolations } from './block-kit-limits.js';
import { type FakeSlack, RESPONSE_URL, startFakeSlack } from './fake-slack.js';
import { silentLogger } from './silent-logger.js';
import { newTriggerId } from './slack-workspace.js';

const { WebClient, ErrorCode } = webApi;

function clientFor(fake: FakeSlack, token: string | null = fake.token): webApi.WebClient {
  return new WebClient(token ?? undefined, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: silentLogger,
  });
}

function section(text: string) {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function modal(title: string) {
  return { type: 'modal', title: { type: 'plain_text', text: title }, blocks: [section('Hi')] };
}

/** The Slack error a rejected WebClient call carries, for `expect(...).rejects.toMatchObject`. */
function platformError(error: string) {
  return { code: ErrorCode.PlatformError, data: expect.objectContaining({ ok: false, error }) };
}

describe('fake Slack Web API, driven by the real WebClient', () => {
  let fake: FakeSlack;
  let client: webApi.WebClient;

  beforeAll(async () => {
    fake = await startFakeSlack();
    client = clientFor(fake);
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('records a valid postMessage with decoded blocks and answers with increasing ts', async () => {
    const first = await client.chat.postMessage({
      channel: 'C1',
      text: 'hi',
      blocks: [section('hi')],
    });
    const second = await client.chat.postMessage({ channel: 'C1', text: 'again' });

    expect(first.ok).toBe(true);
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    const [call] = fake.callsTo('chat.postMessage');
    expect(call).toMatchObject({
      ok: true,
      args: { channel: 'C1', text: 'hi', blocks: [section('hi')] },
    });
    expect(fake.message('C1', first.ts ?? '')?.text).toBe('hi');
  });

  it('answers a DM by user id on the channel conversations.open gives for that user', async () => {
    const opened = await client.conversations.open({ users: 'U1' });
    const posted = await client.chat.postMessage({ channel: 'U1', text: 'hello' });

    expect(opened.channel?.id).toBe('DU1');
    expect(posted.channel).toBe('DU1');
  });

  it('rejects a wrong token with invalid_auth and a missing one with not_authed', async () => {
    await expect(clientFor(fake, 'xoxb-wrong').auth.test()).rejects.toMatchObject(
      platformError('invalid_auth'),
    );
    await expect(clientFor(fake, null).auth.test()).rejects.toMatchObject(platformError('not_authed'));
    expect(fake.calls.map((c) => c.error)).toEqual(['invalid_auth', 'not_authed']);
  });

  it('answers auth.test with the bot identity Bolt needs', async () => {
    await expect(client.auth.test()).resolves.toMatchObject({ user_id: 'UBOT', bot_id: 'BBOT' });
  });

  it('answers an unknown method with HTTP 404 unknown_method', async () => {
    await expect(client.apiCall('chat.postMesage', { channel: 'C1' })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 404,
      body: { ok: false, error: 'unknown_method' },
    });
  });

  it('rejects a 3001-character section with invalid_blocks and a json-pointer', async () => {
    const call = client.chat.postMessage({
      channel: 'C1',
      text: 'x',
      blocks: [section('a'.repeat(3001))],
    });

    await expect(call).rejects.toMatchObject({
      data: {
        error: 'invalid_blocks',
        response_metadata: {
          messages: ['[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]'],
        },
      },
    });
    expect(fake.callsTo('chat.postMessage')[0]).toMatchObject({
      ok: false,
      error: 'invalid_blocks',
    });
  });

  it('accepts 50 blocks in a message and rejects 51', async () => {
    const blocks = Array.from({ length: 51 }, (_, i) => section(`line ${i}`));

    await expect(
      client.chat.postMessage({ channel: 'C1', text: 'x', blocks: blocks.slice(0, 50) }),
    ).resolves.toMatchObject({ ok: true });
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x', blocks })).rejects.toMatchObject(
      platformError('invalid_blocks'),
    );
  });

  it('rejects a 25-character modal title in views.open with invalid_arguments', async () => {
    const call = client.views.open({
      trigger_id: newTriggerId(),
      view: modal('a'.repeat(25)) as never,
    });

    await expect(call).rejects.toMatchObject({
      data: {
        error: 'invalid_arguments',
        response_metadata: {
          messages: ['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]'],
        },
      },
    });
  });

  it('lets a trigger_id open one view, and only while it is fresh', async () => {
    const trigger = newTriggerId();
    const opened = await client.views.open({
      trigger_id: trigger,
      view: modal('Request') as never,
    });

    expect(opened.view?.id).toMatch(/^V/);
    await expect(
      client.views.open({ trigger_id: trigger, view: modal('Again') as never }),
    ).rejects.toMatchObject(platformError('exchanged_trigger_id'));
    await expect(
      client.views.open({
        trigger_id: newTriggerId(Date.now() - 3500),
        view: modal('Late') as never,
      }),
    ).rejects.toMatchObject(platformError('expired_trigger_id'));
  });

  it('updates a view by id and refuses a stale hash', async () => {
    const opened = await client.views.open({
      trigger_id: newTriggerId(),
      view: modal('One') as never,
    });
    const id = opened.view?.id ?? '';
    const updated = await client.views.update({
      view_id: id,
      hash: opened.view?.hash,
      view: modal('Two') as never,
    });

    expect(updated.view?.title?.text).toBe('Two');
    await expect(
      client.views.update({ view_id: id, hash: opened.view?.hash, view: modal('Three') as never }),
    ).rejects.toMatchObject(platformError('hash_conflict'));
  });

  it('updates an existing message and refuses an unknown ts', async () => {
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'pending' });
    await client.chat.update({ channel: 'C1', ts: posted.ts ?? '', text: 'approved' });

    expect(fake.message('C1', posted.ts ?? '')?.text).toBe('approved');
    await expect(client.chat.update({ channel: 'C1', ts: '1.000001', text: 'x' })).rejects.toMatchObject(
      platformError('message_not_found'),
    );
  });

  it('answers users.info from the seeded directory', async () => {
    fake.addUser({
      id: 'U42',
      name: 'ada',
      email: 'ada@example.com',
      isRestricted: true,
      tz: 'Europe/Paris',
    });

    const info = await client.users.info({ user: 'U42' });
    const byEmail = await client.users.lookupByEmail({ email: 'ADA@example.com' });

    expect(info.user).toMatchObject({
      id: 'U42',
      name: 'ada',
      is_restricted: true,
      is_ultra_restricted: false,
      is_bot: false,
      tz: 'Europe/Paris',
      profile: { email: 'ada@example.com' },
    });
    expect(byEmail.user?.id).toBe('U42');
    await expect(client.users.info({ user: 'U404' })).rejects.toMatchObject(platformError('user_not_found'));
  });

  it('keeps user groups: list, replace members, refuse to empty or to add guests', async () => {
    fake.addUser({ id: 'UGUEST', isUltraRestricted: true });
    fake.setGroup('S1', ['U1', 'U2'], { handle: 'prod-admins' });

    await expect(client.usergroups.users.list({ usergroup: 'S1' })).resolves.toMatchObject({
      users: ['U1', 'U2'],
    });
    await client.usergroups.users.update({ usergroup: 'S1', users: 'U2,U3' });
    expect(fake.groupMembers('S1')).toEqual(['U2', 'U3']);
    await expect(client.usergroups.users.update({ usergroup: 'S1', users: '' })).rejects.toMatchObject(
      platformError('no_users_provided'),
    );
    await expect(
      client.usergroups.users.update({ usergroup: 'S1', users: 'U2,UGUEST' }),
    ).rejects.toMatchObject(platformError('invalid_users'));
    await expect(client.usergroups.users.list({ usergroup: 'S9' })).rejects.toMatchObject(
      platformError('no_such_subteam'),
    );
    const listed = await client.usergroups.list({ include_users: true });
    expect(listed.usergroups).toEqual([expect.objectContaining({ id: 'S1', handle: 'prod-admins' })]);
  });

  it('resolves waitFor on a call made after waiting started', async () => {
    const waiting = fake.waitFor('chat.postMessage', (c) => c.args.channel === 'C2');
    await client.chat.postMessage({ channel: 'C1', text: 'not this one' });
    await client.chat.postMessage({ channel: 'C2', text: 'this one' });

    await expect(waiting).resolves.toMatchObject({ args: { text: 'this one' } });
  });

  it('rejects waitFor after the timeout, listing the calls it saw', async () => {
    await client.auth.test();

    await expect(fake.waitFor('views.publish', undefined, { timeoutMs: 50 })).rejects.toThrow(
      /no views\.publish call .* within 50 ms; seen: auth\.test \(ok\)/,
    );
  });

  it('fails the next call with 429 and Retry-After, then recovers', async () => {
    fake.failNext('chat.postMessage', { retryAfter: 7 });

    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.RateLimitedError,
      retryAfter: 7,
    });
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('fails calls with a 5xx or an ok:false error as many times as asked', async () => {
    fake.failNext('users.info', { status: 503, times: 2 });
    fake.failNext('views.publish', { error: 'internal_error' });

    for (let i = 0; i < 2; i++) {
      await expect(client.users.info({ user: 'UBOT' })).rejects.toMatchObject({
        code: ErrorCode.HTTPError,
        statusCode: 503,
      });
    }
    await expect(client.users.info({ user: 'UBOT' })).resolves.toMatchObject({ ok: true });
    await expect(
      client.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [] } }),
    ).rejects.toMatchObject(platformError('internal_error'));
  });

  it('records response_url posts, checks their blocks and allows five per url', async () => {
    const url = fake.responseUrl('cmd-1');
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });

    const waiting = fake.waitForResponse((r) => r.body.text === 'queued');
    expect((await post({ text: 'queued' })).status).toBe(200);
    await expect(waiting).resolves.toMatchObject({ id: 'cmd-1', ok: true });
    expect((await post({ text: 'x', blocks: [{ type: 'sectoin' }] })).status).toBe(400);
    for (let i = 0; i < 3; i++) await post({ text: `update ${i}` });
    expect((await post({ text: 'sixth' })).status).toBe(404);
    fake.failNext(RESPONSE_URL, { status: 500 });
    expect((await post({ text: 'x' })).status).toBe(500);
  });
});

describe('blockKitViolations', () => {
  const button = (extra: Record<string, unknown> = {}) => ({
    type: 'button',
    action_id: 'approve',
    text: { type: 'plain_text', text: 'Approve' },
    value: 'req_1',
    style: 'primary',
    ...extra,
  });

  it('accepts a typical approval message', () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'Access request' } },
      { type: 'section', fields: [{ type: 'mrkdwn', text: '*Who*\n<@U1>' }] },
      {
        type: 'actions',
        block_id: 'decide',
        elements: [button(), button({ action_id: 'deny', style: 'danger' })],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'Expires in 1h' }] },
      { type: 'divider' },
    ];
    expect(blockKitViolations(blocks, 'message')).toEqual([]);
  });

  it('reports each broken limit with its json-pointer', () => {
    const blocks = [
      { type: 'header', text: { type: 'mrkdwn', text: 'h' } },
      {
        type: 'actions',
        elements: [
          button({
            text: { type: 'plain_text', text: 'b'.repeat(76) },
            action_id: 'a'.repeat(256),
          }),
        ],
      },
      { type: 'section', block_id: 'x', text: { type: 'markdown', text: '' } },
      { type: 'section', block_id: 'x', text: { type: 'mrkdwn', text: 'dup' } },
      {
        type: 'actions',
        elements: Array.from({ length: 26 }, (_, i) => button({ action_id: `b${i}` })),
      },
      { text: 'no type' },
    ];

    expect(blockKitViolations(blocks, 'message')).toEqual([
      '[ERROR] must be a valid enum value [json-pointer:/blocks/0/text/type]',
      '[ERROR] must be less than 256 characters [json-pointer:/blocks/1/elements/0/action_id]',
      '[ERROR] must be less than 76 characters [json-pointer:/blocks/1/elements/0/text/text]',
      '[ERROR] must be a valid enum value [json-pointer:/blocks/2/text/type]',
      '[ERROR] must be more than 0 characters [json-pointer:/blocks/2/text/text]',
      '[ERROR] must be unique [json-pointer:/blocks/3/block_id]',
      '[ERROR] no more than 25 items allowed [json-pointer:/blocks/4/elements]',
      '[ERROR] missing required field: type [json-pointer:/blocks/5/type]',
    ]);
  });

  it('rejects blocks that are not an array', () => {
    expect(blockKitViolations({ type: 'section' }, 'message')).toEqual([
      '[ERROR] must provide an array [json-pointer:/blocks]',
    ]);
  });

  it('allows 100 blocks in a modal, checks the modal frame and requires submit with inputs', () => {
    const input = {
      type: 'input',
      block_id: 'reason',
      label: { type: 'plain_text', text: 'Reason' },
      element: { type: 'plain_text_input', action_id: 'reason' },
    };
    const view = {
      type: 'modal',
      title: { type: 'plain_text', text: 'Request access' },
      private_metadata: 'm'.repeat(3001),
      blocks: [input, ...Array.from({ length: 99 }, () => ({ type: 'divider' }))],
    };

    expect(viewViolations(view, 'modal')).toEqual([
      '[ERROR] must provide submit when the view contains input blocks [json-pointer:/view/submit]',
      '[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]',
    ]);
    expect(blockKitViolations(view.blocks, 'home')).toEqual([]);
    expect(blockKitViolations([...view.blocks, { type: 'divider' }], 'modal')).toEqual([
      '[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]',
    ]);
  });
});
