import { QueueEvents } from 'bullmq';
import { Pool } from 'pg';
import { approveRequest } from '../src/app/approve.js';
import { releaseRequest } from '../src/app/end-grant.js';
import { requestAccess } from '../src/app/request-access.js';
import type { RunningBot } from '../src/bot.js';
import { jobIds, queueNames } from '../src/jobs/queues.js';
import { type BenchWorld, createWorld, people, requesterId, resourceName } from './bot.js';
import { startCpuProfile } from './cpu-profile.js';
import { countMemberships, granterUrl } from './services.js';
import { countSql } from './sql-count.js';
import { type BenchResult, envInt, percentile, since } from './stats.js';

/**
 * Full lifecycles per second: request → approve → grant → release, many at once, through the
 * use cases the Slack handlers call (`requestAccess`, `approveRequest`, `releaseRequest`) and the
 * real grant job, with every worker of the bot running (approver DMs, grant cards, audit posts to
 * the fake Slack). Slack's HTTP front is left out: slack-ack measures it.
 *
 * Baseline: the same durable work done by hand, 50 at a time over the bot's pool sizes: per
 * lifecycle one GRANT and one REVOKE on the target and four one-row committed writes (one per
 * state change) in the bot's database.
 */
export async function lifecyclesBench(): Promise<BenchResult> {
  const total = envInt('BENCH_LIFECYCLES_N', 2_000);
  const concurrency = envInt('BENCH_LIFECYCLES_CONCURRENCY', 50);
  const world = await createWorld({ roles: 1, logins: concurrency });
  try {
    const bot = await world.startBot();
    const events = new QueueEvents(queueNames.grant, {
      connection: { url: world.env.REDIS_URL },
      prefix: world.queuePrefix,
    });
    events.setMaxListeners(0);
    // Each waiting lifecycle listens for the queue closing while it waits for its grant job.
    bot.queues.grant.setMaxListeners(0);
    await events.waitUntilReady();
    try {
      const run = (n: number, steps?: StepTimes) => runLifecycles(bot, events, n, concurrency, steps);
      await run(Math.min(200, total));
      await drained(bot);
      const callsBefore = await world.slack.calls();
      const jobsBefore = await finishedJobs(bot);
      const sqlTop = envInt('BENCH_SQL_TOP', 0);
      const sql = countSql(sqlTop > 0);
      const stopProfile = await startCpuProfile();
      const steps: StepTimes = { request: [], approve: [], grant: [], release: [] };
      const started = performance.now();
      await run(total, steps);
      const toRelease = since(started);
      await stopProfile();
      await drained(bot);
      const withFollowUps = since(started);
      const statements = sql.count(new URL(world.db.url).pathname.slice(1));
      const frequent = sql.top(sqlTop);
      sql.stop();
      const jobs = (await finishedJobs(bot)) - jobsBefore;

      const floor = await floorRun(world, total, concurrency);
      const released = await world.db.prisma.accessRequest.count({ where: { state: 'released' } });
      const left = await countMemberships(world.roles.roles, world.roles.logins);
      const calls = difference(await world.slack.calls(), callsBefore);
      const slackCalls = Object.values(calls).reduce((sum, n) => sum + n, 0);
      const perSecond = (total / toRelease) * 1000;
      return {
        name: 'lifecycles',
        baseline: 'per lifecycle GRANT + REVOKE on the target and 4 one-row commits, same concurrency',
        rows: [
          {
            metric: 'lifecycles/s (to release)',
            ours: perSecond,
            baseline: (total / floor) * 1000,
            unit: '/s',
            higherIsBetter: true,
            goal: '≥ 200/s',
            met: perSecond >= 200,
          },
          {
            metric: 'lifecycles/s (follow-ups drained)',
            ours: (total / withFollowUps) * 1000,
            baseline: (total / floor) * 1000,
            unit: '/s',
            higherIsBetter: true,
            goal: '≥ 100/s',
            met: (total / withFollowUps) * 1000 >= 100,
          },
          {
            metric: 'Slack Web API calls per lifecycle',
            ours: slackCalls / total,
            baseline: 3,
            unit: '',
            goal: '≤ 5',
            met: slackCalls / total <= 5,
          },
          {
            metric: 'SQL statements per lifecycle (bot database)',
            ours: statements / total,
            baseline: 4,
            unit: '',
            goal: '≤ 20',
            met: statements / total <= 20,
          },
          {
            metric: 'BullMQ jobs per lifecycle (finished)',
            ours: jobs / total,
            baseline: 1,
            unit: '',
          },
        ],
        notes: [
          `${total} lifecycles, ${concurrency} at a time (one requester each), after ${Math.min(200, total)} to warm up`,
          `released: ${released} of ${total + Math.min(200, total)}; memberships left on PostgreSQL: ${left}`,
          `"follow-ups drained": until no grant, revoke, notify or audit job is waiting or running`,
          "per-lifecycle baselines: 3 Slack posts (approver DM, requester grant DM, security card), the floor run's 4 one-row autocommit INSERTs, 1 job (the grant)",
          `time per step, p50 / p90 (ms): ${Object.entries(steps)
            .map(
              ([step, times]) =>
                `${step} ${percentile(times, 50).toFixed(0)} / ${percentile(times, 90).toFixed(0)}`,
            )
            .join(', ')} (grant: from the approval until its job finished)`,
          ...frequent.map(([text, n]) => `SQL ${(n / total).toFixed(2)}×/lifecycle: ${text}`),
          `Slack calls in the measured run: ${Object.entries(calls)
            .map(([method, n]) => `${method} ${n}`)
            .join(', ')}`,
        ],
      };
    } finally {
      await events.close();
    }
  } finally {
    await world.close();
  }
}

