import { describe, expect, it } from 'vitest';
import {
  extendModalMetadataSchema,
  extendModalSchema,
  extensionActionSchema,
  extensionDenyModalMetadataSchema,
  parseJson,
} from '../../src/slack/payloads.js';
import {
  type ExtensionView,
  extensionActionIds,
  extensionAnswer,
  extensionCardBlocks,
  extensionNotice,
  extensionSummary,
} from '../../src/slack/views/extension-card.js';
import {
  callbackIds,
  extendFields,
  extendModal,
  extendOutcomeModal,
  extensionDenyModal,
} from '../../src/slack/views/modals.js';
import { blockKitViolations, viewViolations } from '../support/block-kit-limits.js';
import { worstReason } from '../support/hostile-text.js';
import { actionElements, untrustedText } from '../support/rendered-blocks.js';

const granted = new Date('2030-01-02T03:00:00Z');
const ends = new Date('2030-01-02T04:00:00Z');
const unix = (date: Date) => `<!date^${Math.floor(date.getTime() / 1000)}^`;
const states = ['pending', 'approved', 'denied', 'timed_out', 'cancelled'] as const;

function extension(overrides: Partial<ExtensionView> = {}): ExtensionView {
  return {
    id: 'EXT-4F8K2P',
    requestId: 'JIT-7K2MQ9',
    requesterId: 'U0REQ',
    resource: 'prod-db-write',
    extraSec: 1_800,
    reason: '',
    requestReason: 'INC-42 failing migration',
    state: 'pending',
    decidedBy: null,
    decisionRule: null,
    endReason: null,
    expiresAt: ends,
    grantedAt: granted,
    maxSec: 4 * 3_600,
    reasons: [],
    ...overrides,
  };
}

const worst = (state: string): ExtensionView =>
  extension({
    state,
    resource: `r${'x'.repeat(62)}`,
    reason: worstReason,
    requestReason: worstReason,
    extraSec: 9_999 * 86_400 + 86_399,
    decidedBy: state === 'pending' ? null : 'U0APPROVER',
    endReason: '&'.repeat(500),
    reasons: Array.from({ length: 12 }, () => worstReason),
  });

const trustedIds = ['U0REQ', 'U0APPROVER'];

