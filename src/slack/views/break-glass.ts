import { formatDuration } from '../../domain/duration.js';
import { describeState, type RequestState } from '../../domain/lifecycle.js';
import type { Message } from './messages.js';
import { code, confirmDialog, escapeText, mention, type SlackBlock, slackDate, truncate } from './text.js';

/**
 * Break-glass in Slack: the reviewers' DM (Acknowledge / Flag while nobody has reviewed it), the
 * line the security card shows about the review, the alert posted top-level when the glass is
 * broken, and the requester's answer.
 */

export interface ReviewStatus {
  dueAt: Date;
  outcome: string | null;
  decidedBy: string | null;
  decidedAt: Date | null;
  overdueAt: Date | null;
  freezeOnFlag: boolean;
}

export interface BreakGlassView {
  id: string;
  requesterId: string;
  resource: string;
  identity: string;
  reason: string;
  durationSec: number;
  state: RequestState;
  expiresAt: Date | null;
  review: ReviewStatus;
}

export const breakGlassActionIds = {
  acknowledge: 'jit.break_glass.acknowledge',
  flag: 'jit.break_glass.flag',
} as const;

/** Where the review stands, in words: for the card, the reviewers' DM and the Home tab. */
export function reviewStatusLine(review: ReviewStatus): string {
  if (review.outcome === 'acknowledged' && review.decidedBy) {
    return `:white_check_mark: Break-glass reviewed: acknowledged by ${mention(review.decidedBy)}${review.decidedAt ? ` ${slackDate(review.decidedAt)}` : ''}.`;
  }
  if (review.outcome === 'flagged' && review.decidedBy) {
    return `:triangular_flag_on_post: Break-glass flagged by ${mention(review.decidedBy)}: the grant was revoked${review.freezeOnFlag ? ' and the requester frozen' : ''}.`;
  }
  if (review.overdueAt)
    return `:rotating_light: Break-glass *not reviewed*: it was due ${slackDate(review.dueAt)}.`;
  return `:rotating_light: Break-glass: granted without approval; to be reviewed by ${slackDate(review.dueAt)}.`;
}

export function reviewContextBlock(review: ReviewStatus): SlackBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(reviewStatusLine(review), 2000) }] };
}

function accessLine(view: BreakGlassView): string {
  if (view.state === 'active' && view.expiresAt) return `active until ${slackDate(view.expiresAt)}`;
  return describeState(view.state);
}

/** The DM each reviewer gets; the buttons go once anyone has reviewed it. */
export function reviewerMessage(view: BreakGlassView): Message {
  const headline =
    `:rotating_light: *${mention(view.requesterId)} broke glass on ${code(view.resource)}* ` +
    `for ${formatDuration(view.durationSec)}, as ${code(escapeText(view.identity))}, without approval.`;
  const blocks: SlackBlock[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(`${headline}\n>${escapeText(view.reason)}`, 3000) },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Request*\n${code(view.id)}` },
        { type: 'mrkdwn', text: `*Access*\n${accessLine(view)}` },
      ],
    },
    reviewContextBlock(view.review),
  ];
  if (view.review.outcome === null) {
    const consequence = view.review.freezeOnFlag
      ? `${mention(view.requesterId)} loses ${code(view.resource)} at once and is frozen: no new access until the security team lifts it.`
      : `${mention(view.requesterId)} loses ${code(view.resource)} at once, if they still have it.`;
    blocks.push({
      type: 'actions',
      block_id: `jit.review.${view.id}`,
      elements: [
        {
          type: 'button',
          action_id: breakGlassActionIds.acknowledge,
          text: { type: 'plain_text', text: 'Acknowledge' },
          style: 'primary',
          value: view.id,
        },
        {
          type: 'button',
          action_id: breakGlassActionIds.flag,
          text: { type: 'plain_text', text: 'Flag' },
          style: 'danger',
          value: view.id,
          confirm: confirmDialog({
            title: `Flag ${view.id}?`,
            text: `${consequence} The security channel is alerted.`,
            confirm: 'Flag',
            deny: 'Cancel',
            danger: true,
          }),
        },
      ],
    });
  }
  return {
    text: `Break-glass ${view.id}: ${view.resource} taken by ${view.requesterId} without approval; review it.`,
    blocks,
  };
}

/** The requester's answer to `/jit break-glass`. */
export function breakGlassAnswer(view: Omit<BreakGlassView, 'review'> & { dueAt: Date | null }): Message {
  const text =
    `:rotating_light: ${code(view.id)}: break-glass on ${code(view.resource)} for ${formatDuration(view.durationSec)}, ` +
    `as ${code(escapeText(view.identity))}. The access is being granted now; the grant DM follows. ` +
    `The security channel has been alerted, and reviewers check it${view.dueAt ? ` by ${slackDate(view.dueAt)}` : ''}.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } }] };
}
