import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pLimit from 'p-limit';
import { jobIds, queueNames } from '../src/jobs/queues.js';
import { type BenchWorld, createWorld } from './bot.js';
import { seedActiveGrants } from './grants.js';
import { describeWindow, pct, watchPostgres } from './pg-watch.js';
import { countMemberships, dropRedisPrefix, redisUrl, uniqueName } from './services.js';
import { type BenchResult, envInt, percentile, ratio } from './stats.js';

/** Resources (roles); logins = grants / resources, so each (login, role) pair is granted once. */
const ROLES = 10;

/**
 * Expiry lateness: N active grants (real memberships on PostgreSQL) due spread over one minute,
 * each with its expiry job added the way the grant job adds it. The bot runs whole (every worker
 * and the reconcile sweep). Lateness = `endedAt` (written in the transaction that records the
 * end, after the REVOKE) − `expiresAt`.
 *
 * Baseline: raw BullMQ delayed jobs with the same due times and a processor that does nothing
 * (concurrency 20, BullMQ's usual; a no-op needs no more); lateness = when the processor ran −
 * due time.
 */
export async function expiryBench(): Promise<BenchResult> {
  const runs = envInt('BENCH_EXPIRY_RUNS', 5);
  const results: RunResult[] = [];
  for (let run = 1; run <= runs; run++) results.push(await expiryRun());
  const meets = (r: RunResult) => r.p99 < 250 && ratio(r.p99, r.base99) <= 1.5;
  return {
    name: 'expiry',
    baseline: 'raw BullMQ delayed jobs, same due times, no-op processor, measured in each run',
    rows: results.flatMap((r, i) => {
      const run = runs > 1 ? `run ${i + 1}: ` : '';
      return [
        { metric: `${run}lateness p50`, ours: r.p50, baseline: r.base50, unit: 'ms' },
        {
          metric: `${run}lateness p99`,
          ours: r.p99,
          baseline: r.base99,
          unit: 'ms',
          goal: '< 250 ms, ≤ 1.5×',
          met: meets(r),
        },
        { metric: `${run}lateness max`, ours: r.max, baseline: r.baseMax, unit: 'ms' },
      ];
    }),
    notes: [
      `${results.filter(meets).length} of ${runs} consecutive runs met the goal`,
      ...results.flatMap((r, i) => r.notes.map((note) => (runs > 1 ? `run ${i + 1}: ${note}` : note))),
    ],
  };
}

interface RunResult {
  p50: number;
  p99: number;
  max: number;
  base50: number;
  base99: number;
  baseMax: number;
  notes: string[];
}

async function expiryRun(): Promise<RunResult> {
  const total = envInt('BENCH_EXPIRY_N', 10_000);
  const windowMs = envInt('BENCH_EXPIRY_WINDOW_MS', 60_000);
  const leadMs = 10_000;

  const baseline = await rawBullmqLateness(total, windowMs, leadMs);

  const world = await createWorld({ roles: ROLES, logins: Math.ceil(total / ROLES) });
  try {
    const bot = await world.startBot();
    // When each expiry job became active (a worker took it), from the queue's event stream.
    const pickedUp = new Map<string, number>();
    const events = new QueueEvents(queueNames.revoke, {
      connection: { url: world.env.REDIS_URL },
      prefix: world.queuePrefix,
    });
    events.on('active', ({ jobId }, streamId) => {
      if (!pickedUp.has(jobId)) pickedUp.set(jobId, Number(streamId.split('-')[0]));
    });
    await events.waitUntilReady();
    const start = Date.now() + leadMs + 20_000;
    const grants = await seedActiveGrants(world, (i) => new Date(start + (i * windowMs) / total), total);
    const limit = pLimit(50);
    await Promise.all(grants.map((g) => limit(() => bot.deps.jobs.expireAt(g.id, g.expiresAt))));
    if (Date.now() > start) throw new Error('seeding took longer than the lead time; lower BENCH_EXPIRY_N');
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const watch = await watchPostgres(100);

    await waitUntil(
      async () => (await world.db.prisma.accessRequest.count({ where: { state: 'expired' } })) >= total,
      start + windowMs + 10 * 60_000,
    );
    loopDelay.disable();
    const pgReport = await watch.stop();
    await events.close();
    const followUps = await followUpsWaiting(world);
    const rows = await world.db.prisma.accessRequest.findMany({
      where: { state: 'expired' },
      select: { id: true, expiresAt: true, endedAt: true },
    });
    const split = latenessSplit(rows, pickedUp);
    const lateness = rows.map((r) => (r.endedAt as Date).getTime() - (r.expiresAt as Date).getTime());
    const bySlice = latenessBySlice(rows, start, windowMs);
    const left = await countMemberships(world.roles.roles, world.roles.logins);
    const worst = worstSecond(rows);
    return {
      p50: percentile(lateness, 50),
      p99: percentile(lateness, 99),
      max: Math.max(...lateness),
      base50: percentile(baseline, 50),
      base99: percentile(baseline, 99),
      baseMax: Math.max(...baseline),
      notes: [
        `${total} grants due within ${windowMs / 1000} s (${((total / windowMs) * 1000).toFixed(0)}/s), ${ROLES} roles × ${Math.ceil(total / ROLES)} logins`,
        `expired: ${rows.length} of ${total}; memberships left on PostgreSQL: ${left}`,
        `lateness p99 by tenth of the window (ms): ${bySlice.join(', ')}`,
        `lateness p99 split: due → a worker took the job ${split.fetch} ms, job taken → end recorded ${split.record} ms (jobs seen: ${split.seen} of ${rows.length})`,
        `the bot's event loop delay while expiring: p50 ${ms(loopDelay.percentile(50))}, p99 ${ms(loopDelay.percentile(99))}`,
        `follow-up jobs (DMs, card updates, audit posts) still waiting when the last grant had expired: ${followUps}`,
        `PostgreSQL while expiring, busy backends by wait: ${pgReport.overall
          .slice(0, 5)
          .map(([wait, share]) => `${wait} ${pct(share)}`)
          .join(
            ', ',
          )}; checkpoints: ${pgReport.checkpointsAt.length}; autovacuum seen in ${pgReport.samples.filter((x) => x.autovacuum.length > 0).length} of ${pgReport.samples.length} samples`,
        `worst second of due times (+${((worst.from - start) / 1000).toFixed(0)} s, p99 ${worst.p99} ms): ${describeWindow(pgReport, worst.from, worst.from + 1_000 + worst.p99)}`,
      ],
    };
  } finally {
    await world.close();
  }
}

