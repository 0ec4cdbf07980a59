import { checkDenier, checkReason } from '../domain/policy.js';
import type { AccessRequest } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { approvalLevelsFor, resourcePolicy } from './approvers.js';
import type { Deps } from './deps.js';
import { checked, NotAllowed, NotFound, sentence } from './errors.js';
import { applyTransition, lockRequest } from './transition.js';

/** An approver of any level denies a pending request, with a reason the requester is shown. */
export async function denyRequest(
  deps: Deps,
  input: { requestId: string; approverId: string; reason: string },
): Promise<AccessRequest> {
  const reason = checked(checkReason(input.reason));
  const found = await deps.db.accessRequest.findUnique({ where: { id: input.requestId } });
  if (!found) throw new NotFound(`No request ${input.requestId}.`);
  const levels = await approvalLevelsFor(deps, resourcePolicy(deps, found.resource));
  const allowed = checkDenier(levels, input.approverId, found.requesterId);
  if (!allowed.ok) throw new NotAllowed(sentence(allowed.reason));

  const { request, auditId } = await deps.db.$transaction(async (tx) => {
    const current = await lockRequest(tx, input.requestId);
    return applyTransition(deps, tx, current, {
      event: 'deny',
      actor: input.approverId,
      data: { decidedAt: deps.clock.now(), decidedBy: input.approverId, endReason: reason },
      details: { reason },
    });
  });
  await afterCommit(deps, request.id, [
    () => deps.jobs.postAudit([auditId]),
    () => deps.jobs.notify(request, 'refresh'),
    () => deps.jobs.notify(request, 'tell-requester'),
  ]);
  return request;
}
