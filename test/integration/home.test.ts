import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantActionIds } from '../../src/slack/views/grant-card.js';
import { homeActionIds } from '../../src/slack/views/home.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import type { SlackBlock } from '../../src/slack/views/text.js';
import { type Harness, signingSecret, startHarness, users } from '../support/harness.js';
import { postBlockAction, postEvent } from '../support/slack-signing.js';

/**
 * The App Home tab over the real Events API route: a signed `app_home_opened` callback, then
 * `views.publish` with what that person should see, and clicks on the tab itself.
 */

let h: Harness;
let alicesGrant: string;
let alicesPending: string;
let evesPending: string;

beforeAll(async () => {
  h = await startHarness();
  alicesGrant = await h.request(users.alice, 'prod-db-write', '1h', 'INC-42 failing migration');
  await h.click(users.bob, actionIds.approve, alicesGrant, await h.approverMessage(alicesGrant, users.bob));
  await h.dmTo(users.alice, `${alicesGrant}\`: you have`);
  alicesPending = await h.request(users.alice, 'prod-db-two-level', '30m', 'INC-43 reindex');
  evesPending = await h.request(users.eve, 'prod-db-write', '30m', 'INC-44 slow queries');
});
afterAll(async () => {
  await h?.stop();
});

interface Published {
  id: string;
  blocks: SlackBlock[];
  text: string;
  buttons: Array<{ action: string; value: string; label: string }>;
}

function published(call: { args: Record<string, unknown>; result: Record<string, unknown> }): Published {
  const blocks = (call.args.view as { blocks: SlackBlock[] }).blocks;
  const buttons = blocks.flatMap((block) => {
    const elements = block.type === 'actions' ? (block.elements as SlackBlock[]) : [];
    return [...elements, ...(block.accessory ? [block.accessory as SlackBlock] : [])].map((e) => ({
      action: String(e.action_id),
      value: String(e.value),
      label: (e.text as { text: string }).text,
    }));
  });
  return {
    id: String((call.result.view as { id: string }).id),
    blocks,
    text: JSON.stringify(blocks),
    buttons,
  };
}

/** The next `views.publish` for `userId` after `trigger` ran. */
async function nextHome(userId: string, trigger: () => Promise<{ status: number }>): Promise<Published> {
  const from = h.fake.calls.length;
  expect((await trigger()).status).toBe(200);
  const call = await h.fake.waitFor(
    'views.publish',
    (c) => h.fake.calls.indexOf(c) >= from && c.args.user_id === userId,
  );
  expect(call.ok, JSON.stringify(call.messages)).toBe(true);
  return published(call);
}

const homeOpened = (userId: string, tab = 'home') => ({
  type: 'app_home_opened',
  user: userId,
  channel: `D${userId}`,
  tab,
  event_ts: `${Math.floor(Date.now() / 1000)}.000100`,
});

const openHome = (userId: string) =>
  nextHome(userId, () => postEvent(h.url, signingSecret, homeOpened(userId)));

const clickOnHome = (userId: string, actionId: string, requestId: string, viewId: string) =>
  nextHome(userId, () =>
    postBlockAction(h.url, signingSecret, {
      user_id: userId,
      action_id: actionId,
      value: requestId,
      container: { type: 'view', view_id: viewId },
    }),
  );

