import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { actionIds } from '../../src/slack/views/request-card.js';
import type { WebhookCall } from '../support/fake-webhook.js';
import { blockActionPayload, postSigned, postSlashCommand } from '../support/slack-signing.js';
import { type BotProcess, type Rig, signingSecret, startRig, users } from './rig.js';

/**
 * Revocation survives process-level faults. The bot runs as separate OS processes on a real
 * PostgreSQL and a Redis of this file's own, granting through the webhook provider to a receiver
 * that can kill the calling process (SIGKILL) after applying a call and before answering it.
 *
 * - Several processes share the database and Redis: one Slack click delivered to two of them is
 *   applied once, every expiry is recorded once, and killing one loses nothing.
 * - Redis loses its data (FLUSHALL, or a restart without persistence) while grants are active:
 *   the reconcile sweep re-creates the expiry jobs from the database and every grant still
 *   ends. How late is bounded by the sweep interval (`reconcileMs` here, 30 s in production);
 *   the lateness is recorded as an annotation, not asserted.
 * - A process dies between the target's grant (or revoke) and recording it, and is started
 *   again: BullMQ hands the dead process's job on once its claim lapses, or the guard job of a
 *   release or revoke from Slack comes due; the call is repeated (providers are idempotent) and
 *   the step is recorded once.
 *
 * Jobs run at least once (a process that stops renewing its claim on a job, dead or starved of
 * CPU, has it run again elsewhere), so calls to the target may repeat. What must happen once is
 * what is recorded: each step of a request is one audit event, and that is what is asserted.
 */

const reconcileMs = 500;

let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ reconcileMs });
  // Started together, which is quicker than one after the other; the first tests need two.
  await rig.running(2);
});
afterEach(() => {
  rig.receiver.onCall = undefined;
});
afterAll(async () => {
  await rig?.stop();
});

const rows = (ids: string[]) =>
  rig.db.prisma.accessRequest.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });
const states = async (ids: string[]) => (await rows(ids)).map((row) => row.state);
const everyOne = (ids: string[], state: string) => ids.map(() => state);
const callsFor = (action: string, id: string) =>
  rig.receiver.callsFor(action).filter((call) => call.body.requestId === id);
const answered = (calls: WebhookCall[]) => calls.filter((call) => call.status === 200);

/** The whole audit trail of a grant that ran its course: each step exactly once. */
const expiredTrail = {
  'request.created': 1,
  'request.approved': 1,
  'request.active': 1,
  'request.expired': 1,
};

/**
 * Auto-approved grants on the webhook target, through the given processes in turn, once each
 * is granted there and recorded (a short one may be over again by the time this returns).
 */
async function grants(bots: BotProcess[], durations: string[], created?: string[]): Promise<string[]> {
  const ids = await Promise.all(
    durations.map(async (duration, i) => {
      const via = bots[i % bots.length] as BotProcess;
      const id = await rig.request(via, users.alice, 'ticketing-oncall', duration);
      created?.push(id);
      return id;
    }),
  );
  const granted = async () => (await rows(ids)).filter((row) => row.grantedAt !== null).length;
  await expect.poll(granted, { timeout: 10_000 }).toBe(ids.length);
  for (const id of ids) expect(answered(callsFor('grant', id))).not.toEqual([]);
  return ids;
}

/** Grants in force: active in the database and held by the target. */
async function expectActive(ids: string[]): Promise<void> {
  expect(await states(ids)).toEqual(everyOne(ids, 'active'));
  expect(ids.filter((id) => rig.receiver.held.has(id))).toEqual(ids);
}

async function expectExpiredOnce(ids: string[], timeout = 20_000): Promise<void> {
  await expect.poll(() => states(ids), { timeout }).toEqual(everyOne(ids, 'expired'));
  expect(ids.filter((id) => rig.receiver.held.has(id))).toEqual([]);
  for (const id of ids) expect(await rig.auditActions(id)).toEqual(expiredTrail);
}

/** Worst time from a grant's expiry to its end being recorded, in ms. */
async function worstLateness(ids: string[]): Promise<number> {
  const ended = await rows(ids);
  return Math.max(...ended.map((row) => Number(row.endedAt) - Number(row.expiresAt)));
}

/** The interrupted call came first; the restarted process made it again, and got an answer. */
function expectRepeatedAfterRestart(calls: WebhookCall[], victim: BotProcess | undefined): void {
  expect(calls[0]?.status).toBe(0);
  expect(rig.callerOf(calls[0] as WebhookCall)).toBe(victim);
  const after = answered(calls.slice(1));
  expect(after).not.toEqual([]);
  expect(after.every((call) => rig.callerOf(call) !== victim)).toBe(true);
}

