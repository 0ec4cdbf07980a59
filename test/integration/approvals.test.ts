import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackIds } from '../../src/slack/views/modals.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, startHarness, users } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  // Carol is in both levels, and the only level-2 approver: if she took level 1, nobody could
  // complete level 2, since a person counts once.
  h = await startHarness({
    extraResources: `
  prod-db-carol-last:
    description: The DBAs, then Carol
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}, ${users.carol}] }
      - from: { users: [${users.carol}] }`,
  });
});
afterAll(async () => {
  await h?.stop();
});

async function stateOf(id: string) {
  return (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state;
}

function clickReply(id: string) {
  return h.fake.waitForResponse((r) => r.id.startsWith('click-') && String(r.body.text).includes(id));
}

describe('who may approve', () => {
  it('refuses self-approval and non-approvers, changes nothing, and audits the attempts', async () => {
    const id = await h.request(users.bob, 'prod-db-write', '30m');
    const carolMessage = await h.approverMessage(id, users.carol);

    await h.click(users.bob, actionIds.approve, id, carolMessage);
    const self = await h.fake.waitForResponse((r) =>
      String(r.body.text).includes('cannot approve your own request'),
    );
    expect(self.body.response_type).toBe('ephemeral');

    await h.click(users.eve, actionIds.approve, id, carolMessage);
    await h.fake.waitForResponse((r) => String(r.body.text).includes('not an approver'));

    expect(await stateOf(id)).toBe('pending');
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);
    const refused = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id, action: 'approval.refused' },
    });
    expect(refused.map((e) => e.actor).sort()).toEqual([users.bob, users.eve].sort());
  });

  it('counts an approver once when they double-click, and grants once', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    const message = await h.approverMessage(id, users.bob);
    const [a, b] = await Promise.all([
      h.click(users.bob, actionIds.approve, id, message),
      h.click(users.bob, actionIds.approve, id, message),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(1);
    const grants = await h.db.prisma.auditEvent.count({ where: { requestId: id, action: 'request.active' } });
    expect(grants).toBe(1);
    await h.slash(users.alice, `release ${id}`);
  });

  it('grants exactly once when two approvers click at the same moment', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    const bobMessage = await h.approverMessage(id, users.bob);
    const carolMessage = await h.approverMessage(id, users.carol);
    await Promise.all([
      h.click(users.bob, actionIds.approve, id, bobMessage),
      h.click(users.carol, actionIds.approve, id, carolMessage),
    ]);
    await h.dmTo(users.alice, `${id}\`: you have`);
    const actions = (
      await h.db.prisma.auditEvent.findMany({ where: { requestId: id }, orderBy: { id: 'asc' } })
    ).map((e) => e.action);
    expect(actions.filter((a) => a === 'request.approved')).toHaveLength(1);
    expect(actions.filter((a) => a === 'request.active')).toHaveLength(1);
    // The loser is told the request was already decided, and their message shows the final state.
    await h.fake.waitForResponse((r) => String(r.body.text).includes(`${id} is already`));
    await h.slash(users.alice, `release ${id}`);
  });

  it('updates a stale message to the final state when someone clicks it', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    const carolMessage = await h.approverMessage(id, users.carol);
    await h.slash(users.alice, `release ${id}`); // withdrawn while carol was reading
    expect(await stateOf(id)).toBe('cancelled');
    await h.click(users.carol, actionIds.approve, id, carolMessage);
    await clickReply(id);
    const updated = await h.fake.waitFor(
      'chat.update',
      (c) => c.args.ts === carolMessage.ts && String(c.args.text).includes('cancelled'),
    );
    expect(JSON.stringify(updated.args.blocks)).not.toContain(actionIds.approve);
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);
  });
});

