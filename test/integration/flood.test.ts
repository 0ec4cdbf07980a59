import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIds, queueNames } from '../../src/jobs/queues.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';
import { postRoutineEvents } from '../support/routine-events.js';

/**
 * Floods, through the real bot on real Redis: a per-user command rate with a clear answer, a cap
 * on the refusals one person can put on the audit trail, and alerts that reach the security
 * channel ahead of a backlog of routine posts.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ limits: { commandsPerWindow: 3, refusalsPerWindow: 2, windowMs: 60_000 } });
});
afterAll(async () => {
  await h?.stop();
});

const text = (reply: { body: Record<string, unknown> }) => String(reply.body.text);

describe('per-user command rate', () => {
  it('answers "slow down" past the rate and writes nothing; taking access back is never limited', async () => {
    for (let i = 0; i < 3; i++)
      expect(text((await h.slash(users.carol, 'list')).reply)).not.toMatch(/Slow down/);
    const before = await h.db.prisma.accessRequest.count();
    const refused = await h.slash(users.carol, 'request prod-db-write 1h INC-800 one too many');
    expect(text(refused.reply)).toMatch(/^:hourglass: Slow down/);
    expect(await h.db.prisma.accessRequest.count()).toBe(before);

    // Release still goes through (here: to the answer that there is no such request).
    const release = await h.slash(users.carol, 'release JIT-ZZZZZZ');
    expect(text(release.reply)).not.toMatch(/Slow down/);
    expect(text(release.reply)).toMatch(/JIT-ZZZZZZ/);
    // Other people are not slowed down by carol.
    expect(text((await h.slash(users.dave, 'list')).reply)).not.toMatch(/Slow down/);
  });
});

describe('refusal audit cap', () => {
  it('audits only the first refusals of one person, while every click is still refused', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    const message = await h.approverMessage(id, users.bob);
    const refusals = () =>
      h.fake.responses.filter(
        (r) => r.id.startsWith('click-') && String(r.body.text).includes('not an approver'),
      ).length;
    const before = refusals();
    for (let i = 1; i <= 5; i++) {
      await h.click(users.eve, actionIds.approve, id, message);
      // Each refusal is audited (or not) before the click is answered.
      await expect.poll(refusals).toBe(before + i);
    }
    const audited = await h.db.prisma.auditEvent.count({
      where: { requestId: id, action: 'approval.refused', actor: users.eve },
    });
    expect(audited).toBe(2);
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);
    await h.slash(users.alice, `release ${id}`);
  });
});

describe('security channel order', () => {
  it('posts a freeze ahead of a backlog of routine audit posts', async () => {
    const poster = h.bot.workers.find((worker) => worker.name === queueNames.audit);
    if (!poster) throw new Error('no audit poster');
    // Whatever earlier tests left to post is posted first, so the backlog is this test's own.
    await expect.poll(() => h.db.prisma.auditEvent.count({ where: { postedAt: null } })).toBe(0);
    await poster.pause();
    await postRoutineEvents(h, 'test.routine', 15);
    await h.slash(users.sec, `freeze <@${users.eve}> INC-801 suspicious clicking`);
    const freeze = await h.db.prisma.auditEvent.findFirstOrThrow({
      where: { action: 'freeze.created' },
      orderBy: { id: 'desc' },
    });
    // Its post job is in the queue before the poster goes on.
    await expect.poll(() => h.bot.queues.audit.getJobState(jobIds.audit(freeze.id))).toBe('waiting');
    const seen = h.fake.calls.length;
    poster.resume();

    await h.fake.waitFor(
      'chat.postMessage',
      (c) => c.args.channel === securityChannel && String(c.args.text).startsWith('test.routine'),
    );
    const posts = h.fake.calls
      .slice(seen)
      .filter((c) => c.method === 'chat.postMessage' && c.args.channel === securityChannel)
      .map((c) => String(c.args.text).split(' ')[0]);
    expect(posts[0]).toBe('freeze.created');
    await h.slash(users.sec, `unfreeze <@${users.eve}>`);
  });
});
