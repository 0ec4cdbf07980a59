import { formatDuration } from '../../domain/duration.js';
import { describeState, type RequestState } from '../../domain/lifecycle.js';
import { type ReviewStatus, reviewContextBlock } from './break-glass.js';
import { type Message, requesterNotice } from './messages.js';
import { reviewContext } from './request-card.js';
import {
  code,
  confirmations,
  escapeText,
  levelName,
  mention,
  type SlackBlock,
  slackDate,
  truncate,
} from './text.js';

/**
 * The two messages about a grant that carry buttons: the security channel's card (Revoke) and the
 * requester's DM (Release now). Both are re-rendered in place on every later change of the
 * request, so the buttons disappear once the grant has ended.
 */

export interface GrantView {
  id: string;
  requesterId: string;
  resource: string;
  /** The requester's login on the target system. */
  identity: string;
  reason: string;
  durationSec: number;
  state: RequestState;
  /** The approver whose approval completed the request (or denied it), or `policy`. */
  decidedBy: string | null;
  /** The policy rule that decided the request on its own, if one did. */
  decisionRule: string | null;
  /** The rules that sent the request to people for review (a guest, say), if any. */
  reviewRule?: string | null;
  /** The approvals recorded so far, by level (0 is the first). */
  approvals: ReadonlyArray<{ level: number; approverId: string }>;
  /** How many approval levels the resource has. */
  levelCount: number;
  grantedAt: Date | null;
  expiresAt: Date | null;
  endedAt: Date | null;
  endReason: string | null;
  /**
   * The login made for this request when the grant is one (PostgreSQL `login: per-request`): the
   * requester's DM names it and offers its password through the bot's own page.
   */
  perRequestLogin?: string | null;
  /** Approval levels (0-based) escalated to their fallback approvers, not decided in time. */
  escalatedLevels?: readonly number[];
  /** A break-glass grant's review (who acknowledged or flagged it, or by when it is due). */
  breakGlass?: ReviewStatus | null;
}

export const grantActionIds = {
  revoke: 'jit.revoke',
  release: 'jit.release',
  extend: 'jit.extend',
  credential: 'jit.credential',
} as const;

const stateEmoji: Partial<Record<RequestState, string>> = {
  active: ':unlock:',
  expired: ':lock:',
  released: ':lock:',
  revoked: ':no_entry:',
  grant_failed: ':warning:',
};

export function grantCardSummary(view: GrantView): string {
  const status =
    view.state === 'active' && view.expiresAt
      ? `active until ${slackDate(view.expiresAt)}`
      : describeState(view.state);
  return `Grant ${view.id}: ${view.resource} to ${mention(view.requesterId)} (${status})`;
}

/** Who decided, in words: "Approved by @bob (first level), @carol (second level)". */
export function decisionWords(view: GrantView): string {
  if (view.decisionRule === 'breakGlass') {
    return `Break-glass: granted by ${mention(view.requesterId)} themself, without approval`;
  }
  if (view.decisionRule) {
    const verb = view.state === 'denied' ? 'Denied' : 'Approved';
    return `${verb} automatically by the rule ${code(view.decisionRule)}`;
  }
  const approvers = view.approvals
    .slice(0, 10)
    .map((a) =>
      view.levelCount > 1 ? `${mention(a.approverId)} (${levelName(a.level)})` : mention(a.approverId),
    )
    .join(', ');
  if (view.state === 'denied') return view.decidedBy ? `Denied by ${mention(view.decidedBy)}` : 'Denied';
  if (view.state === 'pending') {
    const escalated = (view.escalatedLevels ?? []).map(levelName);
    const waiting =
      escalated.length > 0
        ? `Waiting for approval (${escalated.join(', ')} escalated to its fallback approvers)`
        : 'Waiting for approval';
    return approvers ? `${waiting}; so far ${approvers}` : waiting;
  }
  if (view.state === 'timed_out') return 'No decision in time';
  if (view.state === 'cancelled' && !approvers) return 'Cancelled before a decision';
  if (approvers) return `Approved by ${approvers}`;
  return view.decidedBy ? `Approved by ${mention(view.decidedBy)}` : 'n/a';
}

