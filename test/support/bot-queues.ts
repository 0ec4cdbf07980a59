import type { Queue } from 'bullmq';
import { expect } from 'vitest';
import type { RunningBot } from '../../src/bot.js';

/** Driving and inspecting a running bot's BullMQ queues from a test. */

/**
 * One round of a periodic check (idle recall, drift) queued under `jobId` and run by the bot's own
 * worker; resolves with the round's report, and fails the test if the round failed.
 */
export async function runCheckRound<Report>(queue: Queue, jobId: string): Promise<Report> {
  const job = await queue.add('check', {}, { jobId });
  await expect.poll(() => job.getState(), { timeout: 15_000 }).toMatch(/^(completed|failed)$/);
  const done = await queue.getJob(job.id as string);
  expect(done?.failedReason).toBeUndefined();
  return done?.returnvalue as Report;
}

/** Deletes the bot's BullMQ keys (all its queues share one prefix), as if Redis had lost its data. */
export async function loseQueueData(bot: RunningBot): Promise<number> {
  const prefix = bot.queues.revoke.opts.prefix as string;
  const keys = await bot.redis.keys(`${prefix}:*`);
  if (keys.length > 0) await bot.redis.del(...keys);
  return keys.length;
}

/** The kinds of notification jobs enqueued for a request. */
export async function queuedNotificationKinds(bot: RunningBot, requestId: string): Promise<string[]> {
  const jobs = await bot.queues.notify.getJobs();
  return jobs.filter((j) => j.data.requestId === requestId).flatMap((j) => j.data.kinds);
}
