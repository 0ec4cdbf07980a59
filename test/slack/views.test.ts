import { describe, expect, it } from 'vitest';
import { type RequestState, requestStates } from '../../src/domain/lifecycle.js';
import { denyModalMetadataSchema, parseJson, requestModalMetadataSchema } from '../../src/slack/payloads.js';
import { type AuditView, auditEventMessage } from '../../src/slack/views/audit.js';
import {
  helpMessage,
  listMessage,
  type Message,
  pendingMessage,
  plain,
  type RequestLine,
  requestCreatedMessage,
  requesterNotice,
} from '../../src/slack/views/messages.js';
import {
  callbackIds,
  denyFields,
  denyModal,
  type ResourceOption,
  requestFields,
  requestModal,
} from '../../src/slack/views/modals.js';
import {
  actionIds,
  type RequestView,
  requestCardBlocks,
  requestSummary,
} from '../../src/slack/views/request-card.js';
import { code, escapeText, mention, slackDate, truncate } from '../../src/slack/views/text.js';
import { blockKitViolations, viewViolations } from '../support/block-kit-limits.js';
import { hostileText, worstReason } from '../support/hostile-text.js';
import { mrkdwnTexts, withoutTrustedControls } from '../support/rendered-blocks.js';

const ampersands = '&'.repeat(500);
const longName = `r${'x'.repeat(62)}`; // the longest resource name the policy file allows
const at = new Date('2030-01-02T03:04:05Z');

/**
 * Asserts that the only `<…>` control sequences in the mrkdwn are ones the builders made on
 * purpose: mentions of the given trusted ids and date tokens.
 */
function expectOnlyTrustedControls(blocks: unknown, trustedIds: readonly string[]): void {
  const texts = mrkdwnTexts(blocks);
  expect(texts.length).toBeGreaterThan(0);
  for (const text of texts) {
    const rest = withoutTrustedControls(text, trustedIds);
    expect(rest).not.toContain('<');
    expect(rest).not.toContain('>');
    // `&` only as the start of the three entities Slack wants escaped (or one cut short by truncation).
    expect(rest.replace(/&(amp|lt|gt);/g, '').replace(/&[a-z]{0,3}…$/, '')).not.toContain('&');
  }
}

function expectValidMessage(message: Message): void {
  expect(message.text.length).toBeGreaterThan(0);
  expect(message.text.length).toBeLessThanOrEqual(40_000);
  expect(blockKitViolations(message.blocks ?? [], 'message')).toEqual([]);
}

function requestView(overrides: Partial<RequestView> = {}): RequestView {
  return {
    id: 'JIT-7K2MQ9',
    requesterId: 'U0REQ',
    resource: 'prod-db-write',
    resourceDescription: 'Write access to the production database',
    durationSec: 5_400,
    reason: 'INC-42 failing migration',
    state: 'pending',
    createdAt: at,
    expiresAt: null,
    endReason: null,
    decidedBy: null,
    levels: [{ count: 1, approvedBy: [] }],
    ...overrides,
  };
}

const worstApprovers = Array.from({ length: 100 }, (_, i) => `U0APPROVER${String(i).padStart(3, '0')}`);

const worstView = (state: RequestState): RequestView =>
  requestView({
    state,
    resource: longName,
    resourceDescription: hostileText.repeat(10).slice(0, 500),
    reason: worstReason,
    durationSec: 9_999 * 86_400 + 86_399,
    expiresAt: at,
    endReason: ampersands,
    decidedBy: 'U0DECIDER',
    levels: Array.from({ length: 5 }, () => ({ count: 100, approvedBy: worstApprovers })),
    identity: 'x'.repeat(200),
    providerName: longName,
    endsIfGrantedNow: at,
  });

function actionsBlock(blocks: ReturnType<typeof requestCardBlocks>) {
  return blocks.find((b) => b.type === 'actions') as
    | { block_id: string; elements: Array<Record<string, unknown>> }
    | undefined;
}