describe('extensionCardBlocks (the approvers’ DM)', () => {
  it('offers Approve and Deny on the extension id while pending, with the end now and if approved', () => {
    const blocks = extensionCardBlocks(extension(), { withButtons: true });
    const [approve, deny, ...others] = actionElements(blocks);
    expect(others).toEqual([]);
    expect(approve).toMatchObject({
      action_id: extensionActionIds.approve,
      value: 'EXT-4F8K2P',
      style: 'primary',
    });
    expect(deny).toMatchObject({ action_id: extensionActionIds.deny, value: 'EXT-4F8K2P', style: 'danger' });
    const text = JSON.stringify(blocks);
    expect(text).toContain('<@U0REQ> asks for 30m more on `prod-db-write`');
    expect(text).toContain('`JIT-7K2MQ9`');
    expect(text).toContain(`*Ends now*\\n${unix(ends)}`);
    expect(text).toContain(`*If approved*\\n${unix(new Date(ends.getTime() + 1_800_000))}`);
    expect(text).toContain('*Total if approved*\\n1h30m (max 4h)');
    expect(text).toContain('INC-42 failing migration');
    expect(blockKitViolations(blocks, 'message')).toEqual([]);
  });

  it('shows its own reason over the request’s, and why people decide', () => {
    const blocks = extensionCardBlocks(
      extension({ reason: 'backfill still running', reasons: ['The total is longer than the maximum.'] }),
      { withButtons: true },
    );
    const text = JSON.stringify(blocks);
    expect(text).toContain('backfill still running');
    expect(text).not.toContain('INC-42');
    expect(text).toContain(':mag: The total is longer than the maximum.');
  });

  const decided: Array<[Partial<ExtensionView>, string]> = [
    [{ state: 'approved', decidedBy: 'U0APPROVER' }, 'approved by <@U0APPROVER>'],
    [
      { state: 'approved', decidedBy: 'policy', decisionRule: 'autoApprove[0]' },
      'approved automatically (`autoApprove[0]`)',
    ],
    [{ state: 'denied', decidedBy: 'U0APPROVER', endReason: 'not tonight' }, 'denied by <@U0APPROVER>'],
    [
      { state: 'cancelled', endReason: 'The grant ended (released) before the extension was decided.' },
      'cancelled',
    ],
  ];
  it.each(decided)('once decided (%o): no buttons, and the status says so', (overrides, status) => {
    const blocks = extensionCardBlocks(extension(overrides), { withButtons: true });
    expect(actionElements(blocks)).toEqual([]);
    expect(JSON.stringify(blocks)).toContain(`*Status*\\n${status}`);
    if (overrides.endReason) expect(JSON.stringify(blocks)).toContain(`Reason: ${overrides.endReason}`);
  });

  it('has no buttons for an approver who already clicked', () => {
    expect(actionElements(extensionCardBlocks(extension(), { withButtons: false }))).toEqual([]);
  });

  it.each(states)('%s stays within Slack limits and escapes user text', (state) => {
    const blocks = extensionCardBlocks(worst(state), { withButtons: true });
    expect(blockKitViolations(blocks, 'message')).toEqual([]);
    expect(untrustedText(blocks, trustedIds)).not.toMatch(/[<>]/);
  });

  it('summarises with both ids and the state, for notifications and search', () => {
    expect(extensionSummary(extension())).toBe(
      'Extension EXT-4F8K2P of JIT-7K2MQ9: 30m more on prod-db-write for <@U0REQ> (waiting for approval)',
    );
    expect(extensionSummary(extension({ state: 'timed_out' }))).toContain('(timed out)');
  });
});

describe('extensionAnswer (the reply to the ask)', () => {
  it('says when it was applied at once, by which rule, and the new end', () => {
    const answer = extensionAnswer(
      extension({ state: 'approved', decidedBy: 'policy', decisionRule: 'autoApprove[0]' }),
    );
    expect(answer.text).toContain(
      '`JIT-7K2MQ9` extended by 30m (`EXT-4F8K2P`, auto-approved by `autoApprove[0]`)',
    );
    expect(answer.text).toContain(`until ${unix(ends)}`);
  });

  it('says the approvers were asked, and why', () => {
    const answer = extensionAnswer(extension({ reasons: ['Past the maximum of 4h.'] }));
    expect(answer.text).toContain('Asked the approvers for 30m more on `JIT-7K2MQ9` (`EXT-4F8K2P`)');
    expect(answer.text).toContain('>Past the maximum of 4h.');
  });

  it('says which rule refused it, and why', () => {
    const frozen = extensionAnswer(
      extension({
        state: 'denied',
        decisionRule: 'freeze',
        endReason: 'Frozen (prod-db-write): <!here> leak',
      }),
    );
    expect(frozen.text).toContain('denied automatically by a freeze; no approver was asked');
    expect(frozen.text).toContain('&lt;!here&gt; leak');
    const guest = extensionAnswer(extension({ state: 'denied', decisionRule: 'optOut.guests' }));
    expect(guest.text).toContain('by the rule `optOut.guests`');
  });

  it.each(states)('%s stays within Slack limits', (state) => {
    expect(blockKitViolations(extensionAnswer(worst(state)).blocks, 'message')).toEqual([]);
  });
});

