import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remindApprovers, timeOutRequest } from '../../src/app/approval-timeout.js';
import type { Deps } from '../../src/app/deps.js';
import { type ApprovalStep, jobIds } from '../../src/jobs/queues.js';
import { reconcileQueues } from '../../src/jobs/reconcile.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { loseQueueData } from '../support/bot-queues.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    extraResources: `
  short-wait:
    description: Times out quickly when nobody answers
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 10m, max: 1h }
    approvals:
      - from: { users: [UBOB0001], groups: [S0DBA] }
    approvalTimeout: 6s`,
  });
});
afterAll(async () => {
  await h?.stop();
});

const hourMs = 60 * 60 * 1000;

function findRequest(id: string) {
  return h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
}

/** The bot's own deps, looking at the world at another time. */
function at(time: Date): Deps {
  return { ...h.bot.deps, clock: { now: () => time } };
}

function reminderCalls(id: string, userId: string) {
  return h.fake
    .callsTo('chat.postMessage')
    .filter((c) => c.args.channel === `D${userId}` && String(c.args.text).includes(`Reminder: ${id}`));
}

/** Resolves with what the deadline job returned once it has run for good. */
async function deadlineJobResult(step: ApprovalStep, id: string): Promise<unknown> {
  const job = () => h.bot.queues.approval.getJob(jobIds.approval(step, id));
  await expect.poll(async () => (await job())?.getState(), { timeout: 15_000 }).toBe('completed');
  return (await job())?.returnvalue;
}

async function auditActions(id: string) {
  const events = await h.db.prisma.auditEvent.findMany({ where: { requestId: id }, orderBy: { id: 'asc' } });
  return events.map((e) => ({ action: e.action, actor: e.actor }));
}