describe('requestCardBlocks', () => {
  const cases = requestStates.flatMap((state) =>
    [true, false].map((withButtons) => [state, withButtons] as const),
  );

  it.each(cases)(
    '%s (buttons asked: %s) stays within Slack limits with worst-case input',
    (state, withButtons) => {
      const blocks = requestCardBlocks(worstView(state), { withButtons });
      expect(blockKitViolations(blocks, 'message')).toEqual([]);
      expectOnlyTrustedControls(blocks, ['U0REQ', 'U0DECIDER', ...worstApprovers]);
    },
  );

  it.each(cases)(
    '%s (buttons asked: %s) has Approve/Deny exactly when pending and asked',
    (state, withButtons) => {
      const actions = actionsBlock(requestCardBlocks(requestView({ state }), { withButtons }));
      if (state !== 'pending' || !withButtons) {
        expect(actions).toBeUndefined();
        return;
      }
      expect(actions?.block_id).toBe('jit.decide.JIT-7K2MQ9');
      expect(actions?.elements).toEqual([
        expect.objectContaining({
          type: 'button',
          action_id: actionIds.approve,
          value: 'JIT-7K2MQ9',
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
        }),
        expect.objectContaining({
          type: 'button',
          action_id: actionIds.deny,
          value: 'JIT-7K2MQ9',
          style: 'danger',
          text: { type: 'plain_text', text: 'Deny' },
        }),
      ]);
    },
  );

  it('shows who asked, for what, for how long, and why', () => {
    const text = JSON.stringify(requestCardBlocks(requestView(), { withButtons: true }));
    expect(text).toContain('<@U0REQ>');
    expect(text).toContain('`prod-db-write`');
    expect(text).toContain('1h30m');
    expect(text).toContain('INC-42 failing migration');
    expect(text).toContain('`JIT-7K2MQ9`');
    expect(text).toContain('waiting for approval');
  });

  it('escapes the reason, the description and the end reason', () => {
    const blocks = requestCardBlocks(
      requestView({
        state: 'denied',
        reason: '<!channel> ping',
        resourceDescription: 'a <@U0EVIL> b',
        endReason: 'x & <y>',
        decidedBy: 'U0DBA',
      }),
      { withButtons: true },
    );
    const texts = mrkdwnTexts(blocks).join('\n');
    expect(texts).toContain('&lt;!channel&gt; ping');
    expect(texts).toContain('a &lt;@U0EVIL&gt; b');
    expect(texts).toContain('x &amp; &lt;y&gt;');
    expect(texts).toContain('denied by <@U0DBA>');
    expectOnlyTrustedControls(blocks, ['U0REQ', 'U0DBA']);
  });

  it('shows approvals per level when there are several', () => {
    const blocks = requestCardBlocks(
      requestView({
        levels: [
          { count: 2, approvedBy: ['U0A', 'U0B'] },
          { count: 1, approvedBy: [] },
        ],
      }),
      { withButtons: false },
    );
    const texts = mrkdwnTexts(blocks).join('\n');
    expect(texts).toContain('First level: 2 of 2 (<@U0A>, <@U0B>)');
    expect(texts).toContain('Second level: 0 of 1 (none yet)');
  });

  it('names at most ten approvers per level and counts the rest', () => {
    const approvedBy = Array.from({ length: 25 }, (_, i) => `U0A${String(i).padStart(2, '0')}`);
    const blocks = requestCardBlocks(requestView({ levels: [{ count: 25, approvedBy }] }), {
      withButtons: false,
    });
    const texts = mrkdwnTexts(blocks).join('\n');
    expect(texts).toContain(
      `25 of 25 (${approvedBy
        .slice(0, 10)
        .map((id) => `<@${id}>`)
        .join(', ')} +15 more)`,
    );
    expect(texts).not.toContain('<@U0A10>');
  });

  it('shows approvers the identity the access goes to and when it would end', () => {
    const ends = new Date(at.getTime() + 5_400_000);
    const blocks = requestCardBlocks(
      requestView({ identity: 'alice', providerName: 'proddb', endsIfGrantedNow: ends }),
      { withButtons: true },
    );
    const text = mrkdwnTexts(blocks).join('\n');
    expect(text).toContain('*Access goes to*\n`alice` on proddb');
    expect(text).toContain(`*Would end*\n${slackDate(ends)} if granted now`);
    // Once granted, the status says until when; "would end" is gone.
    const active = requestView({
      state: 'active',
      expiresAt: ends,
      identity: 'alice',
      endsIfGrantedNow: ends,
    });
    expect(mrkdwnTexts(requestCardBlocks(active, { withButtons: false })).join('\n')).not.toContain(
      'Would end',
    );
  });

  it('shows when active access ends', () => {
    const blocks = requestCardBlocks(requestView({ state: 'active', expiresAt: at }), { withButtons: false });
    expect(mrkdwnTexts(blocks).join('\n')).toContain(`active until ${slackDate(at)}`);
  });

  const everyRule = 'optOut.blockedUsers,optOut.guests,optOut.outsideBusinessHours,optOut.maxRequestsPerHour';

  it.each(requestStates)('%s with every review rule stays within Slack limits', (state) => {
    const blocks = requestCardBlocks({ ...worstView(state), reviewRule: everyRule }, { withButtons: true });
    expect(blockKitViolations(blocks, 'message')).toEqual([]);
    expectOnlyTrustedControls(blocks, ['U0REQ', 'U0DECIDER', ...worstApprovers]);
  });

  it('tells approvers which opt-out rules asked for their review, and only then', () => {
    const reviewed = mrkdwnTexts(
      requestCardBlocks(requestView({ reviewRule: 'optOut.guests,optOut.outsideBusinessHours' }), {
        withButtons: true,
      }),
    ).join('\n');
    expect(reviewed).toContain('Needs human review: guest account, outside business hours');
    expect(reviewed).toContain('`optOut.guests`, `optOut.outsideBusinessHours`');
    for (const reviewRule of [null, undefined]) {
      const plainCard = mrkdwnTexts(requestCardBlocks(requestView({ reviewRule }), { withButtons: true }));
      expect(plainCard.join('\n')).not.toContain('review');
    }
  });
});

