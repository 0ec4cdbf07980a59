import { formatDuration } from '../../domain/duration.js';
import { describeState, type RequestState } from '../../domain/lifecycle.js';
import { code, escapeText, mention, type SlackBlock, slackDate } from './text.js';

/** A message as `respond()`, `chat.postMessage` and `chat.postEphemeral` take it. */
export interface Message {
  text: string;
  blocks?: SlackBlock[];
}

export function plain(text: string): Message {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

export function helpMessage(): Message {
  return plain(
    [
      '*jit-bot: temporary access, approved in Slack and taken back automatically*',
      '`/jit` or `/jit request`: open the request form',
      '`/jit request <resource> <duration> <reason…>`: request without the form, e.g. `/jit request prod-db-write 1h INC-42 failing migration`',
      '`/jit list`: your pending and active requests',
      '`/jit pending`: requests waiting for your approval',
      '`/jit release <id>`: end your access now (or withdraw a pending request)',
      '`/jit extend <id> <duration>`: ask for more time',
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
  return `• ${code(r.id)} ${code(r.resource)} for ${formatDuration(r.durationSec)}${who}: ${describeState(r.state)}${until}, “${escapeText(r.reason.slice(0, 120))}”`;
}

export function listMessage(requests: readonly RequestLine[]): Message {
  if (requests.length === 0) return plain('You have no pending or active requests. `/jit request` to ask for access.');
  return plain(`*Your open requests*\n${requests.map((r) => line(r, false)).join('\n')}`);
}

export function pendingMessage(requests: readonly RequestLine[]): Message {
  if (requests.length === 0) return plain('Nothing is waiting for your approval.');
  return plain(`*Waiting for your approval*\n${requests.map((r) => line(r, true)).join('\n')}\nThe Approve and Deny buttons are in the messages I sent you.`);
}

export function requestCreatedMessage(r: RequestLine): Message {
  return plain(
    `:inbox_tray: Request ${code(r.id)} for ${code(r.resource)} (${formatDuration(r.durationSec)}) sent to its approvers. ` +
      `I will message you when it is decided. \`/jit release ${r.id}\` withdraws it.`,
  );
}

/** What the requester is told after each transition, in a DM. */
export function requesterNotice(r: RequestLine & { endReason: string | null; decidedBy: string | null }): Message | null {
  const id = code(r.id);
  const resource = code(r.resource);
  const why = r.endReason ? `\n>${escapeText(r.endReason)}` : '';
  switch (r.state) {
    case 'active':
      return plain(`:unlock: ${id}: you have ${resource} until ${r.expiresAt ? slackDate(r.expiresAt) : 'further notice'}. \`/jit release ${r.id}\` when you are done.`);
    case 'denied':
      return plain(`:x: ${id} for ${resource} was denied${r.decidedBy ? ` by ${mention(r.decidedBy)}` : ''}.${why}`);
    case 'expired':
      return plain(`:lock: ${id}: your access to ${resource} has expired and was removed.`);
    case 'released':
      return plain(`:lock: ${id}: you released ${resource}; the access was removed.`);
    case 'revoked':
      return plain(`:no_entry: ${id}: your access to ${resource} was revoked by the security team.${why}`);
    case 'grant_failed':
      return plain(`:warning: ${id}: ${resource} was approved but could not be granted. The security team has been told.${why}`);
    case 'timed_out':
      return plain(`:alarm_clock: ${id}: nobody approved ${resource} in time. Request again if you still need it.`);
    default:
      return null;
  }
}
