import { formatDuration } from '../../domain/duration.js';
import { describeState, type RequestState } from '../../domain/lifecycle.js';
import { describeOptOutRules } from '../../domain/opt-out.js';
import { code, escapeText, levelName, mention, type SlackBlock, slackDate, truncate } from './text.js';

/** A message as `respond()`, `chat.postMessage` and `chat.postEphemeral` take it. */
export interface Message {
  text: string;
  blocks?: SlackBlock[];
}

/** Slack rejects section text over 3000 characters; user text escaped into it can get that long. */
const sectionTextLimit = 3000;

export function plain(text: string): Message {
  return { text, blocks: [section(text)] };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, sectionTextLimit) } };
}

/** Lines packed into as few sections as fit, so a long list is not rejected as a whole. */
function sections(lines: readonly string[]): SlackBlock[] {
  const blocks: SlackBlock[] = [];
  let current = '';
  for (const next of lines) {
    if (current !== '' && current.length + 1 + next.length > sectionTextLimit) {
      blocks.push(section(current));
      current = next;
    } else {
      current = current === '' ? next : `${current}\n${next}`;
    }
  }
  if (current !== '') blocks.push(section(current));
  return blocks;
}

export function helpMessage(): Message {
  return plain(
    [
      '*jit-bot: temporary access, approved in Slack and taken back automatically*',
      '`/jit` or `/jit request`: open the request form',
      '`/jit request <resource> <duration> <reason…>`: request without the form, e.g. `/jit request prod-db-write 1h INC-42 failing migration`',
      '`/jit break-glass <resource> <duration> <reason…>`: emergencies only, where a resource allows it: access at once without approval; the security channel is alerted and reviewers check it afterwards',
      '`/jit list`: your pending and active requests',
      '`/jit pending`: requests waiting for your approval',
      '`/jit release <id>`: end your access now (or withdraw a pending request)',
      '`/jit extend <id> <duration>`: ask for more time on your grant (or *Extend* on its message); approved again unless policy allows it at once',
      '`/jit revoke <id|@user|resource> <reason…>`: security team: revoke now',
      '`/jit freeze <resource|@user|all> <reason…>` / `/jit unfreeze …`: security team: block and revoke',
      '`/jit audit [id|@user]`: security team: recent audit trail',
      'Durations: `90s`, `30m`, `2h`, `1d`, `1h30m`.',
    ].join('\n'),
  );
}

export interface RequestLine {
  id: string;
  resource: string;
  durationSec: number;
  state: RequestState;
  requesterId: string;
  reason: string;
  expiresAt: Date | null;
}

function line(r: RequestLine, withRequester: boolean): string {
  const who = withRequester ? ` by ${mention(r.requesterId)}` : '';
  const until = r.state === 'active' && r.expiresAt ? ` until ${slackDate(r.expiresAt)}` : '';
  return `• ${code(r.id)} ${code(r.resource)} for ${formatDuration(r.durationSec)}${who}: ${describeState(r.state)}${until}, “${escapeText(truncate(r.reason, 120))}”`;
}

/** More than any query asks for; keeps the worst case (long escaped reasons) under 50 blocks. */
const maxListed = 40;

function requestList(
  title: string,
  requests: readonly RequestLine[],
  withRequester: boolean,
  footer?: string,
): Message {
  const lines = [title, ...requests.slice(0, maxListed).map((r) => line(r, withRequester))];
  if (requests.length > maxListed) lines.push(`…and ${requests.length - maxListed} more`);
  if (footer) lines.push(footer);
  return { text: lines.join('\n'), blocks: sections(lines) };
}

export function listMessage(requests: readonly RequestLine[]): Message {
  if (requests.length === 0)
    return plain('You have no pending or active requests. `/jit request` to ask for access.');
  return requestList('*Your open requests*', requests, false);
}

export function pendingMessage(requests: readonly RequestLine[]): Message {
  if (requests.length === 0) return plain('Nothing is waiting for your approval.');
  const footer = 'The Approve and Deny buttons are in the messages I sent you.';
  return requestList('*Waiting for your approval*', requests, true, footer);
}