describe('requestSummary', () => {
  it('is a one-line plain summary for notifications', () => {
    expect(requestSummary(requestView())).toBe(
      'JIT-7K2MQ9: prod-db-write for 1h30m, requested by <@U0REQ> (waiting for approval)',
    );
  });
});

function line(overrides: Partial<RequestLine> = {}): RequestLine {
  return {
    id: 'JIT-7K2MQ9',
    resource: 'prod-db-write',
    durationSec: 3_600,
    state: 'active',
    requesterId: 'U0REQ',
    reason: 'INC-42',
    expiresAt: at,
    ...overrides,
  };
}

const worstLines = Array.from({ length: 100 }, (_, i) =>
  line({
    id: `JIT-${String(i).padStart(6, '0')}`,
    resource: longName,
    durationSec: 9_999 * 86_400 + 86_399,
    state: i % 2 === 0 ? 'active' : 'pending',
    reason: i % 3 === 0 ? ampersands : worstReason,
  }),
);

describe('list and pending messages', () => {
  it.each([1, 20, 100])('%i worst-case requests stay within Slack limits', (n) => {
    for (const message of [listMessage(worstLines.slice(0, n)), pendingMessage(worstLines.slice(0, n))]) {
      expectValidMessage(message);
      expectOnlyTrustedControls(message.blocks, ['U0REQ']);
    }
  });

  it('lists every request of a normal-sized answer', () => {
    const lines = worstLines.slice(0, 20);
    const texts = mrkdwnTexts(listMessage(lines).blocks).join('\n');
    for (const l of lines) expect(texts).toContain(l.id);
  });

  it('says how many more there are when it cannot show them all', () => {
    const texts = mrkdwnTexts(listMessage(worstLines).blocks).join('\n');
    expect(texts).toContain(worstLines[0]?.id);
    expect(texts).toMatch(/and \d+ more/);
  });

  it('names the requester only to approvers', () => {
    expect(mrkdwnTexts(listMessage([line()]).blocks).join('')).not.toContain('<@U0REQ>');
    expect(mrkdwnTexts(pendingMessage([line()]).blocks).join('')).toContain('by <@U0REQ>');
  });

  it('escapes reasons', () => {
    const texts = mrkdwnTexts(listMessage([line({ reason: '<!channel> now' })]).blocks).join('');
    expect(texts).toContain('&lt;!channel&gt; now');
  });

  it('has an answer for nothing at all', () => {
    expectValidMessage(listMessage([]));
    expectValidMessage(pendingMessage([]));
    expect(listMessage([]).text).toContain('no pending or active requests');
    expect(pendingMessage([]).text).toContain('Nothing is waiting');
  });
});

