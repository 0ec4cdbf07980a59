import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, isValidSlackRequest, LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from './fake-slack.js';
import {
  postBlockAction,
  postEvent,
  postSigned,
  postSlashCommand,
  postViewSubmission,
  signSlackRequest,
  slashCommandBody,
} from './slack-signing.js';

// Slack's published example request (docs: "Verifying requests from Slack").
const EXAMPLE_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const EXAMPLE_TIMESTAMP = 1531420618;
const EXAMPLE_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&' +
  'channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&' +
  'response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F' +
  '96rGlfmibIGlgcZRskXaIFfN&' +
  'trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

describe('signSlackRequest', () => {
  it("reproduces Slack's published example signature", () => {
    const headers = signSlackRequest(EXAMPLE_SECRET, EXAMPLE_BODY, EXAMPLE_TIMESTAMP);

    expect(headers['x-slack-request-timestamp']).toBe('1531420618');
    expect(headers['x-slack-signature']).toMatch(/^v0=a2114d57[0-9a-f]{56}$/);
    expect(headers['x-slack-signature']).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it("produces signatures Bolt's verifier accepts", () => {
    const body = slashCommandBody({ text: 'prod-db 1h', user_id: 'U1', response_url: 'http://x' });
    const headers = signSlackRequest('secret', body);
    const verify = (signingSecret: string) =>
      isValidSlackRequest({
        signingSecret,
        body,
        headers: {
          'x-slack-signature': headers['x-slack-signature'],
          'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
        },
      });

    expect(verify('secret')).toBe(true);
    expect(verify('other')).toBe(false);
  });
});

describe('signed requests through a real Bolt app', () => {
  const secret = 'test-signing-secret';
  const seen: Record<string, unknown> = {};
  let fake: FakeSlack;
  let app: App;
  let url: string;

  beforeAll(async () => {
    fake = await startFakeSlack();
    app = new App({
      token: fake.token,
      signingSecret: secret,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    app.command('/jit', async ({ command, ack, respond }) => {
      await ack();
      seen.command = command;
      await respond({ response_type: 'ephemeral', text: `Requested ${command.text}` });
    });
    app.action('approve', async ({ ack, body, action, client }) => {
      await ack();
      seen.action = { body, action };
      await client.chat.postMessage({ channel: body.user.id, text: 'Approved' });
    });
    app.view('request_access', async ({ ack, view }) => {
      seen.view = view;
      await ack({ response_action: 'errors', errors: { reason: 'Too short' } });
    });
    app.event('app_home_opened', async ({ event, client, context }) => {
      seen.retryNum = context.retryNum;
      await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: [] } });
    });
    const server = (await app.start(0)) as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  afterAll(async () => {
    await app.stop();
    await fake.close();
  });

  it('delivers a slash command, and respond() reaches the fake response_url', async () => {
    const response = await postSlashCommand(url, secret, {
      text: 'prod-db 1h because incident',
      user_id: 'U1',
      response_url: fake.responseUrl('cmd'),
    });

    expect(response.status).toBe(200);
    await expect(fake.waitForResponse((r) => r.id === 'cmd')).resolves.toMatchObject({
      body: { text: 'Requested prod-db 1h because incident' },
    });
    expect(seen.command).toMatchObject({ command: '/jit', user_id: 'U1', team_id: 'T0JITTEST' });
  });

  it('delivers a button click, and the listener can call the Web API', async () => {
    const response = await postBlockAction(url, secret, {
      user_id: 'U2',
      action_id: 'approve',
      value: 'req_9',
    });

    expect(response.status).toBe(200);
    await expect(fake.waitFor('chat.postMessage')).resolves.toMatchObject({
      ok: true,
      args: { channel: 'U2', text: 'Approved' },
    });
    expect(seen.action).toMatchObject({ action: { value: 'req_9' }, body: { user: { id: 'U2' } } });
  });

  it('delivers a view submission and returns the ack body to Slack', async () => {
    const response = await postViewSubmission(url, secret, {
      user_id: 'U3',
      callback_id: 'request_access',
      private_metadata: '{"channel":"C1"}',
      state_values: { reason: { reason: { type: 'plain_text_input', value: 'x' } } },
    });

    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      response_action: 'errors',
      errors: { reason: 'Too short' },
    });
    expect(seen.view).toMatchObject({
      private_metadata: '{"channel":"C1"}',
      state: { values: { reason: {} } },
    });
  });

  it('delivers an event with its retry headers', async () => {
    const event = {
      type: 'app_home_opened',
      user: 'U4',
      channel: 'DU4',
      tab: 'home',
      event_ts: '1.2',
    };
    const response = await postEvent(url, secret, event, {
      retryNum: 2,
      retryReason: 'http_timeout',
    });

    expect(response.status).toBe(200);
    await expect(fake.waitFor('views.publish')).resolves.toMatchObject({
      ok: true,
      args: { user_id: 'U4' },
    });
    expect(seen.retryNum).toBe(2);
  });

  it('is refused for a bad signature, a stale timestamp or a charset on a form', async () => {
    const body = slashCommandBody({ text: 'x', user_id: 'U1', response_url: fake.responseUrl() });
    const form = 'application/x-www-form-urlencoded';
    const stale = Math.floor(Date.now() / 1000) - 301;

    expect((await postSigned(url, 'wrong-secret', body, form)).status).toBe(401);
    expect((await postSigned(url, secret, body, form, {}, stale)).status).toBe(401);
    expect((await postSigned(url, secret, body, `${form}; charset=utf-8`)).status).toBe(400);
  });
});
