import type { App } from '@slack/bolt';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createSlackApp, startSlackApp } from '../../src/slack/app.js';
import { registerCommands } from '../../src/slack/commands.js';
import { registerHome } from '../../src/slack/home.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { adminUrl, redisUrl, uniqueName } from '../support/db.js';
import { type Harness, securityChannel, signingSecret, startHarness, users } from '../support/harness.js';
import { postRoutineEvents } from '../support/routine-events.js';
import {
  blockActionPayload,
  eventEnvelope,
  postEvent,
  postSigned,
  signSlackRequest,
  slashCommandBody,
} from '../support/slack-signing.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * Faults at the edges of the bot, against the real PostgreSQL and Redis: a target database that
 * stops answering mid-revoke, a Slack Web API that rate-limits or fails, Slack delivering an
 * event twice, and signed requests that are forged, stale or replayed.
 */

const form = 'application/x-www-form-urlencoded';

/** The PostgreSQL server the harness's provider logins live on. */
const target = new URL(adminUrl());

let h: Harness;
/** Between the `flakydb` provider and PostgreSQL. */
let dbLink: TcpProxy;

beforeAll(async () => {
  dbLink = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  h = await startHarness({
    extraProviders: `
  flakydb:
    type: postgres
    url: postgresql://jit_granter:jit_granter@127.0.0.1:${dbLink.port}/jit`,
    extraResources: `
  flaky-db-write:
    description: The production database, behind a network link the test can cut
    provider: flakydb
    grant: { role: {{role}} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }`,
  });
});
afterAll(async () => {
  dbLink?.restore();
  await h?.stop();
  await dbLink?.close();
});

async function counts() {
  const [requests, approvals, audit] = await Promise.all([
    h.db.prisma.accessRequest.count(),
    h.db.prisma.approval.count(),
    h.db.prisma.auditEvent.count(),
  ]);
  return { requests, approvals, audit };
}

async function grantedTo(user: 'alice' | 'eve', resource: string): Promise<string> {
  const id = await h.request(users[user], resource, '1h');
  await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
  await h.dmTo(users[user], `${id}\`: you have`);
  return id;
}

