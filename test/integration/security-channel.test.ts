import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier, MessageBeingPosted } from '../../src/slack/notifier.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { grantedRequest } from '../support/granted-request.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';
import { postRoutineEvents } from '../support/routine-events.js';

/**
 * The security channel as people read it, with the fake Slack holding `chat.postMessage` to
 * Slack's rate (about one a second per channel, short bursts, then 429 + Retry-After): one card
 * per request at the top level, updated in place, telling the request's routine steps, with its
 * other audit events in its thread; alerts at the
 * top level; nothing lost or posted twice while Slack says "wait".
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ slackPostRate: { perSecond: 1, burst: 5 } });
});
afterAll(async () => {
  await h?.stop();
});

const channelPosts = () =>
  h.fake.callsTo('chat.postMessage').filter((c) => c.args.channel === securityChannel);

/**
 * The posts still in the channel. Two follow-ups that both find the request without a card may
 * both post one; the one that loses the race to record it deletes its own, so people see one.
 */
const stillThere = (c: ReturnType<typeof channelPosts>[number]) =>
  c.ok && h.fake.message(securityChannel, String(c.result.ts)) !== undefined;
const inChannel = () => channelPosts().filter(stillThere);

/** Until every audit event so far is in Slack (the poster waits out the rate). */
async function allPosted(): Promise<void> {
  await expect
    .poll(() => h.db.prisma.auditEvent.count({ where: { postedAt: null } }), {
      timeout: 30_000,
      interval: 100,
    })
    .toBe(0);
}

/** Runs `call`, and again after Slack's Retry-After while the channel's post rate is spent. */
async function waitingOutTheRate<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const { code, retryAfter } = error as { code?: string; retryAfter?: number };
      if (code !== 'slack_webapi_rate_limited_error' || retryAfter === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    }
  }
}

