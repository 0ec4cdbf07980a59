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