/** The security channel's card of one grant; a Revoke button, behind a confirmation, while active. */
export function grantCardBlocks(view: GrantView): SlackBlock[] {
  const active = view.state === 'active';
  const headline = active
    ? `*${mention(view.requesterId)} has ${code(view.resource)}${view.expiresAt ? ` until ${slackDate(view.expiresAt)}` : ''}*`
    : `*${mention(view.requesterId)}'s access to ${code(view.resource)}: ${describeState(view.state)}*`;
  const blocks: SlackBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `${stateEmoji[view.state] ?? ':grey_question:'} ${headline}\n>${escapeText(view.reason)}`,
          3000,
        ),
      },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Request*\n${code(view.id)}` },
        { type: 'mrkdwn', text: truncate(`*Identity*\n${code(escapeText(view.identity))}`, 2000) },
        { type: 'mrkdwn', text: truncate(`*Decision*\n${decisionWords(view)}`, 2000) },
        { type: 'mrkdwn', text: `*Duration*\n${formatDuration(view.durationSec)}` },
        ...(view.grantedAt ? [{ type: 'mrkdwn', text: `*Granted*\n${slackDate(view.grantedAt)}` }] : []),
        ...(!active && view.endedAt ? [{ type: 'mrkdwn', text: `*Ended*\n${slackDate(view.endedAt)}` }] : []),
      ],
    },
  ];
  if (view.reviewRule) blocks.push(reviewContext(view.reviewRule));
  if (view.breakGlass) blocks.push(reviewContextBlock(view.breakGlass));
  if (view.endReason) blocks.push(endReasonContext(view.state, view.endReason));
  if (active) {
    blocks.push({
      type: 'actions',
      block_id: `jit.grant.${view.id}`,
      elements: [
        {
          type: 'button',
          action_id: grantActionIds.revoke,
          text: { type: 'plain_text', text: 'Revoke' },
          style: 'danger',
          value: view.id,
          confirm: confirmations.revoke(view),
        },
      ],
    });
  }
  return blocks;
}

/**
 * The requester's DM about their grant: until when, with a Release now button while it is
 * active; once it has ended, the same words as the notice of that end.
 */
export function requesterGrantMessage(view: GrantView): Message {
  if (view.state !== 'active') {
    return (
      requesterNotice(view) ?? {
        text: `${view.id}: ${describeState(view.state)}`,
        blocks: [section(`${code(view.id)}: ${describeState(view.state)}.`)],
      }
    );
  }
  const until = view.expiresAt ? slackDate(view.expiresAt) : 'further notice';
  const login = view.perRequestLogin;
  const as = login
    ? `as ${code(escapeText(login))}, a login made for this request that the database itself refuses after that. ` +
      'Get its password with *Get password*: it is shown once, on the bot’s own page, never here'
    : `as ${code(escapeText(view.identity))}`;
  const text =
    `:unlock: ${code(view.id)}: you have ${code(view.resource)} until ${until}, ${as}. ` +
    `Release it when you are done (or \`/jit release ${view.id}\`).`;
  const credentialButton = {
    type: 'button',
    action_id: grantActionIds.credential,
    text: { type: 'plain_text', text: 'Get password' },
    value: view.id,
  };
  return {
    text,
    blocks: [
      section(text),
      {
        type: 'actions',
        block_id: `jit.release.${view.id}`,
        elements: [
          {
            type: 'button',
            action_id: grantActionIds.release,
            text: { type: 'plain_text', text: 'Release now' },
            value: view.id,
            confirm: confirmations.release(view),
          },
          // Opens a small form for how much longer; policy or approvers decide as for a request.
          {
            type: 'button',
            action_id: grantActionIds.extend,
            text: { type: 'plain_text', text: 'Extend' },
            value: view.id,
          },
          ...(login ? [credentialButton] : []),
        ],
      },
    ],
  };
}

function endReasonContext(state: RequestState, endReason: string): SlackBlock {
  const label = describeState(state);
  return {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: truncate(`${label.charAt(0).toUpperCase()}${label.slice(1)}: ${escapeText(endReason)}`, 2000),
      },
    ],
  };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}