const stateOf = async (id: string) =>
  (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state;

/** `chat.postMessage` calls to `channel` mentioning `fragment`: how many went through, and the errors. */
function postsTo(channel: string, fragment: string) {
  const calls = h.fake
    .callsTo('chat.postMessage')
    .filter((c) => c.args.channel === channel && String(c.args.text).includes(fragment));
  return { ok: calls.filter((c) => c.ok).length, failed: calls.filter((c) => !c.ok).map((c) => c.error) };
}

describe('the target PostgreSQL unreachable during a revoke', () => {
  // "A minute" in production (backoff from 1 s, capped at 60 s); the harness's workers back off
  // from 50 ms capped at 500 ms, so the same ten attempts take a few seconds here.
  it('retries with backoff, alerts the security channel, and revokes once the target is back', async () => {
    const id = await grantedTo('alice', 'flaky-db-write');
    expect(await h.isMember(h.login('alice'))).toBe(true);

    dbLink.cut();
    const { reply } = await h.slash(users.sec, `revoke ${id} laptop stolen`);
    expect(String(reply.body.text)).toContain(`The target did not answer for \`${id}\``);

    // The alerts go out on the 3rd and the 10th failed attempt; the 10th one ends the outage.
    const alerts = () =>
      h.db.prisma.auditEvent.findMany({
        where: { requestId: id, action: 'revoke.retrying' },
        orderBy: { id: 'asc' },
      });
    await expect.poll(async () => (await alerts()).length, { timeout: 20_000 }).toBe(2);
    // Still granted on the target, and recorded as such: nothing claims an end that did not happen.
    expect(await stateOf(id)).toBe('active');
    expect(await h.isMember(h.login('alice'))).toBe(true);
    dbLink.restore();

    await expect.poll(() => stateOf(id), { timeout: 15_000 }).toBe('revoked');
    expect(await h.isMember(h.login('alice'))).toBe(false);
    expect((await alerts()).map((a) => (a.details as { attempt: number }).attempt)).toEqual([3, 10]);
    for (const alert of await alerts()) {
      expect(alert.details).toMatchObject({ event: 'revoke', error: expect.stringMatching(/PostgreSQL/) });
    }
    await expect
      .poll(() => postsTo(securityChannel, `revoke.retrying ${id}`).ok, { timeout: 10_000 })
      .toBe(2);
    await h.dmTo(users.alice, id);
    expect(dbLink.attempts).toBeGreaterThan(10);
  });
});

describe('the Slack Web API rate-limiting or failing', () => {
  it('retries an approver DM answered 429 with Retry-After, and delivers it once', async () => {
    h.fake.failNext('chat.postMessage', { retryAfter: 1, when: (args) => args.channel === `D${users.bob}` });
    const id = await h.request(users.alice, 'prod-db-write', '1h', 'INC-501 rate limited');
    await h.approverMessage(id, users.bob);
    // Carol (through S0DBA) is asked in the same job: not twice because Bob's DM failed.
    await h.approverMessage(id, users.carol);
    expect(postsTo(`D${users.bob}`, id)).toEqual({ ok: 1, failed: ['ratelimited'] });
    expect(postsTo(`D${users.carol}`, id)).toEqual({ ok: 1, failed: [] });
    await expect
      .poll(() => h.db.prisma.slackMessage.count({ where: { requestId: id, purpose: 'approver' } }))
      .toBe(2);
  });

  it('retries the requester DM answered 500, and delivers it once', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '1h', 'INC-502 slack down');
    h.fake.failNext('chat.postMessage', {
      status: 500,
      times: 2,
      when: (args) => args.channel === `D${users.alice}` && String(args.text).includes(id),
    });
    await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(postsTo(`D${users.alice}`, `${id}\`: you have`).ok).toBe(1);
    expect(postsTo(`D${users.alice}`, id).failed).toEqual(['internal_error', 'internal_error']);
    await h.slash(users.alice, `release ${id}`);
  });

  it('retries the card post answered 429 and an audit post answered 500; each posted once, marked posted', async () => {
    const card = (args: Record<string, unknown>) =>
      args.channel === securityChannel && /^Grant \S+: prod-db-write to <@UEVE0001>/.test(String(args.text));
    h.fake.failNext('chat.postMessage', { retryAfter: 2, when: card });
    const id = await h.request(users.eve, 'prod-db-write', '1h', 'INC-503 audit outbox');
    await h.fake.waitFor('chat.postMessage', (c) => c.ok && card(c.args) && String(c.args.text).includes(id));

    const routine = (args: Record<string, unknown>) =>
      args.channel === securityChannel && String(args.text).startsWith('test.retry');
    h.fake.failNext('chat.postMessage', { status: 503, when: routine });
    const [eventId] = await postRoutineEvents(h, 'test.retry', 1);
    await h.fake.waitFor('chat.postMessage', (c) => c.ok && routine(c.args));

    expect(postsTo(securityChannel, `Grant ${id}:`)).toEqual({ ok: 1, failed: ['ratelimited'] });
    expect(postsTo(securityChannel, 'test.retry')).toEqual({ ok: 1, failed: ['internal_error'] });
    await expect
      .poll(async () => h.db.prisma.auditEvent.count({ where: { requestId: id, postedAt: null } }))
      .toBe(0);
    await expect
      .poll(async () => (await h.db.prisma.auditEvent.findUnique({ where: { id: eventId } }))?.postedAt)
      .not.toBeNull();
    await h.slash(users.eve, `release ${id}`);
  });

  it('in production the Web API client itself waits out Retry-After and retries a 5xx', async () => {
    // No clientOptions: what main.ts runs with. Jobs retry around it only once the client gives up.
    const app = createSlackApp({ env: h.env, logger: createLogger('silent'), routes: [] });
    const channel = 'C0RETRYAFTER';
    h.fake.failNext('chat.postMessage', { retryAfter: 1, when: (args) => args.channel === channel });
    const first = await app.client.chat.postMessage({ channel, text: 'after a 429' });
    expect(first.ok).toBe(true);
    h.fake.failNext('chat.postMessage', { status: 502, when: (args) => args.channel === channel });
    const second = await app.client.chat.postMessage({ channel, text: 'after a 502' });
    expect(second.ok).toBe(true);
    expect(postsTo(channel, 'after')).toEqual({ ok: 2, failed: ['ratelimited', 'internal_error'] });
  });
});

describe('Slack delivering an event again', () => {
  const homeOpened = (userId: string) => ({
    type: 'app_home_opened',
    user: userId,
    channel: `D${userId}`,
    tab: 'home',
    event_ts: `${Math.floor(Date.now() / 1000)}.000100`,
  });
  const publishesFor = (userId: string) =>
    h.fake.callsTo('views.publish').filter((c) => c.ok && c.args.user_id === userId).length;

  it('handles a redelivery (X-Slack-Retry-Num, same event_id) once', async () => {
    const eventId = 'EvREDELIVER01';
    expect((await postEvent(h.url, signingSecret, homeOpened(users.dave), { eventId })).status).toBe(200);
    await expect.poll(() => publishesFor(users.dave)).toBe(1);

    const retry = await postEvent(h.url, signingSecret, homeOpened(users.dave), {
      eventId,
      retryNum: 1,
      retryReason: 'http_timeout',
    });
    expect(retry.status).toBe(200);
    // The retry's check reached Redis before this event's, on the same connection: once this one
    // is published, the retry has been dropped or would have been published first.
    await postEvent(h.url, signingSecret, homeOpened(users.dave), { eventId: 'EvREDELIVER02' });
    await expect.poll(() => publishesFor(users.dave)).toBe(2);
    expect(publishesFor(users.dave)).toBe(2);
  });

  it('handles a retry whose first delivery never arrived', async () => {
    const before = publishesFor(users.eve);
    const retry = await postEvent(h.url, signingSecret, homeOpened(users.eve), {
      eventId: 'EvFIRSTLOST01',
      retryNum: 2,
      retryReason: 'http_error',
    });
    expect(retry.status).toBe(200);
    await expect.poll(() => publishesFor(users.eve)).toBe(before + 1);
  });
});