function survivorOf(bots: BotProcess[], victim: BotProcess | undefined): BotProcess | undefined {
  return bots.find((bot) => bot !== victim);
}

/**
 * The receiver applies the first `action` call for one of `requestIds` (the target changes),
 * then kills the process that made it, unanswered.
 */
function killCallerOn(action: string, requestIds: string[]) {
  const caught: { call?: WebhookCall; victim?: BotProcess } = {};
  rig.receiver.onCall = (call) => {
    if (caught.call || call.action !== action || !requestIds.includes(String(call.body.requestId))) {
      return undefined;
    }
    caught.call = call;
    caught.victim = rig.callerOf(call);
    void caught.victim?.kill();
    return { status: 0, hang: true };
  };
  return caught;
}

describe('several bot processes on one database and Redis', () => {
  it('approves and grants once when one click reaches two processes, and a second click too', async () => {
    const bots = await rig.running(2);
    const id = await rig.request(bots[0] as BotProcess, users.dave, 'ticketing-admin', '1h');
    const ask = await rig.fake.waitFor(
      'chat.postMessage',
      (c) => c.ok && c.args.channel === `D${users.bob}` && String(c.args.text).includes(id),
    );
    const message = { channel: String(ask.args.channel), ts: String(ask.result.ts) };
    // Byte for byte the same delivery to both (the replay guard may refuse the second), and a
    // double click, a delivery of its own, to both as well: the database decides.
    const form = 'application/x-www-form-urlencoded';
    const deliveries = [approveClickBody(id, message), approveClickBody(id, message)];
    await Promise.all(
      deliveries.flatMap((body) => bots.map((bot) => postSigned(bot.url, signingSecret, body, form))),
    );

    await expect.poll(() => states([id]), { timeout: 10_000 }).toEqual(['active']);
    expect(await rig.db.prisma.approval.count({ where: { requestId: id } })).toBe(1);
    expect(await rig.auditActions(id)).toEqual({
      'request.created': 1,
      'request.approved': 1,
      'request.active': 1,
    });
    expect(answered(callsFor('grant', id))).not.toEqual([]);
    expect(rig.receiver.held.has(id)).toBe(true);
  });

  it('expires every grant once, though a process is killed in the middle of revoking', async ({
    annotate,
  }) => {
    const bots = await rig.running(2);
    const ids: string[] = [];
    // Whichever process makes the first revoke call dies in it, with more grants due.
    const caught = killCallerOn('revoke', ids);
    await grants(bots, ['2s', '2s', '2s', '2s', '2s', '2s'], ids);

    await expectExpiredOnce(ids, 25_000);
    expect(caught.victim?.killed).toBe(true);
    // The interrupted revoke was taken over by the process still alive.
    const interrupted = callsFor('revoke', String(caught.call?.body.requestId));
    expect(answered(interrupted).map((call) => rig.callerOf(call))).toContain(
      survivorOf(bots, caught.victim),
    );
    await annotate(`worst expiry lateness with a process killed: ${await worstLateness(ids)} ms`);
  });
});

describe('Redis losing its data while grants are active', () => {
  it('still expires every grant after FLUSHALL', async ({ annotate }) => {
    const ids = await grants(await rig.running(1), ['3s', '4s']);
    await expectActive(ids);
    const flushedAt = Date.now();
    await rig.redis.flushAll();
    // Their expiry jobs were still waiting in Redis, and went with it.
    for (const row of await rows(ids)) expect(Number(row.expiresAt)).toBeGreaterThan(flushedAt);

    await expectExpiredOnce(ids);
    await annotate(`worst expiry lateness after FLUSHALL: ${await worstLateness(ids)} ms`);
  });

  it('still expires every grant after Redis restarts empty, one of them due during the outage', async ({
    annotate,
  }) => {
    const [bot] = await rig.running(1);
    const ids = await grants([bot as BotProcess], ['3s', '4s']);
    await expectActive(ids);
    const firstDue = Math.min(...(await rows(ids)).map((row) => Number(row.expiresAt)));
    await rig.redis.stop();
    const ready = async () => (await fetch(`${bot?.origin}/readyz`)).status;
    await expect.poll(ready, { timeout: 10_000 }).toBe(503);
    // Redis stays away until the first grant is due, so its expiry falls in the outage.
    await expect.poll(() => Date.now(), { timeout: 10_000 }).toBeGreaterThan(firstDue);
    expect(await states(ids)).toEqual(['active', 'active']);
    await rig.redis.start();

    await expectExpiredOnce(ids);
    await expect.poll(ready, { timeout: 10_000 }).toBe(200);
    await annotate(`worst expiry lateness across the restart: ${await worstLateness(ids)} ms`);
  });
});