/** How long each step of the measured lifecycles took, in ms. */
type StepTimes = Record<'request' | 'approve' | 'grant' | 'release', number[]>;

async function runLifecycles(
  bot: RunningBot,
  events: QueueEvents,
  total: number,
  concurrency: number,
  steps?: StepTimes,
): Promise<void> {
  const { deps, queues } = bot;
  const lane = async (laneIndex: number) => {
    const requester = requesterId(laneIndex);
    for (let i = laneIndex; i < total; i += concurrency) {
      const t0 = performance.now();
      const request = await requestAccess(deps, {
        requesterId: requester,
        resource: resourceName(0),
        duration: '1h',
        reason: `benchmark lifecycle ${i}`,
      });
      const t1 = performance.now();
      const approval = await approveRequest(deps, request.id, people.approver);
      const t2 = performance.now();
      if (approval.outcome !== 'approved') throw new Error(`${request.id} was not approved`);
      const job = await queues.grant.getJob(jobIds.grant(request.id));
      if (!job) throw new Error(`no grant job for ${request.id}`);
      const outcome = await job.waitUntilFinished(events, 60_000);
      if (outcome !== 'granted') throw new Error(`${request.id}: grant job said ${outcome}`);
      const t3 = performance.now();
      const released = await releaseRequest(deps, request.id, requester);
      if (released.state !== 'released') throw new Error(`${request.id} is ${released.state}`);
      steps?.request.push(t1 - t0);
      steps?.approve.push(t2 - t1);
      steps?.grant.push(t3 - t2);
      steps?.release.push(performance.now() - t3);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, (_, i) => lane(i)));
}

/** Jobs completed or failed so far, over the queues a lifecycle uses. */
async function finishedJobs(bot: RunningBot): Promise<number> {
  const { grant, revoke, notify, audit, approval } = bot.queues;
  const counts = await Promise.all(
    [grant, revoke, notify, audit, approval].map((queue) => queue.getJobCounts('completed', 'failed')),
  );
  return counts.reduce((sum, c) => sum + (c.completed ?? 0) + (c.failed ?? 0), 0);
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([method, n]) => [method, n - (before[method] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

/** Until the follow-up work of the lifecycles so far is done. */
async function drained(bot: RunningBot): Promise<void> {
  const { grant, revoke, notify, audit } = bot.queues;
  for (;;) {
    const counts = await Promise.all(
      [grant, revoke, notify, audit].map((queue) => queue.getJobCounts('waiting', 'active', 'prioritized')),
    );
    if (counts.every((c) => (c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) === 0)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The baseline run; returns its duration in ms. */
async function floorRun(world: BenchWorld, total: number, concurrency: number): Promise<number> {
  const target = new Pool({ connectionString: granterUrl, max: 2 });
  const own = new Pool({ connectionString: world.db.url, max: 10 });
  await own.query('CREATE TABLE bench_floor (id serial PRIMARY KEY, lifecycle int, step text)');
  const role = world.roles.roles[0] as string;
  try {
    const started = performance.now();
    const lane = async (laneIndex: number) => {
      const login = world.roles.logins[laneIndex] as string;
      for (let i = laneIndex; i < total; i += concurrency) {
        for (const step of ['created', 'approved']) {
          await own.query('INSERT INTO bench_floor (lifecycle, step) VALUES ($1, $2)', [i, step]);
        }
        await target.query(`GRANT "${role}" TO "${login}"`);
        await own.query('INSERT INTO bench_floor (lifecycle, step) VALUES ($1, $2)', [i, 'active']);
        await target.query(`REVOKE "${role}" FROM "${login}"`);
        await own.query('INSERT INTO bench_floor (lifecycle, step) VALUES ($1, $2)', [i, 'released']);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, (_, i) => lane(i)));
    return since(started);
  } finally {
    await target.end();
    await own.end();
  }
}