/** The baseline: lateness of each raw delayed job, in ms. */
async function rawBullmqLateness(total: number, windowMs: number, leadMs: number): Promise<number[]> {
  const prefix = uniqueName('jitbenchraw');
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<{ due: number }>('raw-expiry', { connection, prefix });
  const lateness: number[] = [];
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker<{ due: number }>(
    'raw-expiry',
    async (job) => {
      lateness.push(Date.now() - job.data.due);
      if (lateness.length >= total) resolveDone();
    },
    { connection: workerConnection, prefix, concurrency: 20 },
  );
  try {
    const start = Date.now() + leadMs;
    const limit = pLimit(50);
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        limit(async () => {
          const due = start + (i * windowMs) / total;
          await queue.add('expire', { due }, { jobId: `expire-${i}`, delay: Math.max(0, due - Date.now()) });
        }),
      ),
    );
    await done;
    return lateness;
  } finally {
    await worker.close();
    await queue.close();
    connection.disconnect();
    workerConnection.disconnect();
    await dropRedisPrefix(prefix);
  }
}

/** p99 of the two parts of lateness: BullMQ handing the job over, and our revoke and record. */
function latenessSplit(
  rows: Array<{ id: string; expiresAt: Date | null; endedAt: Date | null }>,
  pickedUp: ReadonlyMap<string, number>,
): { fetch: number; record: number; seen: number } {
  const fetch: number[] = [];
  const record: number[] = [];
  for (const row of rows) {
    const due = (row.expiresAt as Date).getTime();
    const taken = pickedUp.get(jobIds.expire(row.id, row.expiresAt as Date));
    if (taken === undefined) continue;
    fetch.push(taken - due);
    record.push((row.endedAt as Date).getTime() - taken);
  }
  return { fetch: percentile(fetch, 99), record: percentile(record, 99), seen: fetch.length };
}

/** p99 lateness of the grants due in each tenth of the window: does the bot keep up? */
function latenessBySlice(
  rows: Array<{ expiresAt: Date | null; endedAt: Date | null }>,
  start: number,
  windowMs: number,
): number[] {
  const slices: number[][] = Array.from({ length: 10 }, () => []);
  for (const row of rows) {
    const due = (row.expiresAt as Date).getTime();
    const slice = Math.min(9, Math.floor(((due - start) / windowMs) * 10));
    slices[slice]?.push((row.endedAt as Date).getTime() - due);
  }
  return slices.map((samples) => percentile(samples, 99));
}

/** The second of due times whose grants were latest (p99), to look at what happened then. */
function worstSecond(rows: Array<{ expiresAt: Date | null; endedAt: Date | null }>): {
  from: number;
  p99: number;
} {
  const bySecond = new Map<number, number[]>();
  for (const row of rows) {
    const due = (row.expiresAt as Date).getTime();
    const second = Math.floor(due / 1000) * 1000;
    bySecond.set(second, [...(bySecond.get(second) ?? []), (row.endedAt as Date).getTime() - due]);
  }
  let worst = { from: 0, p99: -1 };
  for (const [from, samples] of bySecond) {
    const p99 = percentile(samples, 99);
    if (p99 > worst.p99) worst = { from, p99 };
  }
  return worst;
}

function ms(nanoseconds: number): string {
  return `${(nanoseconds / 1e6).toFixed(0)} ms`;
}

async function followUpsWaiting(world: BenchWorld): Promise<number> {
  const queues = world.bot?.queues;
  if (!queues) return 0;
  const counts = await Promise.all(
    [queues.notify, queues.audit].map((queue) => queue.getJobCounts('waiting', 'prioritized')),
  );
  return counts.reduce((sum, c) => sum + (c.waiting ?? 0) + (c.prioritized ?? 0), 0);
}

async function waitUntil(condition: () => Promise<boolean>, deadline: number): Promise<void> {
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the grants to expire');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