describe('request signatures', () => {
  const clickBody = (requestId: string, message: { channel: string; ts: string }) =>
    new URLSearchParams({
      payload: JSON.stringify(
        blockActionPayload({
          user_id: users.bob,
          action_id: actionIds.approve,
          value: requestId,
          channel_id: message.channel,
          message_ts: message.ts,
          response_url: h.fake.responseUrl(),
        }),
      ),
    }).toString();
  const nowSec = () => Math.floor(Date.now() / 1000);

  it('refuses a click signed with another secret or more than 5 minutes ago, approving nothing', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '1h', 'INC-601 forged click');
    const body = clickBody(id, await h.approverMessage(id, users.bob));
    const before = await counts();
    expect((await postSigned(h.url, 'not-the-signing-secret', body, form)).status).toBe(401);
    expect((await postSigned(h.url, signingSecret, body, form, {}, nowSec() - 5 * 60 - 5)).status).toBe(401);
    expect(await counts()).toEqual(before);
    expect(await stateOf(id)).toBe('pending');
    await h.slash(users.alice, `release ${id}`);
  });

  it('refuses an event signed more than 5 minutes ago', async () => {
    const before = h.fake.callsTo('views.publish').length;
    const body = eventEnvelope({ type: 'app_home_opened', user: users.carol, tab: 'home' }, 'EvSTALE00001');
    const stale = await postSigned(h.url, signingSecret, body, 'application/json', {}, nowSec() - 6 * 60);
    expect(stale.status).toBe(401);
    expect(h.fake.callsTo('views.publish').length).toBe(before);
  });

  it('refuses a correctly signed slash command sent again, and writes nothing the second time', async () => {
    const body = slashCommandBody({
      text: 'request prod-db-write 1h INC-602 captured and replayed',
      user_id: users.alice,
      response_url: h.fake.responseUrl('replayed-command'),
    });
    const signedAt = nowSec();
    const first = await postSigned(h.url, signingSecret, body, form, {}, signedAt);
    expect(first.status).toBe(200);
    const reply = await h.fake.waitForResponse((r) => r.id === 'replayed-command');
    const id = /JIT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0];
    expect(id).toBeDefined();

    const before = await counts();
    const replay = await postSigned(h.url, signingSecret, body, form, {}, signedAt);
    expect(replay.status).toBe(401);
    expect(replay.body).toBe('');
    expect(await counts()).toEqual(before);
    expect(h.fake.responses.filter((r) => r.id === 'replayed-command')).toHaveLength(1);
    await h.slash(users.alice, `release ${id}`);
  });

  it('refuses a replay whose signature header was padded (v0=<hex>=x), and any such header', async () => {
    const body = slashCommandBody({
      text: 'request prod-db-write 1h INC-604 captured, padded and replayed',
      user_id: users.alice,
      response_url: h.fake.responseUrl('padded-replay'),
    });
    const signedAt = nowSec();
    const headers = signSlackRequest(signingSecret, body, signedAt);
    const first = await postSigned(h.url, signingSecret, body, form, {}, signedAt);
    expect(first.status).toBe(200);
    const reply = await h.fake.waitForResponse((r) => r.id === 'padded-replay');
    const id = /JIT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0];

    const before = await counts();
    for (const padded of [`${headers['x-slack-signature']}=x`, `${headers['x-slack-signature']}=`]) {
      const replay = await postSigned(
        h.url,
        signingSecret,
        body,
        form,
        { 'x-slack-signature': padded },
        signedAt,
      );
      expect(replay.status).toBe(401);
    }
    // A fresh command with such a header is refused too: Slack never sends one.
    const fresh = slashCommandBody({
      text: 'request prod-db-write 1h INC-605 never sent by Slack',
      user_id: users.alice,
      response_url: h.fake.responseUrl('padded-fresh'),
    });
    const freshHeaders = signSlackRequest(signingSecret, fresh, signedAt);
    const refused = await postSigned(
      h.url,
      signingSecret,
      fresh,
      form,
      { 'x-slack-signature': `${freshHeaders['x-slack-signature']}=x` },
      signedAt,
    );
    expect(refused.status).toBe(401);
    expect(await counts()).toEqual(before);
    expect(h.fake.responses.filter((r) => r.id.startsWith('padded-'))).toHaveLength(1);
    await h.slash(users.alice, `release ${id}`);
  });

  it('refuses a replayed click and a replayed event; the originals were handled', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '1h', 'INC-603 replayed click');
    const body = clickBody(id, await h.approverMessage(id, users.bob));
    const signedAt = nowSec();
    expect((await postSigned(h.url, signingSecret, body, form, {}, signedAt)).status).toBe(200);
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect((await postSigned(h.url, signingSecret, body, form, {}, signedAt)).status).toBe(401);
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(1);

    const event = eventEnvelope({ type: 'app_home_opened', user: users.alice, tab: 'home' }, 'EvREPLAYED01');
    expect((await postSigned(h.url, signingSecret, event, 'application/json', {}, signedAt)).status).toBe(
      200,
    );
    expect((await postSigned(h.url, signingSecret, event, 'application/json', {}, signedAt)).status).toBe(
      401,
    );
    await h.slash(users.alice, `release ${id}`);
  });

  it('takes the same command sent again by Slack under a new signature', async () => {
    const input = { text: 'help', user_id: users.eve, response_url: h.fake.responseUrl('help-twice') };
    const body = slashCommandBody(input);
    // Two different signatures: one read of the clock, so a second boundary between them
    // cannot make them the same.
    const signedAt = nowSec();
    expect((await postSigned(h.url, signingSecret, body, form, {}, signedAt)).status).toBe(200);
    expect((await postSigned(h.url, signingSecret, body, form, {}, signedAt - 1)).status).toBe(200);
    await expect.poll(() => h.fake.responses.filter((r) => r.id === 'help-twice').length).toBe(2);
  });
});