describe('requesterNotice', () => {
  const finals: ReadonlyArray<[RequestState, string]> = [
    ['expired', 'expired'],
    ['released', 'released'],
    ['revoked', 'revoked'],
    ['denied', 'denied'],
    ['cancelled', 'withdrawn'],
    ['timed_out', 'in time'],
    ['grant_failed', 'could not be granted'],
  ];

  it.each([...finals, ['active', 'until'] as [RequestState, string]])(
    'tells the requester about %s',
    (state, words) => {
      const notice = requesterNotice({
        ...line({ state, reason: worstReason }),
        endReason: worstReason,
        decidedBy: 'U0DBA',
      });
      expect(notice).not.toBeNull();
      if (!notice) return;
      expectValidMessage(notice);
      expect(notice.text).toContain('JIT-7K2MQ9');
      expect(notice.text).toContain(words);
      expectOnlyTrustedControls(notice.blocks, ['U0DBA']);
    },
  );

  it.each(['pending', 'approved'] as const)('sends nothing for %s', (state) => {
    expect(requesterNotice({ ...line({ state }), endReason: null, decidedBy: null })).toBeNull();
  });

  it('quotes the deny reason and names the denier', () => {
    const notice = requesterNotice({
      ...line({ state: 'denied' }),
      endReason: 'use staging & retry',
      decidedBy: 'U0DBA',
    });
    expect(notice?.text).toContain('denied by <@U0DBA>');
    expect(notice?.text).toContain('>use staging &amp; retry');
  });

  it('stays valid with the longest end reason a slash command can carry', () => {
    const notice = requesterNotice({
      ...line({ state: 'revoked' }),
      endReason: '&'.repeat(4_000),
      decidedBy: null,
    });
    expect(notice).not.toBeNull();
    if (notice) expectValidMessage(notice);
  });
});

describe('small messages', () => {
  it('help lists every verb of the grammar', () => {
    const message = helpMessage();
    expectValidMessage(message);
    for (const verb of [
      'request',
      'list',
      'pending',
      'release',
      'extend',
      'revoke',
      'freeze',
      'unfreeze',
      'audit',
    ]) {
      expect(message.text).toContain(`/jit ${verb}`);
    }
  });

  it('request confirmation names the id and how to withdraw', () => {
    const message = requestCreatedMessage(line({ state: 'pending', resource: longName }));
    expectValidMessage(message);
    expect(message.text).toContain('`JIT-7K2MQ9`');
    expect(message.text).toContain('/jit release JIT-7K2MQ9');
  });

  it('request confirmation says when people must review it, and why', () => {
    const message = requestCreatedMessage({ ...line({ state: 'pending' }), reviewRule: 'optOut.guests' });
    expectValidMessage(message);
    expect(message.text).toContain('sent to its approvers');
    expect(message.text).toContain('It needs human review: guest account.');
    expect(requestCreatedMessage(line({ state: 'pending' })).text).not.toContain('review');
  });

  it('a request denied by a rule says so, which rule, why and what to do instead', () => {
    const message = requestCreatedMessage({
      ...line({ state: 'denied', resource: longName }),
      decisionRule: 'optOut.outsideBusinessHours',
      endReason: `Only during business hours (Mon–Fri 08:00–19:00 UTC). Ask again then. ${worstReason}`,
    });
    expectValidMessage(message);
    expectOnlyTrustedControls(message.blocks, []);
    expect(message.text).toContain('`JIT-7K2MQ9`');
    expect(message.text).toContain('denied automatically by the rule `optOut.outsideBusinessHours`');
    expect(message.text).toContain('no approver was asked');
    expect(message.text).toContain('Ask again then.');
    expect(message.text).not.toContain('sent to its approvers');
    expect(message.text).not.toContain('/jit release');
  });

  it('a request denied by a freeze says so, with the freeze reason', () => {
    const message = requestCreatedMessage({
      ...line({ state: 'denied' }),
      decisionRule: 'freeze',
      endReason: 'Frozen (prod-db-write) by the security team: incident <!channel>',
    });
    expectValidMessage(message);
    expect(message.text).toContain('denied automatically by a freeze');
    expect(message.text).toContain('incident &lt;!channel&gt;');
  });

  it('plain stays valid for any length', () => {
    expectValidMessage(plain('a'.repeat(10_000)));
    expect(plain('hello')).toEqual({
      text: 'hello',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hello' } }],
    });
  });
});

