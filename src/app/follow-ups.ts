import type { RequestState } from '../domain/lifecycle.js';
import type { NotificationKind } from './deps.js';

/**
 * The messages that follow a change of a request, decided here for every use case (one
 * follow-up job carries them all, see `JobQueue.notify`):
 * - every change brings the messages already posted up to date, the security card first among
 *   them (posted if the request has none yet): that is how the security channel learns of it;
 * - approvers are asked when a level starts waiting for them (a new request, the next level);
 * - the requester gets a DM about the outcome, unless the answer to their own action already
 *   told them (a request decided by the policy at once, their own withdrawal), or it is not an
 *   outcome yet (approved and being granted: the grant's DM follows).
 */
export function followUps(
  state: RequestState,
  change: { approversWaiting?: boolean; requesterAnswered?: boolean } = {},
): NotificationKind[] {
  if (state === 'pending') return change.approversWaiting ? ['ask-approvers', 'refresh'] : ['refresh'];
  if (change.requesterAnswered || state === 'approved') return ['refresh'];
  return ['refresh', 'tell-requester'];
}

/**
 * How long the follow-up of an approval waits when its grant job was queued with it: the grant
 * usually lands first, and its own follow-up then shows both steps in one update of each message
 * (the approver had their answer at once). A grant that is slow or failing leaves this one to
 * show the approval.
 */
export const approvedFollowUpDelayMs = 2_000;

/**
 * Whether the follow-up of the request's approval is still to come (it waits
 * `approvedFollowUpDelayMs` after the decision): then that follow-up brings the request's messages
 * up to date, and a message posted meanwhile needs no update of its own. Half a second is left
 * for the clocks of two replicas.
 */
export function approvalFollowUpToCome(
  request: { state: RequestState | string; decidedAt: Date | null },
  now: Date,
): boolean {
  if (request.state !== 'approved' || request.decidedAt === null) return false;
  return now.getTime() - request.decidedAt.getTime() < approvedFollowUpDelayMs - 500;
}
