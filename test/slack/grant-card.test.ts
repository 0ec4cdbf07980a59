import { describe, expect, it } from 'vitest';
import { type RequestState, requestStates } from '../../src/domain/lifecycle.js';
import {
  denyModalSchema,
  parseJson,
  revokeModalMetadataSchema,
  revokeModalSchema,
} from '../../src/slack/payloads.js';
import {
  decisionWords,
  type GrantView,
  grantActionIds,
  grantCardBlocks,
  grantCardSummary,
  requesterGrantMessage,
} from '../../src/slack/views/grant-card.js';
import { callbackIds, revokeFields, revokeModal, revokeOutcomeModal } from '../../src/slack/views/modals.js';
import { blockKitViolations, viewViolations } from '../support/block-kit-limits.js';
import { worstReason } from '../support/hostile-text.js';
import { actionElements, untrustedText } from '../support/rendered-blocks.js';

const longName = `r${'x'.repeat(62)}`;
const granted = new Date('2030-01-02T03:04:05Z');
const until = new Date('2030-01-02T04:04:05Z');

function grant(overrides: Partial<GrantView> = {}): GrantView {
  return {
    id: 'JIT-7K2MQ9',
    requesterId: 'U0REQ',
    resource: 'prod-db-write',
    identity: 'alice',
    reason: 'INC-42 failing migration',
    durationSec: 3_600,
    state: 'active',
    decidedBy: 'U0APPROVER',
    decisionRule: null,
    approvals: [],
    levelCount: 1,
    grantedAt: granted,
    expiresAt: until,
    endedAt: null,
    endReason: null,
    ...overrides,
  };
}

const worst = (state: RequestState): GrantView =>
  grant({
    state,
    resource: longName,
    identity: `${'<!here>'.repeat(9)}&`,
    reason: worstReason,
    durationSec: 9_999 * 86_400 + 86_399,
    endedAt: state === 'active' ? null : until,
    endReason: '&'.repeat(500),
  });

type Element = Record<string, unknown> & { confirm?: Record<string, { text: string }> };

describe('decisionWords (the card says who decided, in words)', () => {
  it('names each approver with the level they approved at when there are several', () => {
    const approvals = [
      { level: 1, approverId: 'U0CAROL' },
      { level: 0, approverId: 'U0BOB' },
    ];
    expect(decisionWords(grant({ approvals, levelCount: 2 }))).toBe(
      'Approved by <@U0CAROL> (second level), <@U0BOB> (first level)',
    );
    expect(decisionWords(grant({ approvals: [{ level: 0, approverId: 'U0BOB' }] }))).toBe(
      'Approved by <@U0BOB>',
    );
  });

  it('says which rule decided a request on its own, and who denied one', () => {
    expect(
      decisionWords(grant({ state: 'denied', decidedBy: 'policy', decisionRule: 'optOut.guests' })),
    ).toBe('Denied automatically by the rule `optOut.guests`');
    expect(decisionWords(grant({ decidedBy: 'policy', decisionRule: 'autoApprove[0]' }))).toBe(
      'Approved automatically by the rule `autoApprove[0]`',
    );
    expect(decisionWords(grant({ state: 'denied', decidedBy: 'U0BOB' }))).toBe('Denied by <@U0BOB>');
    expect(decisionWords(grant({ state: 'pending', decidedBy: null }))).toBe('Waiting for approval');
    expect(decisionWords(grant({ state: 'timed_out', decidedBy: null }))).toBe('No decision in time');
  });
});

