import type { RevokeSummary } from '../../app/revoke.js';
import type { Message } from './messages.js';
import { plain } from './messages.js';
import { code, escapeText, mention } from './text.js';

/** Answers to the security team's commands: what happened, request by request. */

/** How a freeze's scope reads in Slack. */
export function scopeText(stored: { scope: string; target: string }): string {
  if (stored.scope === 'all') return '*all access*';
  if (stored.scope === 'user') return `access of ${mention(stored.target)}`;
  return code(stored.target);
}

const maxIdsShown = 30;

function ids(list: readonly string[]): string {
  const shown = list.slice(0, maxIdsShown).map(code).join(', ');
  return list.length > maxIdsShown ? `${shown} and ${list.length - maxIdsShown} more` : shown;
}

/** The lines of a revocation summary; empty when nothing was in scope. */
export function revocationLines(summary: RevokeSummary): string[] {
  const lines: string[] = [];
  if (summary.revoked.length > 0)
    lines.push(`:no_entry: Revoked ${summary.revoked.length}: ${ids(summary.revoked)}.`);
  if (summary.denied.length > 0) lines.push(`:x: Denied before it was granted: ${ids(summary.denied)}.`);
  if (summary.retrying.length > 0) {
    lines.push(
      `:hourglass: The target did not answer for ${ids(summary.retrying)}: retrying until it does; ` +
        'this channel and the security channel will hear about it.',
    );
  }
  for (const { why } of summary.unchanged.slice(0, 5)) lines.push(`:information_source: ${escapeText(why)}`);
  return lines;
}

export function revokeMessage(subject: string, summary: RevokeSummary): Message {
  const lines = revocationLines(summary);
  if (lines.length === 0)
    return plain(`:information_source: ${subject} holds no active grant; nothing to revoke.`);
  return plain(lines.join('\n'));
}

export function freezeMessage(input: {
  scope: { scope: string; target: string };
  reason: string;
  created: boolean;
  denied: readonly string[];
  revocation: RevokeSummary;
}): Message {
  const head = input.created
    ? `:ice_cube: Froze ${scopeText(input.scope)}: new requests are denied until \`/jit unfreeze\`.`
    : `:ice_cube: ${scopeText(input.scope)} was already frozen; its grants were checked again.`;
  const lines = [head, `>${escapeText(input.reason)}`];
  if (input.denied.length > 0) lines.push(`:x: Denied pending: ${ids(input.denied)}.`);
  const revoked = revocationLines({ ...input.revocation, unchanged: [] });
  lines.push(...(revoked.length > 0 ? revoked : ['No active grant was in scope.']));
  return plain(lines.join('\n'));
}

export function unfreezeMessage(scope: { scope: string; target: string }): Message {
  return plain(`:sunny: Lifted the freeze on ${scopeText(scope)}. Requests are allowed again.`);
}
