import { describe, expect, it } from 'vitest';
import type { RequestState } from '../../src/domain/lifecycle.js';
import { grantActionIds, grantCardBlocks, requesterGrantMessage } from '../../src/slack/views/grant-card.js';
import {
  type HomeFreeze,
  type HomeModel,
  type HomeRequest,
  homeActionIds,
  homeView,
} from '../../src/slack/views/home.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import type { SlackBlock } from '../../src/slack/views/text.js';
import { viewViolations } from '../support/block-kit-limits.js';

const hostile = '<!channel> <@U0EVIL> &amp; & ';
const worst = (hostile + '&'.repeat(40)).repeat(30);

let n = 0;
function request(state: RequestState, overrides: Partial<HomeRequest> = {}): HomeRequest {
  n += 1;
  return {
    id: `JIT-${String(n).padStart(6, '0')}`,
    requesterId: 'U0ALICE',
    resource: 'prod-db-write',
    durationSec: 3600,
    state,
    reason: 'INC-42 failing migration',
    expiresAt: state === 'active' ? new Date('2030-01-02T04:00:00Z') : null,
    createdAt: new Date('2030-01-02T03:00:00Z'),
    ...overrides,
  };
}

function freeze(overrides: Partial<HomeFreeze> = {}): HomeFreeze {
  return {
    scope: 'resource',
    target: 'prod-db-write',
    reason: 'incident INC-99',
    createdBy: 'U0SEC',
    createdAt: new Date('2030-01-02T02:00:00Z'),
    ...overrides,
  };
}

const empty: HomeModel = { mine: [], awaiting: [], admin: null };

function buttons(blocks: SlackBlock[]): Array<{ action_id: string; value: string; text: string }> {
  return blocks.flatMap((block) => {
    const elements = block.type === 'actions' ? (block.elements as SlackBlock[]) : [];
    const accessory = block.accessory ? [block.accessory as SlackBlock] : [];
    return [...elements, ...accessory].map((e) => ({
      action_id: String(e.action_id),
      value: String(e.value),
      text: (e.text as { text: string }).text,
    }));
  });
}

const text = (blocks: SlackBlock[]) => JSON.stringify(blocks);