/** The answer to a new request: sent to approvers, or decided by a rule (which, why, what now). */
export function requestCreatedMessage(
  r: RequestLine & { decisionRule?: string | null; reviewRule?: string | null; endReason?: string | null },
): Message {
  if (r.state === 'denied' && r.decisionRule) {
    const rule = r.decisionRule === 'freeze' ? 'a freeze' : `the rule ${code(r.decisionRule)}`;
    return plain(
      `:no_entry: Request ${code(r.id)} for ${code(r.resource)} was denied automatically by ${rule}; no approver was asked.` +
        (r.endReason ? `\n>${escapeText(r.endReason)}` : ''),
    );
  }
  if ((r.state === 'approved' || r.state === 'active') && r.decisionRule) {
    return plain(
      `:white_check_mark: Request ${code(r.id)} for ${code(r.resource)} (${formatDuration(r.durationSec)}) was approved automatically by the rule ${code(r.decisionRule)}; no approver was asked. ` +
        'Access is being granted; I will message you when it is ready.',
    );
  }
  const review = r.reviewRule
    ? ` It needs human review: ${escapeText(describeOptOutRules(r.reviewRule))}.`
    : '';
  return plain(
    `:inbox_tray: Request ${code(r.id)} for ${code(r.resource)} (${formatDuration(r.durationSec)}) sent to its approvers.${review} ` +
      `I will message you when it is decided. \`/jit release ${r.id}\` withdraws it.`,
  );
}

/** What the requester is told after each transition, in a DM. */
export function requesterNotice(
  r: RequestLine & { endReason: string | null; decidedBy: string | null },
): Message | null {
  const id = code(r.id);
  const resource = code(r.resource);
  const why = r.endReason ? `\n>${escapeText(r.endReason)}` : '';
  switch (r.state) {
    case 'active':
      return plain(
        `:unlock: ${id}: you have ${resource} until ${r.expiresAt ? slackDate(r.expiresAt) : 'further notice'}. \`/jit release ${r.id}\` when you are done.`,
      );
    case 'denied':
      return plain(
        `:x: ${id} for ${resource} was denied${r.decidedBy ? ` by ${mention(r.decidedBy)}` : ''}.${why}`,
      );
    case 'expired':
      return plain(`:lock: ${id}: your access to ${resource} has expired and was removed.`);
    case 'released':
      return plain(`:lock: ${id}: you released ${resource}; the access was removed.`);
    case 'revoked':
      // Admins, freezes, recall hooks and idle recall all end here; the reason says which.
      return plain(`:no_entry: ${id}: your access to ${resource} was revoked before it expired.${why}`);
    case 'grant_failed':
      return plain(
        `:warning: ${id}: ${resource} was approved but could not be granted. The security team has been told.${why}`,
      );
    case 'cancelled':
      return plain(`:heavy_minus_sign: ${id}: your request for ${resource} was withdrawn.${why}`);
    case 'timed_out':
      return plain(
        `:alarm_clock: ${id}: nobody approved ${resource} in time. Request again if you still need it.`,
      );
    default:
      return null;
  }
}

export interface ReminderView {
  id: string;
  resource: string;
  durationSec: number;
  requesterId: string;
  state: RequestState;
  timesOutAt: Date;
  /** The approver it was sent to has approved since (a later level is waiting). */
  approvedByReader: boolean;
}

/**
 * The reminder an approver gets half-way to the approval timeout, threaded under the request's
 * card (which keeps the buttons); updated with the card once the request is decided.
 */
export function approvalReminder(r: ReminderView): Message {
  const id = code(r.id);
  if (r.state !== 'pending') return plain(`${id} no longer needs you: it is ${describeState(r.state)}.`);
  if (r.approvedByReader) return plain(`${id}: you approved it; the other approvers are being waited on.`);
  const message = plain(
    `:bell: *Reminder:* ${mention(r.requesterId)} is still waiting for your approval of ${id}, ` +
      `${code(r.resource)} for ${formatDuration(r.durationSec)}. Approve or Deny on the request's card; ` +
      `it times out ${slackDate(r.timesOutAt)}.`,
  );
  return { ...message, text: `Reminder: ${r.id} is waiting for your approval` };
}

/** The answer to an approval that did not complete the last level (a request or an extension). */
export function approvalRecordedText(id: string, level: number): string {
  return `:ballot_box_with_check: Your approval of ${code(id)} is recorded (${levelName(level)}); more approvals are needed.`;
}