describe('approval timeout', () => {
  it('reminds each waiting approver once at half time, then times out and refuses a late approval', async () => {
    const id = await h.request(users.alice, 'short-wait', '10m');
    const bobCard = await h.approverMessage(id, users.bob);
    const carolCard = await h.approverMessage(id, users.carol);

    const reminder = await h.dmTo(users.bob, `Reminder: ${id}`);
    expect(reminder.args.thread_ts).toBe(bobCard.ts);
    expect((await h.dmTo(users.carol, `Reminder: ${id}`)).args.thread_ts).toBe(carolCard.ts);
    await h.fake.waitFor(
      'chat.postMessage',
      (c) => c.args.channel === securityChannel && String(c.args.text).startsWith(`request.reminded ${id}`),
    );

    await h.dmTo(users.alice, `${id}\`: nobody approved`);
    const request = await findRequest(id);
    expect(request.state).toBe('timed_out');
    expect(request.endReason).toBe('nobody approved within 6s');
    expect(request.endedAt).not.toBeNull();
    expect(request.remindedAt).not.toBeNull();
    await h.securityCard(id, 'No decision in time');

    // The cards lose their buttons, and the reminder says it no longer needs them.
    for (const card of [bobCard, carolCard]) {
      await h.fake.waitFor(
        'chat.update',
        (c) => c.args.ts === card.ts && String(c.args.text).includes('(timed out)'),
      );
      expect(JSON.stringify(h.fake.message(card.channel, card.ts)?.blocks)).not.toContain(actionIds.approve);
    }
    await h.fake.waitFor(
      'chat.update',
      (c) => c.args.ts === String(reminder.result.ts) && String(c.args.text).includes('no longer needs you'),
    );

    await h.click(users.bob, actionIds.approve, id, bobCard);
    await h.fake.waitForResponse((r) => String(r.body.text).includes(`${id} is already timed out`));
    expect((await findRequest(id)).state).toBe('timed_out');
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);

    expect(await deadlineJobResult('remind', id)).toBe('reminded');
    expect(await deadlineJobResult('timeout', id)).toBe('timed-out');
    expect(reminderCalls(id, users.bob)).toHaveLength(1);
    expect(reminderCalls(id, users.carol)).toHaveLength(1);
    expect(reminderCalls(id, users.alice)).toHaveLength(0);
    const actions = await auditActions(id);
    expect(actions.filter((a) => a.action === 'request.reminded')).toEqual([
      { action: 'request.reminded', actor: 'system' },
    ]);
    expect(actions.filter((a) => a.action === 'request.timed_out')).toEqual([
      { action: 'request.timed_out', actor: 'system' },
    ]);
  });

  it('leaves a request approved in time alone: no reminder, no timeout', async () => {
    const id = await h.request(users.alice, 'short-wait', '10m');
    await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
    await h.dmTo(users.alice, `${id}\`: you have`);

    expect(await deadlineJobResult('remind', id)).toBe('nothing-to-do');
    expect(await deadlineJobResult('timeout', id)).toBe('nothing-to-do');
    const request = await findRequest(id);
    expect(request.state).toBe('active');
    expect(request.remindedAt).toBeNull();
    expect(reminderCalls(id, users.bob)).toHaveLength(0);
    expect(reminderCalls(id, users.carol)).toHaveLength(0);
    const actions = (await auditActions(id)).map((a) => a.action);
    expect(actions).not.toContain('request.reminded');
    expect(actions).not.toContain('request.timed_out');
    await h.slash(users.alice, `release ${id}`);
  });

  it('waits an hour by default, and a deadline that is not due yet changes nothing', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    await h.approverMessage(id, users.bob);
    const { createdAt } = await findRequest(id);
    const timeoutAt = new Date(createdAt.getTime() + hourMs);

    expect(await timeOutRequest(h.bot.deps, id)).toEqual({ outcome: 'not-due', dueAt: timeoutAt });
    expect(await remindApprovers(h.bot.deps, id)).toEqual({
      outcome: 'not-due',
      dueAt: new Date(createdAt.getTime() + hourMs / 2),
    });
    const job = await h.bot.queues.approval.getJob(jobIds.approval('timeout', id));
    expect(await job?.getState()).toBe('delayed');
    expect((await findRequest(id)).state).toBe('pending');

    expect(await timeOutRequest(at(timeoutAt), id)).toEqual({ outcome: 'timed-out' });
    expect(await timeOutRequest(at(timeoutAt), id)).toEqual({ outcome: 'nothing-to-do' });
    await h.dmTo(users.alice, `${id}\`: nobody approved`);
    expect((await findRequest(id)).endReason).toBe('nobody approved within 1h');
  });

  it('reminds only the approvers of the level now waiting who have not approved', async () => {
    const id = await h.request(users.alice, 'prod-db-two-level', '30m');
    await h.click(users.carol, actionIds.approve, id, await h.approverMessage(id, users.carol));
    const daveCard = await h.approverMessage(id, users.dave); // level 2: carol (approved) and dave
    const { createdAt } = await findRequest(id);

    const halfWay = at(new Date(createdAt.getTime() + hourMs / 2));
    expect(await remindApprovers(halfWay, id)).toEqual({ outcome: 'reminded' });
    expect((await h.dmTo(users.dave, `Reminder: ${id}`)).args.thread_ts).toBe(daveCard.ts);
    const { version } = await findRequest(id);
    const notify = await h.bot.queues.notify.getJob(jobIds.notify(id, 'remind-approvers', version));
    await expect.poll(() => notify?.getState()).toBe('completed');
    expect(reminderCalls(id, users.bob)).toHaveLength(0);
    expect(reminderCalls(id, users.carol)).toHaveLength(0);
    const reminded = await h.db.prisma.auditEvent.findFirstOrThrow({
      where: { requestId: id, action: 'request.reminded' },
    });
    expect(reminded.details).toMatchObject({ level: 2, approvers: [users.dave] });
    await h.slash(users.alice, `release ${id}`);
  });

  it('reminds once when the reminder runs twice at the same moment', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    await h.approverMessage(id, users.bob);
    await h.approverMessage(id, users.carol);
    const { createdAt } = await findRequest(id);

    const halfWay = at(new Date(createdAt.getTime() + hourMs / 2));
    const outcomes = await Promise.all([remindApprovers(halfWay, id), remindApprovers(halfWay, id)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['nothing-to-do', 'reminded']);
    await h.dmTo(users.bob, `Reminder: ${id}`);
    await h.dmTo(users.carol, `Reminder: ${id}`);

    // The delayed job's own run, brought forward, finds the reminder sent.
    await (await h.bot.queues.approval.getJob(jobIds.approval('remind', id)))?.promote();
    expect(await deadlineJobResult('remind', id)).toBe('nothing-to-do');
    const { version } = await findRequest(id);
    const notify = await h.bot.queues.notify.getJob(jobIds.notify(id, 'remind-approvers', version));
    await expect.poll(() => notify?.getState()).toBe('completed');
    expect(reminderCalls(id, users.bob)).toHaveLength(1);
    expect(reminderCalls(id, users.carol)).toHaveLength(1);
    const actions = (await auditActions(id)).map((a) => a.action);
    expect(actions.filter((a) => a === 'request.reminded')).toHaveLength(1);
    await h.slash(users.alice, `release ${id}`);
  });

  it('still reminds and times out after Redis lost the deadline jobs, once the sweep has run', async () => {
    const id = await h.request(users.alice, 'short-wait', '10m');
    await h.approverMessage(id, users.bob);
    expect(await loseQueueData(h.bot)).toBeGreaterThan(0);
    expect(await h.bot.queues.approval.getJob(jobIds.approval('timeout', id))).toBeUndefined();

    // The sweep leaves requests younger than a few seconds to the normal path; look from later.
    // From there both deadlines have passed, so the jobs run at once, find themselves early by
    // the bot's clock, and wait for their time.
    const report = await reconcileQueues(at(new Date(Date.now() + 60_000)), h.bot.queues);
    expect(report.approvalDeadlines).toBeGreaterThanOrEqual(2);
    for (const step of ['remind', 'timeout'] as const) {
      expect(await h.bot.queues.approval.getJob(jobIds.approval(step, id))).toBeDefined();
    }

    await h.dmTo(users.bob, `Reminder: ${id}`);
    await h.dmTo(users.alice, `${id}\`: nobody approved`);
    expect((await findRequest(id)).state).toBe('timed_out');
    expect(reminderCalls(id, users.bob)).toHaveLength(1);
  });
});
