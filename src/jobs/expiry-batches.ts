import type { Deps } from '../app/deps.js';
import { expireMany } from '../app/end-grant.js';

export type ExpiryOutcome = 'ended' | 'not-due' | 'nothing-to-do';

/** The worker's concurrency bounds a batch anyway; this bounds one transaction. */
const MAX_BATCH = 200;

interface Waiting {
  requestId: string;
  resolve: (outcome: ExpiryOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces the expiry jobs running at the same moment into one `expireMany`. Many grants falling
 * due together (a team granted at once, a burst of short grants) then cost a share of one REVOKE
 * per role and one transaction each, instead of queueing one by one behind the audit chain's
 * lock. The first job starts a batch at once and jobs arriving meanwhile form the next, so a
 * lone expiry waits for nothing. Each job still ends on its own: a grant the target did not take
 * back rejects its own job, which retries and alerts as before; one extended meanwhile is
 * rescheduled.
 */
export function createExpiryBatcher(deps: Deps): (requestId: string) => Promise<ExpiryOutcome> {
  const waiting: Waiting[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    draining = true;
    try {
      while (waiting.length > 0) await settle(waiting.splice(0, MAX_BATCH));
    } finally {
      draining = false;
    }
  }

  async function settle(batch: Waiting[]): Promise<void> {
    const outcomes = new Map<string, { outcome: ExpiryOutcome } | { error: unknown }>();
    try {
      const requestIds = batch.map((job) => job.requestId);
      const result = await expireMany(deps, requestIds);
      for (const request of result.ended) outcomes.set(request.id, { outcome: 'ended' });
      for (const { id } of result.unchanged) outcomes.set(id, { outcome: 'nothing-to-do' });
      for (const { id, error } of result.failed) outcomes.set(id, { error });
      await Promise.all(
        result.notDue.map(async (request) => {
          try {
            if (request.expiresAt) await deps.jobs.expireAt(request.id, request.expiresAt);
            outcomes.set(request.id, { outcome: 'not-due' });
          } catch (error) {
            outcomes.set(request.id, { error });
          }
        }),
      );
    } catch (error) {
      for (const job of batch) job.reject(error);
      return;
    }
    for (const job of batch) {
      const settled = outcomes.get(job.requestId) ?? { error: new Error(`${job.requestId}: no outcome`) };
      if ('outcome' in settled) job.resolve(settled.outcome);
      else job.reject(settled.error);
    }
  }

  return (requestId) =>
    new Promise<ExpiryOutcome>((resolve, reject) => {
      waiting.push({ requestId, resolve, reject });
      if (!draining) void drain();
    });
}
