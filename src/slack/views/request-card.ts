import { formatDuration } from '../../domain/duration.js';
import { describeState, type RequestState } from '../../domain/lifecycle.js';
import { describeOptOutRules } from '../../domain/opt-out.js';
import { code, escapeText, levelName, mention, type SlackBlock, slackDate, truncate } from './text.js';

/** What a request message shows; built by the notifier from the database row and the policy. */
export interface RequestView {
  id: string;
  requesterId: string;
  resource: string;
  resourceDescription: string;
  durationSec: number;
  reason: string;
  state: RequestState;
  createdAt: Date;
  expiresAt: Date | null;
  endReason: string | null;
  decidedBy: string | null;
  /** `escalated`: the level was not decided in time, so its `escalateTo` approvers were asked too. */
  levels: ReadonlyArray<{ count: number; approvedBy: readonly string[]; escalated?: boolean }>;
  /** Opt-out rules that sent it to people (comma-separated ids), when any did. */
  reviewRule?: string | null;
  /** The identity the access goes to on the target, and the provider holding it. */
  identity?: string;
  providerName?: string;
  /** While pending: when the access would end if it were granted now. */
  endsIfGrantedNow?: Date | null;
}

export const actionIds = {
  approve: 'jit.approve',
  deny: 'jit.deny',
} as const;

const stateEmoji: Record<RequestState, string> = {
  pending: ':hourglass_flowing_sand:',
  approved: ':white_check_mark:',
  active: ':unlock:',
  expired: ':lock:',
  released: ':lock:',
  revoked: ':no_entry:',
  denied: ':x:',
  cancelled: ':heavy_minus_sign:',
  timed_out: ':alarm_clock:',
  grant_failed: ':warning:',
};

/**
 * An approver's card shows an approved request as approved, whatever its grant does next (see
 * `requestView`), so it does not say "granting".
 */
function stateWords(state: RequestState): string {
  return state === 'approved' ? 'approved' : describeState(state);
}

export function requestSummary(view: RequestView): string {
  return `${view.id}: ${view.resource} for ${formatDuration(view.durationSec)}, requested by ${mention(view.requesterId)} (${stateWords(view.state)})`;
}

/** The request as one message; `withButtons` adds Approve/Deny while it is pending. */
export function requestCardBlocks(view: RequestView, options: { withButtons: boolean }): SlackBlock[] {
  const blocks: SlackBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `${stateEmoji[view.state]} *${mention(view.requesterId)} requests ${code(view.resource)} for ${formatDuration(view.durationSec)}*\n` +
            `${escapeText(view.resourceDescription)}\n>${escapeText(view.reason)}`,
          3000,
        ),
      },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Request*\n${code(view.id)}` },
        { type: 'mrkdwn', text: `*Status*\n${statusLine(view)}` },
        { type: 'mrkdwn', text: truncate(`*Approvals*\n${approvalLine(view)}`, 2000) },
        { type: 'mrkdwn', text: `*Requested*\n${slackDate(view.createdAt)}` },
        ...accessFields(view),
      ],
    },
  ];
  if (view.reviewRule) blocks.push(reviewContext(view.reviewRule));
  if (view.endReason) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: truncate(`Reason: ${escapeText(view.endReason)}`, 2000) }],
    });
  }
  if (options.withButtons && view.state === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: `jit.decide.${view.id}`,
      elements: [
        {
          type: 'button',
          action_id: actionIds.approve,
          text: { type: 'plain_text', text: 'Approve' },
          style: 'primary',
          value: view.id,
        },
        {
          type: 'button',
          action_id: actionIds.deny,
          text: { type: 'plain_text', text: 'Deny' },
          style: 'danger',
          value: view.id,
        },
      ],
    });
  }
  return blocks;
}

/** Who gets what, and until when: what an approver needs to see before pressing Approve. */
function accessFields(view: RequestView): Array<{ type: 'mrkdwn'; text: string }> {
  const fields: Array<{ type: 'mrkdwn'; text: string }> = [];
  if (view.identity) {
    const where = view.providerName ? ` on ${escapeText(view.providerName)}` : '';
    fields.push({ type: 'mrkdwn', text: truncate(`*Access goes to*\n${code(view.identity)}${where}`, 2000) });
  }
  if (view.state === 'pending' && view.endsIfGrantedNow) {
    fields.push({
      type: 'mrkdwn',
      text: `*Would end*\n${slackDate(view.endsIfGrantedNow)} if granted now (${formatDuration(view.durationSec)} after the grant)`,
    });
  }
  return fields;
}

function statusLine(view: RequestView): string {
  const words = stateWords(view.state);
  if (view.state === 'active' && view.expiresAt) return `active until ${slackDate(view.expiresAt)}`;
  if ((view.state === 'denied' || view.state === 'approved') && view.decidedBy) {
    return `${words} by ${mention(view.decidedBy)}`;
  }
  return words;
}

/** Per level; a field holds 2000 characters, and a mention takes about 15. */
const maxNamedApprovers = 10;

function approvalLine(view: RequestView): string {
  return view.levels
    .map((level, i) => {
      const shown = level.approvedBy.slice(0, maxNamedApprovers).map(mention);
      const more = level.approvedBy.length - shown.length;
      const who = `${shown.join(', ')}${more > 0 ? ` +${more} more` : ''}` || 'none yet';
      const name = levelName(i);
      const prefix = view.levels.length > 1 ? `${name.charAt(0).toUpperCase()}${name.slice(1)}: ` : '';
      const escalated = level.escalated ? ', escalated to its fallback approvers' : '';
      return `${prefix}${level.approvedBy.length} of ${level.count} (${who})${escalated}`;
    })
    .join('\n');
}

/** Why a request goes to people even where a rule would have decided it (a guest, say). */
export function reviewContext(reviewRule: string): SlackBlock {
  const why = `${describeOptOutRules(reviewRule)} (${reviewRule.split(',').map(code).join(', ')})`;
  return {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: truncate(`:mag: Needs human review: ${escapeText(why)}`, 2000) }],
  };
}
