import { auditActionFor, requestStates } from '../domain/lifecycle.js';

/**
 * Audit events the security channel must see ahead of routine posts: access that is not coming
 * back on its own (a revoke that keeps failing, access found after its end), a freeze being put
 * on or lifted, the summary of a bulk revoke, grants left outside the policy file, and
 * break-glass (used, flagged by its reviewer, or left unreviewed past its deadline), and an
 * approver's sign-in that did not count (someone else's account, stale, too weak). Where they are written they are posted
 * with `urgent`; the sweep, re-posting what Redis lost, asks this list.
 */
export const urgentAuditActions: ReadonlySet<string> = new Set([
  'revoke.retrying',
  'revoke.bulk',
  'drift.revoked',
  'drift.revoke_failed',
  'freeze.created',
  'freeze.lifted',
  'policy.grants_outside_policy',
  'break_glass.used',
  'break_glass.flagged',
  'break_glass.review_overdue',
  'approval.reauth_failed',
]);

/**
 * Steps of a request that its security card shows (who asked, who approved at which level, the
 * grant and its end, with reasons): they are "posted" by bringing the card up to date, not as
 * messages of their own. The audit table keeps every one; the card's thread carries the rest of
 * a request's events (extensions, reminders, refusals, cleanups, and revocations, whose thread
 * post names who took the access away), which the card does not show. Routine steps are left out
 * of the thread because the card already says them in words, and a lifecycle then costs the
 * channel one message instead of five to seven.
 */
export function shownByCard(action: string): boolean {
  return cardActionSet.has(action);
}

export const cardActions: readonly string[] = [
  'request.created',
  'request.approval_recorded',
  ...requestStates.filter((state) => state !== 'pending' && state !== 'revoked').map(auditActionFor),
];
const cardActionSet: ReadonlySet<string> = new Set(cardActions);
