import type { ChainedFields } from '../../audit/chain.js';
import type { Message } from './messages.js';
import { code, escapeText, mention, slackDate, truncate } from './text.js';

/** An audit row as the security channel sees it. */
export type AuditView = ChainedFields & { id: bigint; hash: string };

const actionEmoji: Record<string, string> = {
  'request.created': ':inbox_tray:',
  'request.approved': ':white_check_mark:',
  'request.approval_recorded': ':ballot_box_with_check:',
  'request.active': ':unlock:',
  'request.denied': ':x:',
  'request.expired': ':lock:',
  'request.released': ':lock:',
  'request.revoked': ':no_entry:',
  'request.cancelled': ':heavy_minus_sign:',
  'request.grant_failed': ':warning:',
  'approval.refused': ':raised_hand:',
  'revoke.retrying': ':rotating_light:',
  'admin.refused': ':raised_hand:',
  'freeze.created': ':ice_cube:',
  'freeze.lifted': ':sunny:',
  'hook.rejected': ':shield:',
};

function actorText(actor: string): string {
  return /^[UW][A-Z0-9]+$/.test(actor) ? mention(actor) : escapeText(actor);
}

function detailsText(details: unknown): string {
  if (!details || typeof details !== 'object') return '';
  return Object.entries(details as Record<string, unknown>)
    .map(
      ([key, value]) =>
        `${escapeText(key)}: ${escapeText(typeof value === 'string' ? value : JSON.stringify(value))}`,
    )
    .join(' · ');
}

/** One audit event as posted to the security channel. */
export function auditEventMessage(event: AuditView): Message {
  const emoji = actionEmoji[event.action] ?? ':memo:';
  const states =
    event.fromState && event.toState && event.fromState !== event.toState
      ? ` (${event.fromState} → ${event.toState})`
      : '';
  const subject = event.requestId ? ` ${code(event.requestId)}` : '';
  const headline = `${emoji} *${escapeText(event.action)}*${subject} by ${actorText(event.actor)}${states}`;
  const details = detailsText(event.details);
  return {
    text: `${event.action}${event.requestId ? ` ${event.requestId}` : ''} by ${event.actor}`,
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: truncate(details ? `${headline}\n${details}` : headline, 3000) },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `#${event.id} · ${slackDate(event.at)} · hash ${code(event.hash.slice(0, 12))}`,
          },
        ],
      },
    ],
  };
}
