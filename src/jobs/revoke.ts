import type { Job } from 'bullmq';
import { cleanupGrant } from '../app/cleanup.js';
import type { Deps } from '../app/deps.js';
import { endGrant } from '../app/end-grant.js';
import { Conflict, NotFound } from '../app/errors.js';
import { appendAuditEvent } from '../audit/chain.js';
import { createExpiryBatcher } from './expiry-batches.js';
import type { RevokeJob } from './queues.js';
import { startWorker, type WorkerSettings } from './workers.js';

/**
 * Expiry jobs wait in the batcher while the batch before them runs, so the worker holds many at
 * once: with the default 20, a burst of expiries would be ended 20 at a time, each batch behind
 * the last. Jobs of one grant are cheap to hold; the providers' pools bound the calls to targets.
 */
const REVOKE_CONCURRENCY = 200;

/**
 * Ends grants: expiry (delayed jobs at `expiresAt`) and releases/revokes the provider could not
 * do at once. Never gives up; while the target keeps failing, the security channel is told.
 */
export function startRevokeWorker(deps: Deps, settings: WorkerSettings) {
  const expire = createExpiryBatcher(deps);
  const concurrency = settings.concurrency ?? REVOKE_CONCURRENCY;
  const run = async (job: Job<RevokeJob>) => {
    const { requestId, event, actorId, reason } = job.data;
    try {
      // A retry goes on its own: a target that failed once must not hold up a batch of others.
      if (event === 'cleanup') return await cleanupGrant(deps, requestId);
      if (event === 'expire' && job.attemptsMade === 0) return await expire(requestId);
      const result = await endGrant(deps, { requestId, event, actorId, reason });
      if (result.outcome === 'not-due' && result.request.expiresAt) {
        await deps.jobs.expireAt(requestId, result.request.expiresAt);
      }
      return result.outcome;
    } catch (error) {
      // Already ended (released, revoked) or gone: nothing left to take back.
      if (error instanceof Conflict || error instanceof NotFound) return 'nothing-to-do';
      if (shouldAlert(job.attemptsMade + 1)) await recordRevokeFailing(deps, job, error as Error);
      throw error;
    }
  };
  const gate = settings.revocationsFirst;
  return startWorker<RevokeJob>('revoke', { ...settings, concurrency }, (job: Job<RevokeJob>) =>
    gate ? gate.urgent(() => run(job)) : run(job),
  );
}

/** Alert on the 3rd failed attempt, then at growing intervals so the channel is not flooded. */
function shouldAlert(attempt: number): boolean {
  return attempt === 3 || attempt === 10 || attempt === 30 || attempt % 100 === 0;
}

/** The alert is an audit event, so it reaches the security channel through the audit poster. */
async function recordRevokeFailing(deps: Deps, job: Job<RevokeJob>, error: Error): Promise<void> {
  const { requestId, event } = job.data;
  const auditId = await deps.db.$transaction((tx) =>
    appendAuditEvent(
      tx,
      {
        requestId,
        actor: 'system',
        action: 'revoke.retrying',
        details: { event, attempt: job.attemptsMade + 1, error: error.message },
      },
      deps.clock.now(),
    ),
  );
  deps.logger.error(
    { requestId, err: error, attempt: job.attemptsMade + 1 },
    'revocation keeps failing; retrying',
  );
  await deps.jobs.postAudit([auditId], { urgent: true }).catch(() => undefined);
}
