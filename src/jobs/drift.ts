import type { Deps } from '../app/deps.js';
import { detectDrift } from '../app/drift.js';
import { type DriftJob, jobIds, jobOptions, type Queues } from './queues.js';
import { startWorker, type WorkerSettings } from './workers.js';

/**
 * Drift detection runs as a BullMQ job scheduler: one round per interval across all replicas.
 * Redis may lose the scheduler, so the reconcile sweep upserts it on every run (an upsert with
 * unchanged settings keeps the next run's time).
 */

export const driftSchedulerId = 'drift-check';

export async function scheduleDriftCheck(queues: Queues): Promise<void> {
  await queues.drift.upsertJobScheduler(
    driftSchedulerId,
    { every: queues.driftCheckIntervalMs },
    { name: 'check', data: {}, opts: jobOptions.drift },
  );
}

export function startDriftWorker(deps: Deps, settings: WorkerSettings, queues: Queues) {
  // One round at a time per process: overlapping rounds would fix the same grant twice.
  return startWorker<DriftJob>('drift', { ...settings, concurrency: 1 }, () =>
    detectDrift(deps, { ending: (requestId) => revokeQueued(queues, requestId) }),
  );
}

/** States of a job that has not finished: it will still run (again). */
const UNFINISHED = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** A release or revoke of the grant is waiting in the revoke queue (its target refused so far). */
async function revokeQueued(queues: Queues, requestId: string): Promise<boolean> {
  for (const event of ['revoke', 'release'] as const) {
    const job = await queues.revoke.getJob(jobIds.revoke(requestId, event));
    if (job && UNFINISHED.has(await job.getState())) return true;
  }
  return false;
}
