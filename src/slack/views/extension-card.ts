import { formatDuration } from '../../domain/duration.js';
import { type Message, plain } from './messages.js';
import { code, escapeText, mention, type SlackBlock, slackDate, truncate } from './text.js';

/**
 * Messages about extensions (more time on an active grant): the approvers' DM with Approve /
 * Deny, the answer to the requester's ask, and the DM telling them the decision.
 */

export interface ExtensionView {
  id: string;
  requestId: string;
  requesterId: string;
  resource: string;
  extraSec: number;
  /** The extension's own reason; empty when the requester gave none (the request's stands). */
  reason: string;
  requestReason: string;
  /** pending | approved | denied | timed_out | cancelled */
  state: string;
  decidedBy: string | null;
  /** The rule that decided it without a person. */
  decisionRule: string | null;
  endReason: string | null;
  /** When the grant ends now: before the extension while pending, after it once approved. */
  expiresAt: Date | null;
  grantedAt: Date | null;
  /** The resource's `duration.max`; beyond it only people can approve. */
  maxSec: number | null;
  /** Why the policy wants people to decide, in its words. */
  reasons: readonly string[];
}

export const extensionActionIds = {
  approve: 'jit.extension.approve',
  deny: 'jit.extension.deny',
} as const;

const stateWords: Record<string, string> = {
  pending: 'waiting for approval',
  approved: 'approved',
  denied: 'denied',
  timed_out: 'timed out',
  cancelled: 'cancelled',
};

const stateEmoji: Record<string, string> = {
  pending: ':hourglass_flowing_sand:',
  approved: ':white_check_mark:',
  denied: ':x:',
  timed_out: ':alarm_clock:',
  cancelled: ':heavy_minus_sign:',
};

function describe(state: string): string {
  return stateWords[state] ?? state;
}

export function extensionSummary(view: ExtensionView): string {
  return (
    `Extension ${view.id} of ${view.requestId}: ${formatDuration(view.extraSec)} more on ${view.resource} ` +
    `for ${mention(view.requesterId)} (${describe(view.state)})`
  );
}

/** The extension as one message; `withButtons` adds Approve / Deny while it is pending. */
export function extensionCardBlocks(view: ExtensionView, options: { withButtons: boolean }): SlackBlock[] {
  const pending = view.state === 'pending';
  const why = view.reason || view.requestReason;
  const blocks: SlackBlock[] = [
    section(
      `${stateEmoji[view.state] ?? ':grey_question:'} *${mention(view.requesterId)} asks for ${formatDuration(view.extraSec)} more on ${code(view.resource)}*\n` +
        `>${escapeText(why)}`,
    ),
    { type: 'section', fields: fields(view) },
  ];
  if (view.reasons.length > 0 && pending) {
    blocks.push(context(`:mag: ${escapeText(view.reasons.join(' '))}`));
  }
  if (view.endReason) blocks.push(context(`Reason: ${escapeText(view.endReason)}`));
  if (options.withButtons && pending) {
    blocks.push({
      type: 'actions',
      block_id: `jit.extension.${view.id}`,
      elements: [
        {
          type: 'button',
          action_id: extensionActionIds.approve,
          text: { type: 'plain_text', text: 'Approve' },
          style: 'primary',
          value: view.id,
        },
        {
          type: 'button',
          action_id: extensionActionIds.deny,
          text: { type: 'plain_text', text: 'Deny' },
          style: 'danger',
          value: view.id,
        },
      ],
    });
  }
  return blocks;
}

function fields(view: ExtensionView): Array<{ type: 'mrkdwn'; text: string }> {
  const field = (label: string, value: string) => ({
    type: 'mrkdwn' as const,
    text: truncate(`*${label}*\n${value}`, 2000),
  });
  const out = [field('Extension', code(view.id)), field('Request', code(view.requestId))];
  if (view.state === 'pending' && view.expiresAt) {
    const until = new Date(view.expiresAt.getTime() + view.extraSec * 1000);
    out.push(field('Ends now', slackDate(view.expiresAt)), field('If approved', slackDate(until)));
    if (view.grantedAt) {
      const total = (until.getTime() - view.grantedAt.getTime()) / 1000;
      const max = view.maxSec === null ? '' : ` (max ${formatDuration(view.maxSec)})`;
      out.push(field('Total if approved', `${formatDuration(total)}${max}`));
    }
  } else if (view.state === 'approved' && view.expiresAt) {
    out.push(field('Grant ends', slackDate(view.expiresAt)));
  }
  out.push(field('Status', statusLine(view)));
  return out;
}

function statusLine(view: ExtensionView): string {
  if (view.state === 'approved' && view.decisionRule) {
    return `approved automatically (${code(view.decisionRule)})`;
  }
  if ((view.state === 'approved' || view.state === 'denied') && view.decidedBy) {
    return `${describe(view.state)} by ${mention(view.decidedBy)}`;
  }
  return describe(view.state);
}

/** The answer to the requester's ask: applied, sent to the approvers, or refused by a rule. */
export function extensionAnswer(view: ExtensionView): Message {
  const extra = formatDuration(view.extraSec);
  const request = code(view.requestId);
  if (view.state === 'approved') {
    const until = view.expiresAt ? slackDate(view.expiresAt) : 'further notice';
    const how = view.decisionRule ? `auto-approved by ${code(view.decisionRule)}` : 'approved';
    return plain(
      `:hourglass_flowing_sand: ${request} extended by ${extra} (${code(view.id)}, ${how}): you have ${code(view.resource)} until ${until}.`,
    );
  }
  if (view.state === 'denied') {
    const rule =
      view.decisionRule === 'freeze' ? 'a freeze' : `the rule ${code(view.decisionRule ?? 'policy')}`;
    return plain(
      `:no_entry: ${extra} more on ${request} (${code(view.id)}) was denied automatically by ${rule}; no approver was asked.` +
        (view.endReason ? `\n>${escapeText(view.endReason)}` : ''),
    );
  }
  const why = view.reasons.length > 0 ? `\n>${escapeText(view.reasons.join(' '))}` : '';
  return plain(
    `:inbox_tray: Asked the approvers for ${extra} more on ${request} (${code(view.id)}). ` +
      `I will message you when it is decided.${why}`,
  );
}

/** The requester's DM once people (or a rule) decided; null for states with nothing to tell. */
export function extensionNotice(view: ExtensionView): Message | null {
  const extra = formatDuration(view.extraSec);
  const request = code(view.requestId);
  if (view.state === 'approved') {
    const by = view.decisionRule ? ' automatically' : view.decidedBy ? ` by ${mention(view.decidedBy)}` : '';
    const until = view.expiresAt ? slackDate(view.expiresAt) : 'further notice';
    return plain(
      `:hourglass_flowing_sand: ${request}: your access to ${code(view.resource)} was extended by ${extra} ` +
        `(${code(view.id)}, approved${by}); it now ends ${until}.`,
    );
  }
  if (view.state === 'denied') {
    const by = view.decidedBy ? ` by ${mention(view.decidedBy)}` : '';
    return plain(
      `:x: ${request}: ${extra} more on ${code(view.resource)} (${code(view.id)}) was denied${by}; your grant ends as before.` +
        (view.endReason ? `\n>${escapeText(view.endReason)}` : ''),
    );
  }
  return null;
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

function context(text: string): SlackBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, 2000) }] };
}