describe('security channel', () => {
  it('shows one card per request, kept up to date in place, telling its routine steps in words', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m', 'INC-1200 checking a migration');
    await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
    await h.dmTo(users.alice, `${id}\`: you have`);
    await h.slash(users.alice, `release ${id}`);
    await allPosted();

    const aboutIt = inChannel().filter((c) => String(c.args.text).includes(id));
    // One message in the channel for the whole lifecycle: the card. Its steps are on it, so the
    // thread stays empty and the audit events count as posted once the card shows them.
    expect(aboutIt.map((c) => [String(c.args.text).split(':')[0], c.args.thread_ts])).toEqual([
      [`Grant ${id}`, undefined],
    ]);
    const cardTs = String(aboutIt[0]?.result.ts);
    const events = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => e.action)).toEqual([
      'request.created',
      'request.approved',
      'request.active',
      'request.released',
    ]);
    expect(events.every((e) => e.postedAt !== null)).toBe(true);
    await expect.poll(() => h.fake.message(securityChannel, cardTs)?.text).toContain('(released)');
    const shown = JSON.stringify(h.fake.message(securityChannel, cardTs)?.blocks);
    for (const part of [
      `Approved by <@${users.bob}>`,
      `\`${h.login('alice')}\``,
      'INC-1200 checking a migration',
    ]) {
      expect(shown).toContain(part);
    }
    expect(shown).not.toContain('jit.revoke'); // the Revoke button went with the grant
  });

  it("keeps an approver's card at the decision: the grant's later steps change it no more", async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m', 'INC-1201 reading a table');
    const card = await h.approverMessage(id, users.bob);
    await h.click(users.bob, actionIds.approve, id, card);
    await h.dmTo(users.alice, `${id}\`: you have`);
    await h.slash(users.alice, `release ${id}`);
    await h.securityCard(id, '(released)', 15_000);
    await allPosted();

    const shown = h.fake.message(card.channel, card.ts);
    expect(shown?.text).toContain('(approved)');
    expect(JSON.stringify(shown?.blocks)).toContain(`approved by <@${users.bob}>`);
    expect(JSON.stringify(shown?.blocks)).not.toContain(actionIds.approve);
    // One update took the buttons away; granted and released rendered the same card, so neither
    // was sent to Slack again.
    const updates = h.fake
      .callsTo('chat.update')
      .filter((c) => c.ok && c.args.channel === card.channel && c.args.ts === card.ts);
    expect(updates).toHaveLength(1);
  });

  it('threads what the card does not say under it: a revoke, with who took the access away', async () => {
    const id = await grantedRequest(h, { requester: users.alice, resource: 'prod-db-write', duration: '1h' });
    await allPosted();
    await waitingOutTheRate(() => h.slash(users.sec, `revoke ${id} suspicious queries`));
    await allPosted();

    const aboutIt = inChannel().filter((c) => String(c.args.text).includes(id));
    const [card, ...replies] = aboutIt;
    expect(card?.args.thread_ts).toBeUndefined();
    expect(replies.map((c) => [String(c.args.text), c.args.thread_ts])).toEqual([
      [`request.revoked ${id} by ${users.sec}`, card?.result.ts],
    ]);
    await expect
      .poll(() => h.fake.message(securityChannel, String(card?.result.ts))?.text)
      .toContain('(revoked)');
  });

  it('keeps alerts at the top level, and sums a freeze over many grants up in one message', async () => {
    const ids = [
      await grantedRequest(h, { requester: users.alice, resource: 'prod-db-write', duration: '1h' }),
      await grantedRequest(h, { requester: users.eve, resource: 'prod-db-write', duration: '1h' }),
      await grantedRequest(h, { requester: users.dave, resource: 'prod-db-write', duration: '1h' }),
    ];
    await allPosted();
    const before = channelPosts().length;
    await h.slash(users.sec, 'freeze all INC-1201 credential leak');
    await h.slash(users.sec, 'unfreeze all');
    await allPosted();

    const posts = channelPosts().slice(before).filter(stillThere);
    const topLevel = posts.filter((c) => c.args.thread_ts === undefined).map((c) => String(c.args.text));
    expect(topLevel).toEqual([
      `freeze.created by ${users.sec}`,
      `revoke.bulk by ${users.sec}`,
      `freeze.lifted by ${users.sec}`,
    ]);
    const summary = posts.find((c) => String(c.args.text).startsWith('revoke.bulk'));
    expect(JSON.stringify(summary?.args.blocks)).toContain('count: 3');
    // No message per grant; each grant's card shows the revoke.
    expect(posts.filter((c) => String(c.args.text).startsWith('request.revoked'))).toEqual([]);
    for (const id of ids) {
      // The card as recorded once it is in Slack (a post Slack asked to wait is posted again).
      const cardText = async () => {
        const card = await h.db.prisma.slackMessage.findFirst({
          where: { requestId: id, purpose: 'security' },
        });
        return card ? h.fake.message(securityChannel, card.ts)?.text : undefined;
      };
      await expect.poll(cardText, { timeout: 15_000 }).toContain('(revoked)');
    }
    expect(
      await h.db.prisma.auditEvent.count({ where: { action: 'request.revoked', requestId: { in: ids } } }),
    ).toBe(3);
  });

  it('posts a burst beyond the rate exactly once each, waiting as Slack says', async () => {
    const before = channelPosts().length;
    await postRoutineEvents(h, 'test.burst', 12);
    await allPosted();

    const burst = channelPosts()
      .slice(before)
      .filter((c) => String(c.args.text).startsWith('test.burst'));
    expect(burst.filter((c) => !c.ok).map((c) => c.error)).toContain('ratelimited');
    const posted = burst.filter((c) => c.ok).map((c) => JSON.stringify(c.args.blocks));
    expect(posted).toHaveLength(12);
    expect(new Set(posted).size).toBe(12);
  });

  it('keeps the order of events while Slack says wait: a later event does not overtake', async () => {
    await allPosted();
    const before = channelPosts().length;
    // The first post is answered 429 with a long Retry-After; the second event is already queued.
    h.fake.failNext('chat.postMessage', { retryAfter: 2 });
    await postRoutineEvents(h, 'test.order', 3);
    await allPosted();

    const posted = channelPosts()
      .slice(before)
      .filter((c) => c.ok && String(c.args.text).startsWith('test.order'))
      .map((c) => Number(/n: (\d+)/.exec(JSON.stringify(c.args.blocks))?.[1]));
    expect(posted).toEqual([0, 1, 2]);
  });

  it('posts one card when two processes look for it at the same moment: the second finds the first', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m', 'INC-1203 two replicas at once');
    await allPosted();
    const [first] = await h.db.prisma.slackMessage.findMany({
      where: { requestId: id, purpose: 'security' },
    });
    // A second replica that looked for the card a moment before the first one recorded it: its
    // read answers "none", everything after it is the real database and the fake Slack.
    const earlyRead = new Proxy(h.bot.deps.db, {
      get(db, key) {
        if (key !== 'accessRequest') return Reflect.get(db, key);
        const requests = db.accessRequest;
        return new Proxy(requests, {
          get: (target, method) =>
            method === 'findUnique'
              ? async (args: Parameters<typeof requests.findUnique>[0]) => {
                  const found = await requests.findUnique(args);
                  return found && 'messages' in found ? { ...found, messages: [] } : found;
                }
              : Reflect.get(target, method),
        });
      },
    });
    const late = createNotifier({ ...h.bot.deps, db: earlyRead }, h.bot.app.client);
    const postsBefore = channelPosts().length;

    const ts = await late.securityThread(id);

    expect(ts).toBe(first?.ts);
    const kept = await h.db.prisma.slackMessage.findMany({ where: { requestId: id, purpose: 'security' } });
    expect(kept.map((m) => m.ts)).toEqual([first?.ts]);
    // Its claim on the card's record lost to the first one's, so it posted nothing at all.
    expect(channelPosts().slice(postsBefore)).toEqual([]);
  });

  it('waits for a card another process is posting, and takes over the claim of one that died', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m', 'INC-1204 a replica died mid-post');
    await allPosted();
    const card = await h.db.prisma.slackMessage.findFirstOrThrow({
      where: { requestId: id, purpose: 'security' },
    });
    // As a replica leaves it that claimed the card and has not recorded its ts (yet, or ever).
    const claimed = (at: Date) =>
      h.db.prisma.slackMessage.update({ where: { id: card.id }, data: { ts: '', createdAt: at } });
    const notifier = createNotifier(h.bot.deps, h.bot.app.client);
    const postsBefore = channelPosts().length;

    await claimed(h.bot.deps.clock.now());
    await expect(notifier.securityThread(id)).rejects.toBeInstanceOf(MessageBeingPosted);
    expect(channelPosts().slice(postsBefore)).toEqual([]);

    await claimed(new Date(h.bot.deps.clock.now().getTime() - 3 * 60_000));
    const ts = await waitingOutTheRate(() => notifier.securityThread(id));

    const posts = channelPosts().slice(postsBefore).filter(stillThere);
    expect(posts.map((c) => [String(c.args.text).split(':')[0], c.result.ts])).toEqual([[`Grant ${id}`, ts]]);
    const now = await h.db.prisma.slackMessage.findMany({ where: { requestId: id, purpose: 'security' } });
    expect(now.map((m) => m.ts)).toEqual([ts]);
  });
});