const stateOf = async (id: string) =>
  (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state;

describe('App Home', () => {
  it('shows a requester their pending and active requests, with Release now / Extend and Withdraw', async () => {
    const home = await openHome(users.alice);
    expect(home.text).toContain(`\`${alicesGrant}\` \`prod-db-write\` for 1h: *active until`);
    expect(home.text).toContain(`\`${alicesPending}\` \`prod-db-two-level\` for 30m: *waiting for approval*`);
    expect(home.text).toContain('Nothing is waiting for you.');
    expect(home.text).not.toContain('Active grants');
    // Newest first.
    expect(home.buttons).toEqual([
      { action: homeActionIds.release, value: alicesPending, label: 'Withdraw' },
      { action: homeActionIds.release, value: alicesGrant, label: 'Release now' },
      { action: grantActionIds.extend, value: alicesGrant, label: 'Extend' },
    ]);
    expect(h.fake.homeView(users.alice)).toBeDefined();
  });

  it('shows an approver what waits for them, with Approve and Deny', async () => {
    const home = await openHome(users.carol);
    expect(home.text).toContain('You have no pending or active requests.');
    expect(home.text).toContain(`<@${users.alice}> requests \`prod-db-two-level\``);
    expect(home.text).toContain(`<@${users.eve}> requests \`prod-db-write\``);
    expect(home.buttons).toEqual([
      { action: homeActionIds.approve, value: alicesPending, label: 'Approve' },
      { action: actionIds.deny, value: alicesPending, label: 'Deny' },
      { action: homeActionIds.approve, value: evesPending, label: 'Approve' },
      { action: actionIds.deny, value: evesPending, label: 'Deny' },
    ]);
  });

  it('shows the security team every active grant with Revoke, and the standing freezes', async () => {
    const { reply } = await h.slash(users.sec, `freeze <@${users.frank}> account under review`);
    expect(String(reply.body.text)).toContain('Froze');

    const home = await openHome(users.sec);
    expect(home.text).toContain('Active grants (1)');
    expect(home.text).toContain(`<@${users.alice}> has \`prod-db-write\` until`);
    expect(home.buttons).toContainEqual({
      action: grantActionIds.revoke,
      value: alicesGrant,
      label: 'Revoke',
    });
    expect(home.text).toContain(`• user <@${users.frank}>: account under review, by <@${users.sec}>`);
  });

  it('publishes nothing for the Messages tab', async () => {
    const before = h.fake.callsTo('views.publish').length;
    expect((await postEvent(h.url, signingSecret, homeOpened(users.dave, 'messages'))).status).toBe(200);
    await openHome(users.dave);
    expect(h.fake.callsTo('views.publish').filter((c) => c.args.user_id === users.dave)).toHaveLength(1);
    expect(h.fake.callsTo('views.publish').length).toBe(before + 1);
  });

  it('ignores an event with a bad signature', async () => {
    const publishesFor = (userId: string) =>
      h.fake.callsTo('views.publish').filter((c) => c.args.user_id === userId).length;
    const before = publishesFor(users.alice);
    const res = await postEvent(h.url, 'not-the-signing-secret', homeOpened(users.alice));
    expect(res.status).toBe(401);
    expect(publishesFor(users.alice)).toBe(before);
  });

  it('publishes the tab once when Slack delivers the same event twice', async () => {
    const event = homeOpened(users.carol);
    await nextHome(users.carol, () => postEvent(h.url, signingSecret, event, { eventId: 'EvTWICE01' }));
    const publishes = () =>
      h.fake.callsTo('views.publish').filter((c) => c.args.user_id === users.carol).length;
    const before = publishes();
    const again = await postEvent(h.url, signingSecret, event, {
      eventId: 'EvTWICE01',
      retryNum: 1,
      retryReason: 'http_timeout',
    });
    expect(again.status).toBe(200);
    // A later, different event is published: the redelivery was dropped, not merely delayed.
    await nextHome(users.carol, () => postEvent(h.url, signingSecret, event, { eventId: 'EvTWICE02' }));
    expect(publishes()).toBe(before + 1);
  });
});

describe('clicks on the App Home', () => {
  it('Approve approves, and the tab shows the outcome and the request gone from the list', async () => {
    const { id } = await openHome(users.bob);
    const home = await clickOnHome(users.bob, homeActionIds.approve, evesPending, id);
    expect(home.text).toContain(`You approved \`${evesPending}\`; access is being granted.`);
    expect(home.buttons.map((b) => b.value)).not.toContain(evesPending);
    await expect.poll(() => stateOf(evesPending)).toBe('active');
    expect(await h.isMember(h.login('eve'))).toBe(true);
  });

  it('Approve by someone who cannot approve changes nothing and says why', async () => {
    const { id } = await openHome(users.dave);
    const home = await clickOnHome(users.dave, homeActionIds.approve, alicesPending, id);
    expect(home.blocks[1]).toMatchObject({ block_id: 'jit.home.notice' });
    expect(home.text).toContain(':no_entry_sign: You are not an approver for this request at level 1.');
    expect(await stateOf(alicesPending)).toBe('pending');
    expect(await h.db.prisma.approval.count({ where: { requestId: alicesPending } })).toBe(0);
  });

  it('Release now ends the grant on the target, and the tab shows it', async () => {
    const { id } = await openHome(users.alice);
    const home = await clickOnHome(users.alice, homeActionIds.release, alicesGrant, id);
    expect(home.text).toContain(`\`${alicesGrant}\` is now released.`);
    expect(home.buttons.map((b) => b.value)).not.toContain(alicesGrant);
    expect(await stateOf(alicesGrant)).toBe('released');
    expect(await h.isMember(h.login('alice'))).toBe(false);

    const again = await clickOnHome(users.alice, homeActionIds.release, alicesGrant, id);
    expect(again.text).toContain(`:information_source: ${alicesGrant}`);
    expect(await stateOf(alicesGrant)).toBe('released');
  });

  it('Withdraw cancels a pending request', async () => {
    const { id } = await openHome(users.alice);
    const home = await clickOnHome(users.alice, homeActionIds.release, alicesPending, id);
    expect(home.text).toContain(`\`${alicesPending}\` is now`);
    expect(await stateOf(alicesPending)).toBe('cancelled');
    expect(home.text).toContain('You have no pending or active requests.');
  });

  it('Release on someone else’s request is refused', async () => {
    const { id } = await openHome(users.bob);
    const home = await clickOnHome(users.bob, homeActionIds.release, evesPending, id);
    expect(home.text).toContain(`:no_entry_sign: Only the requester can release ${evesPending}.`);
    expect(await stateOf(evesPending)).toBe('active');
  });

  it('Deny opens the reason form, as on the approver’s message', async () => {
    const request = await h.request(users.eve, 'prod-db-write', '30m', 'INC-45 vacuum');
    const { id } = await openHome(users.bob);
    const from = h.fake.calls.length;
    const res = await postBlockAction(h.url, signingSecret, {
      user_id: users.bob,
      action_id: actionIds.deny,
      value: request,
      container: { type: 'view', view_id: id },
    });
    expect(res.status).toBe(200);
    const opened = await h.fake.waitFor('views.open', (c) => h.fake.calls.indexOf(c) >= from);
    expect(opened.ok).toBe(true);
    expect(JSON.stringify(opened.args.view)).toContain(request);
  });
});