describe('auditEventMessage', () => {
  const event = (overrides: Partial<AuditView> = {}): AuditView => ({
    id: 42n,
    at,
    requestId: 'JIT-7K2MQ9',
    actor: 'U0DBA',
    action: 'request.denied',
    fromState: 'pending',
    toState: 'denied',
    details: { reason: 'not now' },
    hash: 'ab'.repeat(32),
    ...overrides,
  });

  it('shows action, request, actor, transition, details and hash', () => {
    const message = auditEventMessage(event());
    expectValidMessage(message);
    const texts = mrkdwnTexts(message.blocks).join('\n');
    expect(texts).toContain('*request.denied*');
    expect(texts).toContain('`JIT-7K2MQ9`');
    expect(texts).toContain('by <@U0DBA>');
    expect(texts).toContain('(pending → denied)');
    expect(texts).toContain('reason: not now');
    expect(texts).toContain('#42');
    expect(texts).toContain(`\`${'ab'.repeat(6)}\``);
  });

  it('stays within limits and escapes hostile details and actors', () => {
    const message = auditEventMessage(
      event({
        actor: 'hook:<!channel>',
        details: {
          reason: worstReason,
          [hostileText]: ampersands,
          nested: { list: Array.from({ length: 500 }, () => '<@U0EVIL>') },
        },
      }),
    );
    expectValidMessage(message);
    expectOnlyTrustedControls(message.blocks, []);
  });

  it('works without a request, transition or details', () => {
    const message = auditEventMessage(
      event({
        requestId: null,
        fromState: null,
        toState: null,
        details: {},
        action: 'freeze.added',
        actor: 'system',
      }),
    );
    expectValidMessage(message);
    expect(message.text).toBe('freeze.added by system');
  });
});

