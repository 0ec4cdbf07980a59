import { type Processor, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type QueueKind, queueNames } from './queues.js';
import type { RevocationsFirst } from './revocations-first.js';

export interface WorkerSettings {
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** Jobs handled at once per worker; revocations of different grants run in parallel. */
  concurrency?: number;
  /** First retry delay for revocations; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /**
   * How long a job stays claimed by a process that stopped renewing the claim (it died), and how
   * often workers look for such jobs to run again; BullMQ's 30 s each by default. Together they
   * bound how late a job held by a killed process runs.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Shared by the process's workers: follow-up jobs wait while revocations run. */
  revocationsFirst?: RevocationsFirst;
  /** BullMQ's rate limiter for the queue (see the audit poster). */
  limiter?: WorkerOptions['limiter'];
}

/** A BullMQ worker with our defaults: capped exponential backoff and logged failures. */
export function startWorker<T>(
  kind: QueueKind,
  settings: WorkerSettings,
  processor: Processor<T>,
): Worker<T> {
  const base = settings.retryDelayMs ?? 1_000;
  const cap = settings.maxRetryDelayMs ?? 60_000;
  const options: WorkerOptions = {
    connection: settings.connection,
    prefix: settings.prefix,
    concurrency: settings.concurrency ?? 20,
    ...(settings.lockDurationMs ? { lockDuration: settings.lockDurationMs } : {}),
    ...(settings.stalledIntervalMs ? { stalledInterval: settings.stalledIntervalMs } : {}),
    ...(settings.limiter ? { limiter: settings.limiter } : {}),
    settings: {
      backoffStrategy: (attemptsMade: number) => Math.min(cap, base * 2 ** Math.max(0, attemptsMade - 1)),
    },
  };
  const worker = new Worker<T>(queueNames[kind], processor, options);
  const log = settings.logger.child({ queue: kind });
  worker.on('failed', (job, err) => {
    log.warn({ err, jobId: job?.id, attemptsMade: job?.attemptsMade }, 'job attempt failed');
  });
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  return worker;
}

/** True when this attempt is the job's last one (BullMQ counts `attemptsMade` before it). */
export function isLastAttempt(job: { attemptsMade: number; opts: { attempts?: number } }): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}
