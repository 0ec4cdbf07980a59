import type { AuditTrail, AuditTrailEvent } from '../../app/audit-trail.js';
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
  'request.extended': ':hourglass_flowing_sand:',
  'extension.created': ':inbox_tray:',
  'extension.approval_recorded': ':ballot_box_with_check:',
  'extension.approved': ':white_check_mark:',
  'extension.denied': ':x:',
  'extension.cancelled': ':heavy_minus_sign:',
  'request.reminded': ':bell:',
  'request.timed_out': ':alarm_clock:',
  'approval.refused': ':raised_hand:',
  'revoke.retrying': ':rotating_light:',
  'revoke.bulk': ':no_entry:',
  'admin.refused': ':raised_hand:',
  'freeze.created': ':ice_cube:',
  'freeze.lifted': ':sunny:',
  'hook.rejected': ':shield:',
  'drift.regranted': ':mag:',
  'drift.revoked': ':mag:',
  'drift.revoke_failed': ':rotating_light:',
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

/** What happened, to which request, by whom: the first line of an event wherever it is shown. */
function auditHeadline(event: Omit<ChainedFields, 'at' | 'details'>): string {
  const emoji = actionEmoji[event.action] ?? ':memo:';
  const states =
    event.fromState && event.toState && event.fromState !== event.toState
      ? ` (${event.fromState} → ${event.toState})`
      : '';
  const subject = event.requestId ? ` ${code(event.requestId)}` : '';
  return `${emoji} *${escapeText(event.action)}*${subject} by ${actorText(event.actor)}${states}`;
}

/** One audit event as posted to the security channel. */
export function auditEventMessage(event: AuditView): Message {
  const headline = auditHeadline(event);
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

/** Each listed event's details are cut to this, so 20 events stay readable in one answer. */
const listedDetailsLimit = 600;

function trailTitle(trail: AuditTrail): string {
  const { subject } = trail;
  const about =
    subject.kind === 'request'
      ? ` of ${code(subject.requestId)}`
      : subject.kind === 'user'
        ? ` of ${mention(subject.userId)} (by them, or about their requests)`
        : '';
  if (trail.events.length === 0) return `:ledger: *Audit trail${about}*: no events.`;
  const latest = trail.events.length === 1 ? 'the latest event' : `the latest ${trail.events.length} events`;
  return `:ledger: *Audit trail${about}*: ${latest}, oldest first.`;
}

function trailEvent(event: AuditTrailEvent): string {
  const details = detailsText(event.details);
  const warning = event.intact
    ? ''
    : '\n:rotating_light: *Its contents do not match its hash: this event was edited.*';
  const meta = `#${event.id} · ${slackDate(event.at)} · hash ${code(event.hash.slice(0, 12))}`;
  return truncate(
    `${auditHeadline(event)}${details ? `\n${truncate(details, listedDetailsLimit)}` : ''}\n${meta}${warning}`,
    3000,
  );
}

function chainStatus(trail: AuditTrail): string {
  const { count, newest } = trail.chain;
  if (!newest) return ':link: The audit trail is empty.';
  return (
    `:link: The chain holds ${count} event${count === 1 ? '' : 's'}; the newest is #${newest.id}, hash ${code(newest.hash.slice(0, 12))}. ` +
    'Only the events above were checked here: run `jit audit verify` to check every link.'
  );
}

/**
 * `/jit audit`: one section per event (at most 48, within a message's 50 blocks), between a
 * title and the chain's status.
 */
export function auditTrailMessage(trail: AuditTrail): Message {
  const events = trail.events.slice(-48);
  const edited = events.filter((e) => !e.intact).length;
  return {
    text: `Audit trail: ${events.length} event${events.length === 1 ? '' : 's'}${edited ? `, ${edited} edited` : ''}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: trailTitle(trail) } },
      ...events.map((event) => ({ type: 'section', text: { type: 'mrkdwn', text: trailEvent(event) } })),
      { type: 'context', elements: [{ type: 'mrkdwn', text: chainStatus(trail) }] },
    ],
  };
}
