import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../src/config/env.js';
import { createLogger } from '../../src/logger.js';
import { createSlackApp } from '../../src/slack/app.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, startHarness, users } from '../support/harness.js';
import { blockActionPayload, slashCommandBody } from '../support/slack-signing.js';

/**
 * The bot with SLACK_APP_TOKEN set: Bolt's Socket Mode receiver opens a WebSocket to the fake
 * (apps.connections.open with the app-level token, then `hello`), receives commands and clicks as
 * envelopes and acks them on the socket, while health and metrics stay on PORT.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ socketMode: true });
});
afterAll(async () => {
  await h?.stop();
});

describe('Socket Mode', () => {
  it('connected with the app-level token and no HTTP events endpoint', async () => {
    expect(h.env.SLACK_APP_TOKEN).toBe(h.fake.appToken);
    expect(h.env.PORT).toBeGreaterThan(0);
    expect(h.bot.port).toBe(h.env.PORT);
    const open = h.fake.callsTo('apps.connections.open');
    expect(open.map((c) => c.ok)).toEqual([true]);
    expect(String(open[0]?.result.url)).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket-mode\?ticket=/);
    const connection = await h.fake.waitForSocketConnection();
    expect(connection.closedAt).toBeUndefined();
    expect(h.fake.socket.openCount).toBe(1);

    // Slack's requests arrive over the socket only: the bot's HTTP server has no /slack/events.
    const post = await fetch(`${h.origin}/slack/events`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(404);
  });

  it('serves /healthz and /metrics on PORT', async () => {
    const response = await fetch(`http://127.0.0.1:${h.env.PORT}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    const metrics = await fetch(`http://127.0.0.1:${h.env.PORT}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
  });

  it('runs /jit request → Approve → grant over the socket', async () => {
    // 1. The slash command arrives as an envelope of form fields; the bot acks it on the socket
    //    and answers ephemerally on the response_url.
    const responseUrl = h.fake.responseUrl('socket-slash');
    const command = Object.fromEntries(
      new URLSearchParams(
        slashCommandBody({
          text: 'request prod-db-write 1h investigating INC-42',
          user_id: users.alice,
          response_url: responseUrl,
        }),
      ),
    );
    const commandAck = await h.fake.socketDeliver('slash_commands', command);
    expect(commandAck.envelope_id).toBe(h.fake.socket.delivered.at(-1)?.envelope_id);
    expect(commandAck.payload).toEqual({});

    const reply = await h.fake.waitForResponse((r) => r.id === 'socket-slash');
    expect(reply.ok).toBe(true);
    expect(reply.body.response_type).toBe('ephemeral');
    const id = /JIT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0];
    if (!id) throw new Error(`no request id in the reply: ${JSON.stringify(reply.body)}`);
    const pending = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(pending).toMatchObject({
      state: 'pending',
      requesterId: users.alice,
      resource: 'prod-db-write',
      durationSec: 3600,
      reason: 'investigating INC-42',
      identity: h.login('alice'),
    });

    // 2. The approver's DM carries the buttons; the click comes back as an `interactive` envelope.
    const bobMessage = await h.approverMessage(id, users.bob);
    expect(await h.isMember(h.login('alice'))).toBe(false);
    const click = blockActionPayload({
      user_id: users.bob,
      action_id: actionIds.approve,
      value: id,
      text: 'Approve',
      channel_id: bobMessage.channel,
      message_ts: bobMessage.ts,
      response_url: h.fake.responseUrl('socket-click'),
    });
    const clickAck = await h.fake.socketDeliver('interactive', click);
    expect(clickAck.envelope_id).toBe(h.fake.socket.delivered.at(-1)?.envelope_id);

    // 3. The grant lands on PostgreSQL and the requester is told.
    await h.dmTo(users.alice, ':unlock:');
    const active = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(active.state).toBe('active');
    expect(active.decidedBy).toBe(users.bob);
    expect(await h.isMember(h.login('alice'))).toBe(true);
    const approverReply = await h.fake.waitForResponse((r) => r.id === 'socket-click');
    expect(String(approverReply.body.text)).toContain(`You approved ${id}`);

    // Every envelope got exactly one ack, and nothing else was sent on the socket.
    const acked = h.fake.socket.received.map((m) => (m.data as { envelope_id?: string }).envelope_id);
    expect(acked).toEqual(h.fake.socket.delivered.map((e) => e.envelope_id));
  });

  it('goes through the harness helpers too', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    const message = await h.approverMessage(id, users.carol);
    const click = await h.click(users.carol, actionIds.deny, id, message);
    expect(click).toMatchObject({ status: 200, body: '' });
    await h.fake.waitFor('views.open', (c) => c.ok && JSON.stringify(c.args.view).includes(id));
  });

  it('closes its socket on stop and opens a new one after a restart', async () => {
    const before = h.fake.socket.connections.length;
    await h.restartBot();
    const connections = h.fake.socket.connections;
    expect(connections).toHaveLength(before + 1);
    await expect.poll(() => connections.at(-2)?.closeCode).toBe(1000);
    expect(h.fake.socket.openCount).toBe(1);
    expect((await fetch(`${h.origin}/healthz`)).status).toBe(200);
    const { reply } = await h.slash(users.alice, 'help');
    expect(reply.body.response_type).toBe('ephemeral');
  });
});

describe('createSlackApp in Socket Mode', () => {
  it('keeps the Socket Mode client retry policy out of the listeners clients', () => {
    const env = loadEnv({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'secret',
      SLACK_APP_TOKEN: 'xapp-1',
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/db',
      PORT: '3000',
    });
    const app = createSlackApp({ env, logger: createLogger('silent'), routes: [] });
    // Bolt builds each listener's `client` from these options: the Web API defaults must survive.
    expect(app.webClientOptions).toMatchObject({ slackApiUrl: 'http://127.0.0.1:9/api/' });
    expect(app.webClientOptions.retryConfig).toBeUndefined();
  });
});