describe('grantCardBlocks (security channel)', () => {
  it('shows who has what, as which login, until when, why, and who approved', () => {
    const text = JSON.stringify(grantCardBlocks(grant()));
    for (const part of [
      '<@U0REQ>',
      '`prod-db-write`',
      '`alice`',
      '`JIT-7K2MQ9`',
      'INC-42',
      '<@U0APPROVER>',
    ]) {
      expect(text).toContain(part);
    }
    expect(text).toContain(`<!date^${until.getTime() / 1000}^`);
  });

  it('has a danger Revoke button behind a confirmation naming the user and the resource while active', () => {
    const [revoke, ...others] = actionElements<Element>(grantCardBlocks(grant()));
    expect(others).toEqual([]);
    expect(revoke).toMatchObject({
      type: 'button',
      action_id: grantActionIds.revoke,
      value: 'JIT-7K2MQ9',
      style: 'danger',
      text: { type: 'plain_text', text: 'Revoke' },
    });
    expect(revoke?.confirm).toMatchObject({
      confirm: { text: 'Revoke' },
      deny: { text: 'Cancel' },
      style: 'danger',
    });
    expect(revoke?.confirm?.title?.text).toContain('JIT-7K2MQ9');
    expect(revoke?.confirm?.text?.text).toContain('<@U0REQ>');
    expect(revoke?.confirm?.text?.text).toContain('`prod-db-write`');
  });

  it.each(requestStates.filter((s) => s !== 'active'))(
    '%s: no button, the final state and its reason instead',
    (state) => {
      const blocks = grantCardBlocks(grant({ state, endedAt: until, endReason: 'laptop stolen' }));
      expect(actionElements<Element>(blocks)).toEqual([]);
      const text = JSON.stringify(blocks);
      expect(text).toContain('laptop stolen');
      expect(text).toContain('*Ended*');
    },
  );

  it.each(requestStates)(
    '%s stays within Slack limits and escapes user text with worst-case input',
    (state) => {
      const blocks = grantCardBlocks(worst(state));
      expect(blockKitViolations(blocks, 'message')).toEqual([]);
      const rest = untrustedText(blocks, ['U0REQ', 'U0APPROVER']);
      expect(rest).not.toMatch(/[<>]/);
      expect(rest.replace(/&(amp|lt|gt);/g, '').replace(/&[a-z]{0,3}…/g, '')).not.toContain('&');
    },
  );

  it('has a one-line summary for notifications', () => {
    expect(grantCardSummary(grant({ state: 'revoked' }))).toBe(
      'Grant JIT-7K2MQ9: prod-db-write to <@U0REQ> (revoked)',
    );
    expect(grantCardSummary(grant())).toContain('active until <!date^');
  });
});

describe('requesterGrantMessage', () => {
  it('offers Release now, behind a confirmation, and Extend while active', () => {
    const message = requesterGrantMessage(grant());
    expect(message.text).toContain('`JIT-7K2MQ9`: you have `prod-db-write` until');
    const [release, ...others] = actionElements<Element>(message.blocks ?? []);
    expect(others).toMatchObject([{ action_id: grantActionIds.extend, value: 'JIT-7K2MQ9' }]);
    expect(release).toMatchObject({
      action_id: grantActionIds.release,
      value: 'JIT-7K2MQ9',
      text: { text: 'Release now' },
    });
    expect(release?.confirm?.text?.text).toContain('`prod-db-write`');
  });

  it.each([
    ['released', 'you released'],
    ['expired', 'has expired'],
    ['revoked', 'was revoked'],
  ] as const)('once %s: no button, and says so', (state, words) => {
    const message = requesterGrantMessage(grant({ state, endReason: 'rotating the role' }));
    expect(actionElements<Element>(message.blocks ?? [])).toEqual([]);
    expect(message.text).toContain(words);
  });

  it.each(requestStates)('%s stays within Slack limits and escapes user text', (state) => {
    const message = requesterGrantMessage(worst(state));
    expect(message.text.length).toBeGreaterThan(0);
    expect(blockKitViolations(message.blocks ?? [], 'message')).toEqual([]);
    expect(untrustedText(message.blocks, ['U0REQ', 'U0APPROVER'])).not.toMatch(/[<>]/);
  });
});

describe('revoke modal', () => {
  it('asks for a reason and carries only the request id', () => {
    const view = revokeModal({ id: 'JIT-7K2MQ9', requesterId: 'U0REQ', resource: longName });
    expect(viewViolations(view, 'modal')).toEqual([]);
    expect(view.callback_id).toBe(callbackIds.revoke);
    expect(parseJson(view.private_metadata ?? '', revokeModalMetadataSchema)).toEqual({
      requestId: 'JIT-7K2MQ9',
    });
    expect(JSON.stringify(view.blocks)).toContain(`"block_id":"${revokeFields.reason.block}"`);
    expect(JSON.stringify(view.blocks)).toContain('<@U0REQ>');
  });

  it('shows an outcome without a submit button', () => {
    const view = revokeOutcomeModal([':information_source: JIT-7K2MQ9: the request is already revoked']);
    expect(viewViolations(view, 'modal')).toEqual([]);
    expect(view.submit).toBeUndefined();
  });

  it('reads a submission, and refuses one without the reason field or a view id', () => {
    const submission = {
      user: { id: 'USEC0001' },
      view: {
        id: 'V0001',
        private_metadata: '{"requestId":"JIT-7K2MQ9"}',
        state: { values: { reason: { reason: { type: 'plain_text_input', value: 'stolen laptop' } } } },
      },
    };
    expect(revokeModalSchema.safeParse(submission).success).toBe(true);
    const { id: _, ...withoutId } = submission.view;
    expect(revokeModalSchema.safeParse({ ...submission, view: withoutId }).success).toBe(false);
    const noReason = { ...submission, view: { ...submission.view, state: { values: {} } } };
    expect(denyModalSchema.safeParse(noReason).success).toBe(false);
    expect(parseJson('{"requestId":"not-an-id"}', revokeModalMetadataSchema)).toBeNull();
  });
});