function resources(n: number, description = hostileText.repeat(10).slice(0, 500)): ResourceOption[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${longName.slice(0, 60)}${String(i).padStart(3, '0')}`,
    description,
    defaultSec: 3_600,
    maxSec: 9_999 * 86_400 + 86_399,
  }));
}

describe('requestModal', () => {
  it.each([1, 100, 150])('is a valid modal with %i resources with long names and descriptions', (n) => {
    const view = requestModal(resources(n), { channelId: 'C0GENERAL' });
    expect(viewViolations(view, 'modal')).toEqual([]);
    const select = view.blocks.find((b) => b.block_id === requestFields.resource.block) as unknown as {
      element: { action_id: string; options: Array<{ value: string }> };
    };
    expect(select.element.action_id).toBe(requestFields.resource.action);
    expect(select.element.options.map((o) => o.value)).toEqual(
      resources(Math.min(n, 100)).map((r) => r.name),
    );
  });

  it('is a valid modal that says so when no resource is configured', () => {
    const view = requestModal([], { channelId: null });
    expect(viewViolations(view, 'modal')).toEqual([]);
    expect(JSON.stringify(view.blocks)).toContain('No resources');
  });

  it('carries its callback id, inputs and metadata', () => {
    const view = requestModal(resources(3, 'Write access'), { channelId: 'C0GENERAL' });
    expect(view.callback_id).toBe(callbackIds.request);
    expect(view.blocks.map((b) => b.block_id)).toEqual([
      requestFields.resource.block,
      requestFields.duration.block,
      requestFields.reason.block,
    ]);
    expect(parseJson(view.private_metadata ?? '', requestModalMetadataSchema)).toEqual({
      channelId: 'C0GENERAL',
    });
    expect(
      parseJson(requestModal([], { channelId: null }).private_metadata ?? '', requestModalMetadataSchema),
    ).toEqual({ channelId: null });
    const reason = view.blocks.find((b) => b.block_id === requestFields.reason.block) as unknown as {
      element: Record<string, unknown>;
    };
    expect(reason.element).toMatchObject({ action_id: requestFields.reason.action, max_length: 500 });
  });

  it('describes each option with its default and maximum duration', () => {
    const view = requestModal([{ name: 'db', description: 'Database', defaultSec: 3_600, maxSec: 14_400 }], {
      channelId: null,
    });
    expect(JSON.stringify(view.blocks)).toContain('Database (default 1h, max 4h)');
  });
});

describe('denyModal', () => {
  it('is a valid modal with its callback id, reason input and metadata', () => {
    const view = denyModal({ requestId: 'JIT-7K2MQ9' });
    expect(viewViolations(view, 'modal')).toEqual([]);
    expect(view.callback_id).toBe(callbackIds.deny);
    expect(parseJson(view.private_metadata ?? '', denyModalMetadataSchema)).toEqual({
      requestId: 'JIT-7K2MQ9',
    });
    const input = view.blocks.find((b) => b.block_id === denyFields.reason.block) as unknown as {
      type: string;
      element: Record<string, unknown>;
    };
    expect(input.type).toBe('input');
    expect(input.element).toMatchObject({
      type: 'plain_text_input',
      action_id: denyFields.reason.action,
      max_length: 500,
    });
    expect(JSON.stringify(view.blocks)).toContain('JIT-7K2MQ9');
  });
});

describe('text helpers', () => {
  it('escapeText escapes exactly &, < and >', () => {
    expect(escapeText('<!channel> & <@U1> "q" \'s\' *b*')).toBe(
      '&lt;!channel&gt; &amp; &lt;@U1&gt; "q" \'s\' *b*',
    );
    expect(escapeText('&amp;')).toBe('&amp;amp;');
  });

  it('mention only mentions Slack user ids', () => {
    expect(mention('U0ABC')).toBe('<@U0ABC>');
    expect(mention('W0ABC')).toBe('<@W0ABC>');
    expect(mention('system')).toBe('system');
    expect(mention('<!channel>')).toBe('&lt;!channel&gt;');
  });

  it('truncate keeps to the limit and marks the cut', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
    expect(truncate('abcd', 3)).toHaveLength(3);
  });

  it("truncate never leaves half an emoji, which Slack's form encoding cannot send", () => {
    const emoji = '🔥'; // two UTF-16 code units
    for (let max = 2; max < 12; max++) {
      const cut = truncate(`ab${emoji.repeat(10)}`, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(() => encodeURIComponent(cut)).not.toThrow();
    }
    expect(truncate(`a${emoji}b`, 3)).toBe('a…');
  });

  it('lists cut long reasons at a whole character', () => {
    const reason = `${'x'.repeat(119)}🔥🔥`;
    const message = listMessage([line({ reason })]);
    expect(() => encodeURIComponent(message.text)).not.toThrow();
    expect(message.text).toContain(`${'x'.repeat(119)}…`);
  });

  it('code cannot be closed early by a backtick', () => {
    expect(code('a`b')).toBe("`a'b`");
  });

  it('slackDate renders for each reader with a UTC fallback', () => {
    expect(slackDate(at)).toBe(
      `<!date^${at.getTime() / 1000}^{date_short_pretty} {time}|2030-01-02 03:04 UTC>`,
    );
  });
});