describe('a bot process killed mid-operation', () => {
  it('completes a grant the target applied just before the process died, once', async () => {
    const [bot] = (await rig.running(1)) as [BotProcess];
    const id = await rig.request(bot, users.dave, 'ticketing-admin', '1h');
    const ask = await rig.fake.waitFor(
      'chat.postMessage',
      (c) => c.ok && c.args.channel === `D${users.bob}` && String(c.args.text).includes(id),
    );
    const caught = killCallerOn('grant', [id]);
    const click = await postSigned(
      bot.url,
      signingSecret,
      approveClickBody(id, { channel: String(ask.args.channel), ts: String(ask.result.ts) }),
      'application/x-www-form-urlencoded',
    );
    expect(click.status).toBe(200);

    await expect.poll(() => caught.victim?.killed, { timeout: 15_000 }).toBe(true);
    expect(caught.victim).toBe(bot);
    // The target holds the grant; the database still says approved.
    expect(rig.receiver.held.has(id)).toBe(true);
    expect(await states([id])).toEqual(['approved']);

    await rig.running(1); // the restart
    await expect.poll(() => states([id]), { timeout: 20_000 }).toEqual(['active']);
    expect(rig.receiver.held.has(id)).toBe(true);
    expectRepeatedAfterRestart(callsFor('grant', id), caught.victim);
    expect(await rig.auditActions(id)).toEqual({
      'request.created': 1,
      'request.approved': 1,
      'request.active': 1,
    });
  });

  it('completes an expiry the target applied just before the process died, once', async () => {
    const [bot] = (await rig.running(1)) as [BotProcess];
    const id = await rig.request(bot, users.alice, 'ticketing-oncall', '2s');
    const caught = killCallerOn('revoke', [id]);
    await expect.poll(() => caught.victim?.killed, { timeout: 15_000 }).toBe(true);
    expect(caught.victim).toBe(bot);
    // Taken back on the target; the database still says active.
    expect(rig.receiver.held.has(id)).toBe(false);
    expect(await states([id])).toEqual(['active']);

    await rig.running(1); // the restart
    await expectExpiredOnce([id]);
    expectRepeatedAfterRestart(callsFor('revoke', id), caught.victim);
  });

  it.each([
    ["an admin's revoke", { userId: users.sec, command: 'revoke {id} laptop stolen', ends: 'revoked' }],
    ["the requester's release", { userId: users.alice, command: 'release {id}', ends: 'released' }],
  ])('completes %s the target applied just before the process died, once', async (_how, end) => {
    const [bot] = (await rig.running(1)) as [BotProcess];
    const id = await rig.request(bot, users.alice, 'ticketing-oncall', '1h');
    await expect.poll(() => states([id]), { timeout: 10_000 }).toEqual(['active']);
    const caught = killCallerOn('revoke', [id]);
    const sent = postSlashCommand(bot.url, signingSecret, {
      text: end.command.replace('{id}', id),
      user_id: end.userId,
      response_url: rig.fake.responseUrl(),
    }).catch(() => undefined); // the process handling it may die before it answers

    await expect.poll(() => caught.victim?.killed, { timeout: 15_000 }).toBe(true);
    expect(caught.victim).toBe(bot);
    expect(rig.receiver.held.has(id)).toBe(false);
    expect(await states([id])).toEqual(['active']);

    await rig.running(1); // the restart
    // Not left active, which drift detection would "repair" by granting it again.
    await expect.poll(() => states([id]), { timeout: 20_000 }).toEqual([end.ends]);
    expect(rig.receiver.held.has(id)).toBe(false);
    expectRepeatedAfterRestart(callsFor('revoke', id), caught.victim);
    expect(await rig.auditActions(id)).toEqual({
      'request.created': 1,
      'request.approved': 1,
      'request.active': 1,
      [`request.${end.ends}`]: 1,
    });
    const ended = await rig.db.prisma.auditEvent.findFirstOrThrow({
      where: { requestId: id, action: `request.${end.ends}` },
    });
    expect(ended.actor).toBe(end.userId);
    await sent;
  });
});

/** The Approve button on the approver's DM, as Slack posts it. */
function approveClickBody(requestId: string, message: { channel: string; ts: string }): string {
  const payload = blockActionPayload({
    user_id: users.bob,
    action_id: actionIds.approve,
    value: requestId,
    channel_id: message.channel,
    message_ts: message.ts,
    response_url: rig.fake.responseUrl(),
  });
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
