import { SocketModeReceiver, webApi } from '@slack/bolt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type FakeSlack, startFakeSlack } from './fake-slack.js';
import { silentLogger } from './silent-logger.js';
import { WORKSPACE } from './slack-workspace.js';

const { WebClient, ErrorCode } = webApi;

type SocketClient = SocketModeReceiver['client'];

/** The Socket Mode client Bolt uses, pointed at the fake; short timeouts so reconnects are quick. */
function socketClient(fake: FakeSlack, autoReconnectEnabled = true): SocketClient {
  const receiver = new SocketModeReceiver({
    appToken: fake.appToken,
    logger: silentLogger,
    clientPingTimeout: 600,
    autoReconnectEnabled,
    installerOptions: { clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } } },
  });
  return receiver.client;
}

function apiClient(fake: FakeSlack, token: string): webApi.WebClient {
  return new WebClient(token, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    logger: silentLogger,
  });
}

function platformError(error: string) {
  return { code: ErrorCode.PlatformError, data: expect.objectContaining({ ok: false, error }) };
}

/** Connects a bare WebSocket and resolves with its first message, or rejects on a refused upgrade. */
function firstMessage(url: string): Promise<{ ws: WebSocket; message: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('message', (data) =>
      resolve({ ws, message: JSON.parse(String(data)) as Record<string, unknown> }),
    );
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('fake Slack Socket Mode: apps.connections.open', () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await startFakeSlack();
  });
  afterAll(() => fake.close());

  it('hands a one-time WebSocket URL to the app-level token only', async () => {
    const opened = await apiClient(fake, fake.appToken).apps.connections.open();
    expect(opened.ok).toBe(true);
    expect(opened.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket-mode\?ticket=[0-9a-f-]+/);

    await expect(apiClient(fake, fake.token).apps.connections.open()).rejects.toMatchObject(
      platformError('not_allowed_token_type'),
    );
    await expect(apiClient(fake, 'xapp-1-someone-else').apps.connections.open()).rejects.toMatchObject(
      platformError('invalid_auth'),
    );
    // And the app-level token is no bot token.
    await expect(
      apiClient(fake, fake.appToken).chat.postMessage({ channel: 'C1', text: 'hi' }),
    ).rejects.toMatchObject(platformError('not_allowed_token_type'));
    expect(fake.callsTo('apps.connections.open').map((c) => c.error ?? 'ok')).toEqual([
      'ok',
      'not_allowed_token_type',
      'invalid_auth',
    ]);
  });

  it('greets a connection with hello, and refuses a used or unknown ticket', async () => {
    const { url } = await apiClient(fake, fake.appToken).apps.connections.open();
    const { ws, message } = await firstMessage(String(url));
    expect(message).toMatchObject({
      type: 'hello',
      num_connections: 1,
      debug_info: { host: expect.any(String) },
      connection_info: { app_id: WORKSPACE.apiAppId },
    });
    await expect(firstMessage(String(url))).rejects.toThrow('upgrade refused: 401');
    await expect(firstMessage(String(url).replace(/ticket=[^&]+/, 'ticket=forged'))).rejects.toThrow('401');
    ws.terminate();
  });

  it('can fail apps.connections.open on demand', async () => {
    fake.failNext('apps.connections.open', { error: 'internal_error' });
    await expect(apiClient(fake, fake.appToken).apps.connections.open()).rejects.toMatchObject(
      platformError('internal_error'),
    );
  });
});

describe('fake Slack Socket Mode, driven by @slack/socket-mode', () => {
  let fake: FakeSlack;
  let client: SocketClient;

  beforeEach(async () => {
    fake = await startFakeSlack({ socketPingIntervalMs: 200 });
    client = socketClient(fake);
  });
  afterEach(async () => {
    await client.disconnect();
    await fake.close();
  });

  it('connects, delivers envelopes, and resolves with the ack and its response payload', async () => {
    const seen: Array<{ type: string; body: unknown }> = [];
    client.on('slack_event', async ({ ack, type, body }) => {
      seen.push({ type, body });
      await ack(type === 'slash_commands' ? { response_type: 'ephemeral', text: 'got it' } : undefined);
    });
    const started = await client.start();
    expect(started).toMatchObject({ ok: true, url: expect.stringContaining('/socket-mode?ticket=') });
    await fake.waitForSocketConnection();

    const command = { command: '/jit', text: 'help', user_id: 'UALICE01' };
    const ack = await fake.socketDeliver('slash_commands', command);
    expect(ack).toEqual({
      envelope_id: expect.any(String),
      payload: { response_type: 'ephemeral', text: 'got it' },
    });
    const event = { type: 'event_callback', event: { type: 'app_home_opened', user: 'UALICE01' } };
    expect(await fake.socketDeliver('events_api', event)).toEqual({
      envelope_id: expect.any(String),
      payload: {},
    });
    expect(seen).toEqual([
      { type: 'slash_commands', body: command },
      { type: 'events_api', body: event },
    ]);
    expect(fake.socket.delivered.map((e) => [e.type, e.accepts_response_payload, e.retry_attempt])).toEqual([
      ['slash_commands', true, undefined],
      ['events_api', false, 0],
    ]);
  });

  it('rejects a delivery nobody acks, listing what the app sent', async () => {
    client.on('interactive', () => {});
    await client.start();
    await fake.waitForSocketConnection();
    await expect(
      fake.socketDeliver('interactive', { type: 'block_actions', actions: [] }, { timeoutMs: 300 }),
    ).rejects.toThrow(/no ack for interactive envelope .* within 300 ms; received: nothing/);
  });

  it('answers the client pings, and the client answers the fake pings', async () => {
    await client.start();
    const connection = await fake.waitForSocketConnection();
    await expect.poll(() => connection.pingsReceived, { timeout: 5000 }).toBeGreaterThan(0);
    await expect.poll(() => connection.pongsReceived, { timeout: 5000 }).toBeGreaterThan(0);
    expect(fake.socket.openCount).toBe(1);
  });

  it('reconnects through apps.connections.open after a disconnect message', async () => {
    client.on('slash_commands', async ({ ack }) => ack());
    await client.start();
    const first = await fake.waitForSocketConnection();
    const reconnected = new Promise((resolve) => client.once('connected', resolve));
    fake.socket.requestDisconnect('refresh_requested');
    await reconnected;

    expect(first.closedAt).toBeDefined();
    expect(first.closeCode).toBe(1000);
    expect(fake.socket.connections.map((c) => c.closedAt === undefined)).toEqual([false, true]);
    expect(fake.callsTo('apps.connections.open')).toHaveLength(2);
    await expect(fake.socketDeliver('slash_commands', { command: '/jit', text: '' })).resolves.toMatchObject({
      envelope_id: expect.any(String),
    });
  });

  it('rejects a delivery when no app is connected', async () => {
    await expect(fake.socketDeliver('slash_commands', { command: '/jit' })).rejects.toThrow(
      'no open Socket Mode connection (none was ever opened)',
    );
  });

  it('drops the app on close', async () => {
    client = socketClient(fake, false);
    await client.start();
    const connection = await fake.waitForSocketConnection();
    const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
    await fake.close();
    await disconnected;
    expect(connection.closedAt).toBeDefined();
    fake = await startFakeSlack();
  });
});