describe('homeView', () => {
  it('says there is nothing to show, with no admin sections for others', () => {
    const view = homeView(empty);
    expect(view.type).toBe('home');
    expect(text(view.blocks)).toContain('You have no pending or active requests.');
    expect(text(view.blocks)).toContain('Nothing is waiting for you.');
    expect(text(view.blocks)).not.toContain('Active grants');
    expect(buttons(view.blocks)).toEqual([]);
    expect(viewViolations(view, 'home')).toEqual([]);
  });

  it('gives an active request Release now and Extend, a pending one Withdraw, an approved one nothing', () => {
    const active = request('active');
    const pending = request('pending');
    const approved = request('approved');
    const view = homeView({ ...empty, mine: [active, pending, approved] });
    expect(buttons(view.blocks)).toEqual([
      { action_id: homeActionIds.release, value: active.id, text: 'Release now' },
      { action_id: grantActionIds.extend, value: active.id, text: 'Extend' },
      { action_id: homeActionIds.release, value: pending.id, text: 'Withdraw' },
    ]);
    expect(text(view.blocks)).toContain(`\`${approved.id}\``);
    expect(text(view.blocks)).toContain('active until <!date^1893556800^');
  });

  it('offers Approve and Deny on each approval waiting for the viewer', () => {
    const waiting = request('pending', { requesterId: 'U0EVE' });
    const view = homeView({ ...empty, awaiting: [waiting] });
    expect(buttons(view.blocks)).toEqual([
      { action_id: homeActionIds.approve, value: waiting.id, text: 'Approve' },
      { action_id: actionIds.deny, value: waiting.id, text: 'Deny' },
    ]);
    expect(text(view.blocks)).toContain('<@U0EVE> requests `prod-db-write` for 1h');
  });

  it('shows admins every active grant with Revoke (behind a confirmation) and the standing freezes', () => {
    const grant = request('active', { requesterId: 'U0BOB' });
    const view = homeView({
      ...empty,
      admin: {
        grants: [grant],
        grantCount: 1,
        freezes: [
          freeze(),
          freeze({ scope: 'user', target: 'U0MALLORY' }),
          freeze({ scope: 'all', target: '' }),
        ],
      },
    });
    expect(buttons(view.blocks)).toEqual([
      { action_id: grantActionIds.revoke, value: grant.id, text: 'Revoke' },
    ]);
    const revoke = view.blocks.find((b) => b.block_id === `jit.home.grant.${grant.id}`)
      ?.accessory as SlackBlock;
    expect(revoke.confirm).toBeDefined();
    expect(text(view.blocks)).toContain('Active grants (1)');
    expect(text(view.blocks)).toContain('• `prod-db-write`: incident INC-99, by <@U0SEC>');
    expect(text(view.blocks)).toContain('• user <@U0MALLORY>');
    expect(text(view.blocks)).toContain('• *all access*');
    expect(viewViolations(view, 'home')).toEqual([]);
  });

  it('tells admins when nothing is granted or frozen', () => {
    const view = homeView({ ...empty, admin: { grants: [], grantCount: 0, freezes: [] } });
    expect(text(view.blocks)).toContain('No one holds access right now.');
    expect(text(view.blocks)).toContain('Nothing is frozen.');
  });

  it('shows the outcome of the last click at the top', () => {
    const view = homeView({ ...empty, notice: ':lock: `JIT-000001` is now released.' });
    expect(view.blocks[1]).toMatchObject({ block_id: 'jit.home.notice' });
    expect(text(view.blocks)).toContain('is now released.');
  });

  it('escapes what users typed', () => {
    const view = homeView({
      mine: [request('active', { reason: hostile })],
      awaiting: [request('pending', { reason: hostile })],
      admin: {
        grants: [request('active', { reason: hostile })],
        grantCount: 1,
        freezes: [freeze({ reason: hostile })],
      },
    });
    expect(text(view.blocks)).not.toContain('<!channel>');
    expect(text(view.blocks)).not.toContain('<@U0EVIL>');
  });

  it('stays within 100 blocks and every text limit with the longest lists, saying how many it left out', () => {
    const many = (count: number, state: RequestState) =>
      Array.from({ length: count }, () => request(state, { reason: worst, resource: `r${'x'.repeat(62)}` }));
    const view = homeView({
      mine: many(60, 'active'),
      awaiting: many(45, 'pending'),
      admin: {
        grants: many(25, 'active'),
        grantCount: 300,
        freezes: Array.from({ length: 40 }, (_, i) => freeze({ target: `r${i}`, reason: worst })),
      },
      notice: worst,
    });
    expect(viewViolations(view, 'home')).toEqual([]);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(view.blocks.length).toBeGreaterThan(80);
    expect(text(view.blocks)).toContain('…and 50 more: `/jit list`');
    expect(text(view.blocks)).toContain('…and 35 more: `/jit pending`');
    expect(text(view.blocks)).toContain('…and 275 more');
    expect(text(view.blocks)).toContain('…and 20 more.');
  });
});

describe('destructive buttons ask first, with the same words everywhere', () => {
  type Element = SlackBlock & { confirm?: { title: { text: string }; text: { text: string } } };
  const elements = (blocks: SlackBlock[]): Element[] =>
    blocks.flatMap((block) => [
      ...(block.type === 'actions' ? (block.elements as Element[]) : []),
      ...(block.accessory ? [block.accessory as Element] : []),
    ]);
  const confirmOf = (blocks: SlackBlock[], label: string) =>
    elements(blocks).find((e) => (e.text as { text: string }).text === label)?.confirm;

  it('Release now, Withdraw and Revoke on the Home tab confirm as the cards do', () => {
    const active = request('active');
    const pending = request('pending');
    const home = homeView({
      mine: [active, pending],
      awaiting: [],
      admin: { grants: [active], grantCount: 1, freezes: [] },
    }).blocks as SlackBlock[];
    const view = {
      ...active,
      identity: 'alice',
      decidedBy: null,
      decisionRule: null,
      approvals: [],
      levelCount: 1,
      grantedAt: null,
      endedAt: null,
      endReason: null,
    };

    expect(confirmOf(home, 'Release now')).toEqual(
      confirmOf(requesterGrantMessage(view).blocks ?? [], 'Release now'),
    );
    expect(confirmOf(home, 'Revoke')).toEqual(confirmOf(grantCardBlocks(view), 'Revoke'));
    expect(confirmOf(home, 'Withdraw')?.title.text).toBe(`Withdraw ${pending.id}?`);
    expect(confirmOf(home, 'Withdraw')?.text.text).toContain('`prod-db-write` is cancelled');
    // Every button in danger style, and every one that ends access, asks before it acts.
    for (const e of elements(home)) {
      const label = (e.text as { text: string }).text;
      if (['Release now', 'Withdraw', 'Revoke'].includes(label)) expect(e.confirm, label).toBeDefined();
    }
  });
});
