import type { Redis } from 'ioredis';
import type { Deps } from '../app/deps.js';
import { type IdleWatch, idleLimits, recallIdleGrants } from '../app/idle-recall.js';
import { jobOptions, type Queues, type RecallJob } from './queues.js';
import { startWorker, type WorkerSettings } from './workers.js';

/**
 * The idle check runs as a BullMQ job scheduler: one round per interval across all replicas,
 * whichever worker picks it up. Redis may lose the scheduler, so the reconcile sweep upserts it
 * on every run (an upsert with unchanged settings keeps the next run's time).
 */

export const idleRecallSchedulerId = 'idle-recall';

/**
 * A gap between two looks at a grant longer than this many intervals means nobody was watching
 * (checker or target down), so the grant's idle time starts again from the next look.
 */
const WATCH_GAP_INTERVALS = 3;

/** Creates the scheduler when some resource has `recallAfterIdle`, and removes it otherwise. */
export async function scheduleIdleRecall(deps: Pick<Deps, 'policy'>, queues: Queues): Promise<boolean> {
  if (idleLimits(deps.policy).size === 0) {
    await queues.recall.removeJobScheduler(idleRecallSchedulerId);
    return false;
  }
  await queues.recall.upsertJobScheduler(
    idleRecallSchedulerId,
    { every: queues.idleCheckIntervalMs },
    { name: 'check', data: {}, opts: jobOptions.recall },
  );
  return true;
}

export function startIdleRecallWorker(
  deps: Deps,
  settings: WorkerSettings,
  redis: Redis,
  intervalMs: number,
) {
  const watch = redisIdleWatch(redis, settings.prefix, WATCH_GAP_INTERVALS * intervalMs);
  // One round at a time per process: rounds that overlap would only repeat each other's work.
  return startWorker<RecallJob>('recall', { ...settings, concurrency: 1 }, () =>
    recallIdleGrants(deps, watch),
  );
}

/**
 * Per grant, since when and when last it was looked at, shared by every replica. Redis losing the
 * keys only restarts the watch, which delays a recall and never causes one. Keys expire after the
 * allowed gap, so ended grants leave nothing behind.
 */
export function redisIdleWatch(redis: Redis, prefix: string, maxGapMs: number): IdleWatch {
  return {
    async watched(requestId, now) {
      const key = `${prefix}:idle-watch:${requestId}`;
      const [since = null, last = null] = (await redis.hmget(key, 'since', 'last')).map(toMillis);
      const at = now.getTime();
      const unbroken = since !== null && last !== null && at - last <= maxGapMs;
      // A clock that went back keeps the later start: the watch may only err towards not idle.
      const start = unbroken ? since : at;
      await redis
        .multi()
        .hset(key, { since: start, last: unbroken ? Math.max(last, at) : at })
        .pexpire(key, maxGapMs)
        .exec();
      return new Date(start);
    },
  };
}

function toMillis(value: string | null): number | null {
  const millis = value === null ? Number.NaN : Number(value);
  return Number.isSafeInteger(millis) ? millis : null;
}
