import { checkDenier, checkReason } from '../domain/policy.js';
import type { AccessRequest } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { approvalLevelsFor, resourcePolicy } from './approvers.js';
import type { Deps } from './deps.js';
import { checked, NotAllowed, NotFound, sentence } from './errors.js';
import { followUps } from './follow-ups.js';
import { applyTransition, lockRequest } from './transition.js';

/** An approver of any level denies a pending request, with a reason the requester is shown. */
export async function denyRequest(
  deps: Deps,
  input: { requestId: string; approverId: string; reason: string },
): Promise<AccessRequest> {
  const reason = checked(checkReason(input.reason));
  const found = await deps.db.accessRequest.findUnique({ where: { id: input.requestId } });
  if (!found) throw new NotFound(`No request ${input.requestId}.`);
  const levels = await approvalLevelsFor(deps, resourcePolicy(deps, found.resource), found.escalatedLevels);
  const allowed = checkDenier(levels, input.approverId, found.requesterId);
  if (!allowed.ok) throw new NotAllowed(sentence(allowed.reason));

  return recordDenial(deps, input.requestId, { actorId: input.approverId, reason });
}

export interface Denial {
  /** A Slack user id, or a system actor for automatic decisions. */
  actorId: string;
  reason: string;
  /** The rule that decided it when no person did (`freeze`, `optOut.guests`, …). */
  rule?: string;
}

/** Moves a pending request to `denied`, tells the requester why, and refreshes its messages. */
export async function recordDenial(deps: Deps, requestId: string, denial: Denial): Promise<AccessRequest> {
  const { request, auditId } = await deps.db.$transaction(async (tx) => {
    const current = await lockRequest(tx, requestId);
    return applyTransition(deps, tx, current, {
      event: 'deny',
      actor: denial.actorId,
      data: {
        decidedAt: deps.clock.now(),
        decidedBy: denial.actorId,
        endReason: denial.reason,
        ...(denial.rule ? { decisionRule: denial.rule } : {}),
      },
      details: { reason: denial.reason, ...(denial.rule ? { rule: denial.rule } : {}) },
    });
  });
  await afterCommit(deps, request.id, [() => deps.jobs.notify(request, followUps(request.state), [auditId])]);
  return request;
}
