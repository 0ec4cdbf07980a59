import { appendAuditEvent } from '../audit/chain.js';
import { isFinal } from '../domain/lifecycle.js';
import { afterCommit } from './after-commit.js';
import type { Deps } from './deps.js';
import { grantTargetFor } from './grant-target.js';

export type CleanupOutcome = 'cleaned' | 'nothing-to-do';

/**
 * The cleanup revoke owed by a request that ended while a grant attempt may have landed on the
 * target (a grant that raced a revoke or a freeze, one that failed half-way). Runs in the revoke
 * queue like an expiry: a failure is thrown, retried without end and alerted by the worker; the
 * `cleanupNeeded` flag is cleared only once the target has answered, in the same transaction as
 * the audit event.
 */
export async function cleanupGrant(deps: Deps, requestId: string): Promise<CleanupOutcome> {
  const request = await deps.db.accessRequest.findUnique({ where: { id: requestId } });
  // Still approved or active: the grant and its end are someone else's to finish.
  if (!request?.cleanupNeeded || !isFinal(request.state)) return 'nothing-to-do';
  const { provider, target } = grantTargetFor(deps, request, deps.clock.now());
  try {
    await provider.revoke(target);
  } catch (error) {
    deps.metrics.revokeFailed(request.resource);
    throw error;
  }
  const auditId = await deps.db.$transaction(async (tx) => {
    const { count } = await tx.accessRequest.updateMany({
      where: { id: requestId, cleanupNeeded: true },
      data: { cleanupNeeded: false },
    });
    if (count === 0) return null;
    return appendAuditEvent(
      tx,
      {
        requestId,
        actor: 'system',
        action: 'grant.cleaned_up',
        fromState: request.state,
        toState: request.state,
        details: {
          identity: request.identity,
          why: 'a grant attempt may have reached the target after the request ended',
        },
      },
      deps.clock.now(),
    );
  });
  deps.logger.info({ requestId, state: request.state }, 'cleanup revoke done');
  if (auditId !== null) await afterCommit(deps, requestId, [() => deps.jobs.postAudit([auditId])]);
  return 'cleaned';
}
