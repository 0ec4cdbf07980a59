import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIds } from '../../src/jobs/queues.js';
import { reconcileQueues } from '../../src/jobs/reconcile.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { loseQueueData } from '../support/bot-queues.js';
import { type Harness, startHarness, users } from '../support/harness.js';

/**
 * `approvals[].escalateAfter` with `escalateTo`: a level nobody decided in time asks its fallback
 * approvers too, through the delayed `escalate` job; the first approvers keep their buttons, the
 * fallback approver's approval counts, and the escalation is audited once; a job Redis lost is
 * added back by the sweep from the database.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    extraResources: `
  escalating-db:
    description: Escalates to the platform lead when the DBA does not answer
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvalTimeout: 10m
    approvals:
      - from: { users: [${users.bob}] }
        escalateAfter: 1s
        escalateTo: { users: [${users.dave}] }
  slow-escalating-db:
    description: Escalates after twenty minutes
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvalTimeout: 1h
    approvals:
      - from: { users: [${users.bob}] }
        escalateAfter: 20m
        escalateTo: { users: [${users.dave}] }`,
  });
});
afterAll(async () => {
  await h?.stop();
});

describe('escalation', () => {
  it('asks the fallback approver once the level waited escalateAfter, whose approval counts', async () => {
    const id = await h.request(users.alice, 'escalating-db', '30m');
    await h.approverMessage(id, users.bob);
    // Before the escalation, dave may not approve.
    expect(h.fake.callsTo('chat.postMessage').some((c) => c.args.channel === `D${users.dave}`)).toBe(false);

    const daveCard = await h.approverMessage(id, users.dave);
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request).toMatchObject({ state: 'pending', escalatedLevels: [0] });
    const escalated = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id, action: 'request.escalated' },
    });
    expect(escalated).toHaveLength(1);
    expect(escalated[0]?.details).toMatchObject({
      level: 1,
      escalateAfter: '1s',
      escalateTo: { users: [users.dave] },
    });

    // The cards say it in words: the security card, and bob's card, brought up to date in place.
    await h.securityCard(id, 'first level escalated to its fallback approvers', 15_000);
    await h.fake.waitFor(
      'chat.update',
      (c) =>
        c.ok &&
        c.args.channel === `D${users.bob}` &&
        JSON.stringify(c.args.blocks).includes(', escalated to its fallback approvers'),
      { timeoutMs: 15_000 },
    );

    await h.click(users.dave, actionIds.approve, id, daveCard);
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(await h.isMember(h.login('alice'))).toBe(true);
    await h.slash(users.alice, `release ${id}`);
  });

  it('does not escalate a level decided before escalateAfter', async () => {
    const { reply } = await h.slash(users.alice, 'request escalating-db 30m checking a report');
    const id = /JIT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0] as string;
    const bobCard = await h.approverMessage(id, users.bob);
    // bob decides at once, before escalateAfter: the escalation job then finds nothing to do.
    await h.click(users.bob, actionIds.approve, id, bobCard);
    await h.dmTo(users.alice, `${id}\`: you have`);
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request.escalatedLevels).toEqual([]);
    await h.slash(users.alice, `release ${id}`);
  });

  it('escalates after Redis lost the job: the sweep adds it back from the database', async () => {
    const id = await h.request(users.alice, 'slow-escalating-db', '30m');
    await h.approverMessage(id, users.bob);
    expect(await h.bot.queues.approval.getJob(jobIds.approval('escalate', id))).toBeDefined();
    expect(await loseQueueData(h.bot)).toBeGreaterThan(0);
    expect(await h.bot.queues.approval.getJob(jobIds.approval('escalate', id))).toBeUndefined();

    // Twenty-one minutes pass for this request (its row says so); nothing in Redis would escalate it.
    await h.db.prisma.accessRequest.update({
      where: { id },
      data: { createdAt: new Date(Date.now() - 21 * 60_000) },
    });
    const report = await reconcileQueues(h.bot.deps, h.bot.queues);
    expect(report.approvalDeadlines).toBeGreaterThanOrEqual(1);

    const daveCard = await h.approverMessage(id, users.dave);
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request).toMatchObject({ state: 'pending', escalatedLevels: [0] });
    expect(
      await h.db.prisma.auditEvent.count({ where: { requestId: id, action: 'request.escalated' } }),
    ).toBe(1);
    await h.click(users.dave, actionIds.approve, id, daveCard);
    await h.dmTo(users.alice, `${id}\`: you have`);
    await h.slash(users.alice, `release ${id}`);
  });
});
