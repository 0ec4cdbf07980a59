import type { AuditTrail, AuditTrailEvent } from '../../app/audit-trail.js';
import type { ChainedFields } from '../../audit/chain.js';
import { formatDuration } from '../../domain/duration.js';
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
  'approval.reauth_failed': ':closed_lock_with_key:',
  'break_glass.used': ':rotating_light:',
  'break_glass.acknowledged': ':white_check_mark:',
  'break_glass.flagged': ':triangular_flag_on_post:',
  'break_glass.review_overdue': ':rotating_light:',
};

/** The reviewers an event names ({ users, groups }), as mentions. */
function reviewersText(value: unknown): string {
  const { users = [], groups = [] } = (value ?? {}) as { users?: unknown[]; groups?: unknown[] };
  const named = [
    ...users.filter((u): u is string => typeof u === 'string').map(mention),
    ...groups
      .filter((g): g is string => typeof g === 'string' && /^S[A-Z0-9]+$/.test(g))
      .map((g) => `<!subteam^${g}>`),
  ];
  return named.join(', ') || 'nobody';
}

/**
 * Break-glass alerts in words, louder than an event line: they are the security team's to act
 * on. Null for every other action.
 */
function breakGlassAlert(event: AuditView): string | null {
  const d = (event.details ?? {}) as Record<string, unknown>;
  const id = event.requestId ? code(event.requestId) : '';
  if (event.action === 'break_glass.used') {
    const duration = typeof d.durationSec === 'number' ? ` for ${formatDuration(d.durationSec)}` : '';
    const due = typeof d.reviewBy === 'string' ? ` by ${slackDate(new Date(d.reviewBy))}` : '';
    return (
      `:rotating_light: *BREAK-GLASS* ${id}: ${actorText(event.actor)} granted themself ${code(String(d.resource ?? ''))}` +
      `${duration} as ${code(String(d.identity ?? ''))}, *without approval*.
>${escapeText(String(d.reason ?? ''))}
` +
      `Reviewers ${reviewersText(d.reviewers)}: acknowledge or flag it${due} (the DM I sent you).`
    );
  }
  if (event.action === 'break_glass.flagged') {
    const froze = d.freezeRequester === true ? ' and freezes the requester' : '';
    return `:triangular_flag_on_post: *Break-glass flagged* ${id} by ${actorText(event.actor)}: the grant is revoked now${froze}.`;
  }
  if (event.action === 'break_glass.review_overdue') {
    return `:rotating_light: *Break-glass not reviewed* ${id}: nobody acknowledged or flagged it in time. Reviewers ${reviewersText(d.reviewers)}, please look now.`;
  }
  return null;
}

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
  const alert = breakGlassAlert(event);
  const headline = alert ?? auditHeadline(event);
  const details = alert ? '' : detailsText(event.details);
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