describe('the replay and redelivery checks while Redis is unreachable', () => {
  // The bot's Slack app as bot.ts builds it, with its own Redis connection through a link the
  // test can cut (a whole bot on that link would also cut its BullMQ workers, which is not the
  // point here), and the real command and Home handlers on the harness's database.
  let redisLink: TcpProxy;
  let redis: Redis;
  let app: App;
  let url: string;

  beforeAll(async () => {
    const direct = new URL(redisUrl());
    redisLink = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 6379) });
    redis = new Redis(`redis://127.0.0.1:${redisLink.port}`, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    redis.on('error', () => undefined);
    const memory = { redis, keyPrefix: uniqueName('replay_') };
    app = createSlackApp({ env: h.env, logger: createLogger('silent'), routes: [], memory });
    registerCommands(app, h.bot.deps);
    registerHome(app, h.bot.deps);
    url = `http://127.0.0.1:${await startSlackApp(app, h.env)}/slack/events`;
  });
  afterAll(async () => {
    await app?.stop();
    redis?.disconnect();
    await redisLink?.close();
  });

  // Fail open, on purpose: every handler is safe to run twice, and refusing every request while
  // Redis is away would also refuse /jit revoke and /jit freeze when they matter most.
  it('lets signed requests and redelivered events through, and checks again once Redis is back', async () => {
    redisLink.cut();
    await expect.poll(() => redis.status).not.toBe('ready');
    const body = slashCommandBody({
      text: 'help',
      user_id: users.alice,
      response_url: h.fake.responseUrl('offline'),
    });
    const signedAt = Math.floor(Date.now() / 1000);
    expect((await postSigned(url, signingSecret, body, form, {}, signedAt)).status).toBe(200);
    const reply = await h.fake.waitForResponse((post) => post.id === 'offline');
    expect(String(reply.body.text)).toContain('/jit request');

    const publishes = () =>
      h.fake.callsTo('views.publish').filter((c) => c.ok && c.args.user_id === users.frank);
    const opened = { type: 'app_home_opened', user: users.frank, tab: 'home' };
    await postEvent(url, signingSecret, opened, { eventId: 'EvOFFLINE001' });
    await postEvent(url, signingSecret, opened, {
      eventId: 'EvOFFLINE001',
      retryNum: 1,
      retryReason: 'http_timeout',
    });
    await expect.poll(() => publishes().length).toBe(2);

    redisLink.restore();
    await expect.poll(() => redis.status, { timeout: 10_000 }).toBe('ready');
    // Not remembered while Redis was away, so this one replay still goes through.
    expect((await postSigned(url, signingSecret, body, form, {}, signedAt)).status).toBe(200);
    expect((await postSigned(url, signingSecret, body, form, {}, signedAt)).status).toBe(401);
  });
});