describe('deny', () => {
  it('asks for a reason in a modal, denies, and tells the requester why', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '1h');
    const message = await h.approverMessage(id, users.bob);
    await h.click(users.bob, actionIds.deny, id, message);
    const opened = await h.fake.waitFor('views.open', (c) => JSON.stringify(c.args.view).includes(id));
    expect((opened.args.view as { callback_id: string }).callback_id).toBe(callbackIds.deny);

    // An empty reason is refused inside the modal and changes nothing.
    const empty = await h.submitView(
      users.bob,
      callbackIds.deny,
      { requestId: id },
      { reason: { reason: { type: 'plain_text_input', value: '' } } },
    );
    expect(JSON.parse(empty.body)).toMatchObject({ response_action: 'errors' });
    expect(await stateOf(id)).toBe('pending');

    const ok = await h.submitView(
      users.bob,
      callbackIds.deny,
      { requestId: id },
      { reason: { reason: { type: 'plain_text_input', value: 'use the read replica' } } },
    );
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } });
    expect(request).toMatchObject({
      state: 'denied',
      decidedBy: users.bob,
      endReason: 'use the read replica',
    });
    const dm = await h.dmTo(users.alice, 'was denied');
    expect(JSON.stringify(dm.args.blocks)).toContain('use the read replica');
    expect(await h.isMember(h.login('alice'))).toBe(false);
  });

  it('refuses a deny from someone who is not an approver', async () => {
    const id = await h.request(users.alice, 'prod-db-write', '1h');
    const res = await h.submitView(
      users.eve,
      callbackIds.deny,
      { requestId: id },
      { reason: { reason: { type: 'plain_text_input', value: 'no way' } } },
    );
    expect(JSON.stringify(JSON.parse(res.body).errors)).toContain('not an approver');
    expect(await stateOf(id)).toBe('pending');
  });
});

describe('two approval levels', () => {
  it('asks level 2 only after level 1, and one person cannot satisfy both', async () => {
    const id = await h.request(users.alice, 'prod-db-two-level', '30m');
    const carolMessage = await h.approverMessage(id, users.carol);
    await h.approverMessage(id, users.bob);
    expect(h.fake.callsTo('chat.postMessage').some((c) => c.args.channel === `D${users.dave}`)).toBe(false);

    await h.click(users.carol, actionIds.approve, id, carolMessage);
    await h.fake.waitForResponse((r) => String(r.body.text).includes('more approvals are needed'));
    const daveMessage = await h.approverMessage(id, users.dave);
    expect(await stateOf(id)).toBe('pending');

    // Carol is a level-2 approver too, but she already counted for level 1.
    await h.click(users.carol, actionIds.approve, id, carolMessage);
    await h.fake.waitForResponse((r) => String(r.body.text).includes('already approved'));
    expect(await stateOf(id)).toBe('pending');

    await h.click(users.dave, actionIds.approve, id, daveMessage);
    await h.dmTo(users.alice, `${id}\`: you have`);
    const approvals = await h.db.prisma.approval.findMany({
      where: { requestId: id },
      orderBy: { level: 'asc' },
    });
    expect(approvals.map((a) => [a.approverId, a.level])).toEqual([
      [users.carol, 0],
      [users.dave, 1],
    ]);
    await h.slash(users.alice, `release ${id}`);
  });

  it('refuses the only level-2 approver at level 1, so the request can still complete', async () => {
    const id = await h.request(users.alice, 'prod-db-carol-last', '30m');
    const carolMessage = await h.approverMessage(id, users.carol);
    const bobMessage = await h.approverMessage(id, users.bob);

    await h.click(users.carol, actionIds.approve, id, carolMessage);
    const refused = await h.fake.waitForResponse((r) => String(r.body.text).includes('needed for level 2'));
    expect(refused.body.response_type).toBe('ephemeral');
    expect(String(refused.body.text)).toContain('wait until level 1 is approved by someone else');
    expect(await stateOf(id)).toBe('pending');
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);
    // A matter of order, not an attempt worth the security team's time.
    expect(await h.db.prisma.auditEvent.count({ where: { requestId: id, action: 'approval.refused' } })).toBe(
      0,
    );

    await h.click(users.bob, actionIds.approve, id, bobMessage);
    await h.fake.waitForResponse((r) => String(r.body.text).includes(`\`${id}\` is recorded (first level)`));
    // Carol was asked at level 1 already; her card still has the buttons, now for level 2.
    await h.click(users.carol, actionIds.approve, id, carolMessage);
    await h.dmTo(users.alice, `${id}\`: you have`);
    const approvals = await h.db.prisma.approval.findMany({
      where: { requestId: id },
      orderBy: { level: 'asc' },
    });
    expect(approvals.map((a) => [a.approverId, a.level])).toEqual([
      [users.bob, 0],
      [users.carol, 1],
    ]);
    await h.slash(users.alice, `release ${id}`);
  });
});