describe('extensionNotice (the requester’s DM on a decision)', () => {
  it('gives the new end once approved, by whom', () => {
    const notice = extensionNotice(extension({ state: 'approved', decidedBy: 'U0APPROVER' }));
    expect(notice?.text).toContain(
      '`JIT-7K2MQ9`: your access to `prod-db-write` was extended by 30m (`EXT-4F8K2P`, approved by <@U0APPROVER>)',
    );
    expect(notice?.text).toContain(`it now ends ${unix(ends)}`);
    const automatic = extensionNotice(
      extension({ state: 'approved', decidedBy: 'policy', decisionRule: 'autoApprove[1]' }),
    );
    expect(automatic?.text).toContain('approved automatically');
  });

  it('gives who denied it and their reason, escaped', () => {
    const notice = extensionNotice(
      extension({ state: 'denied', decidedBy: 'U0APPROVER', endReason: 'not during <!channel> freeze' }),
    );
    expect(notice?.text).toContain('(`EXT-4F8K2P`) was denied by <@U0APPROVER>; your grant ends as before.');
    expect(notice?.text).toContain('not during &lt;!channel&gt; freeze');
  });

  it('says nothing while pending or once cancelled', () => {
    expect(extensionNotice(extension())).toBeNull();
    expect(extensionNotice(extension({ state: 'cancelled' }))).toBeNull();
  });

  it.each(['approved', 'denied'])('%s stays within Slack limits and escapes user text', (state) => {
    const notice = extensionNotice(worst(state));
    expect(blockKitViolations(notice?.blocks, 'message')).toEqual([]);
    expect(untrustedText(notice?.blocks, trustedIds)).not.toMatch(/[<>]/);
  });
});

describe('extension modals and payloads', () => {
  it('the extend form asks for the time and an optional reason, carrying only the request id', () => {
    const view = extendModal({
      id: 'JIT-7K2MQ9',
      resource: `r${'x'.repeat(62)}`,
      expiresAt: ends,
      maxSec: 14_400,
    });
    expect(viewViolations(view, 'modal')).toEqual([]);
    expect(view.callback_id).toBe(callbackIds.extend);
    expect(parseJson(view.private_metadata ?? '', extendModalMetadataSchema)).toEqual({
      requestId: 'JIT-7K2MQ9',
    });
    const text = JSON.stringify(view.blocks);
    expect(text).toContain(`"block_id":"${extendFields.duration.block}"`);
    expect(text).toContain(`"block_id":"${extendFields.reason.block}","optional":true`);
    expect(text).toContain('a total of 4h');
    expect(viewViolations(extendOutcomeModal('x'.repeat(5_000)), 'modal')).toEqual([]);
  });

  it('the deny form carries the extension and the card to update', () => {
    const metadata = { extensionId: 'EXT-4F8K2P', channel: 'DUBOB0001', ts: '1700000000.000100' };
    const view = extensionDenyModal(metadata);
    expect(viewViolations(view, 'modal')).toEqual([]);
    expect(view.callback_id).toBe(callbackIds.extensionDeny);
    expect(parseJson(view.private_metadata ?? '', extensionDenyModalMetadataSchema)).toEqual(metadata);
    expect(
      parseJson('{"extensionId":"JIT-7K2MQ9","channel":null,"ts":null}', extensionDenyModalMetadataSchema),
    ).toBeNull();
  });

  it('reads the extend form, and an extension button only with an extension id', () => {
    const submission = {
      user: { id: 'U0REQ' },
      view: {
        id: 'V0001',
        private_metadata: '{"requestId":"JIT-7K2MQ9"}',
        state: {
          values: {
            duration: { duration: { type: 'plain_text_input', value: '30m' } },
            reason: { reason: { type: 'plain_text_input', value: null } },
          },
        },
      },
    };
    expect(extendModalSchema.safeParse(submission).success).toBe(true);
    const click = (value: string) => ({
      user: { id: 'UBOB0001' },
      actions: [{ action_id: extensionActionIds.approve, value }],
    });
    expect(extensionActionSchema.safeParse(click('EXT-4F8K2P')).success).toBe(true);
    expect(extensionActionSchema.safeParse(click('JIT-7K2MQ9')).success).toBe(false);
    expect(extensionActionSchema.safeParse(click("EXT-'; DROP")).success).toBe(false);
  });
});
