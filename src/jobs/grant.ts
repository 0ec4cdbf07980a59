import type { Job } from 'bullmq';
import type { Deps } from '../app/deps.js';
import { failGrant, grantAccess } from '../app/grant.js';
import type { GrantJob } from './queues.js';
import { isLastAttempt, startWorker, type WorkerSettings } from './workers.js';

/** Grants approved requests; after the last failed attempt the request ends in `grant_failed`. */
export function startGrantWorker(deps: Deps, settings: WorkerSettings) {
  return startWorker<GrantJob>('grant', settings, async (job: Job<GrantJob>) => {
    try {
      return await grantAccess(deps, job.data.requestId);
    } catch (error) {
      if (!isLastAttempt(job)) throw error;
      await failGrant(
        deps,
        job.data.requestId,
        `could not grant after ${job.attemptsMade + 1} attempts: ${(error as Error).message}`,
      );
      return 'failed';
    }
  });
}
