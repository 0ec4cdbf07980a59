import { randomBytes } from 'node:crypto';
import type { App } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock, Deps } from './app/deps.js';
import { reportGrantsOutsidePolicy } from './app/policy-changes.js';
import type { Env } from './config/env.js';
import type { Policy } from './config/policy.js';
import { createPrismaClient } from './db/client.js';
import { approverReauthRoutes } from './http/approver-reauth.js';
import { credentialRoutes } from './http/credentials.js';
import { healthRoutes } from './http/health.js';
import { hookRoutes } from './http/hooks/routes.js';
import { metricsRoute } from './http/metrics.js';
import { startApprovalTimeoutWorker } from './jobs/approval-timeout.js';
import { startDriftWorker } from './jobs/drift.js';
import { startGrantWorker } from './jobs/grant.js';
import { startIdleRecallWorker } from './jobs/idle-recall.js';
import { createRedisLimits, defaultLimitSettings, type LimitSettings } from './jobs/limits.js';
import { startNotifyWorker } from './jobs/notify.js';
import { createQueues, jobQueueFor, type Queues } from './jobs/queues.js';
import { startReconcileLoop } from './jobs/reconcile.js';
import { createRevocationsFirst } from './jobs/revocations-first.js';
import { startRevokeWorker } from './jobs/revoke.js';
import type { WorkerSettings } from './jobs/workers.js';
import { createMetrics } from './metrics.js';
import { createApproverLogin } from './oidc/approver-login.js';
import { createOnCallSchedules } from './oncall/schedules.js';
import { createProviders } from './providers/registry.js';
import { registerActions } from './slack/actions.js';
import { createSlackApp, startSlackApp } from './slack/app.js';
import { startAuditPoster } from './slack/audit-poster.js';
import { registerCommands } from './slack/commands.js';
import { createSlackDirectory } from './slack/directory.js';
import { createExtensionNotices } from './slack/extension-notices.js';
import { registerHome } from './slack/home.js';
import { createNotifier } from './slack/notifier.js';

export interface BotOptions {
  env: Env;
  policy: Policy;
  logger: Logger;
  clock?: Clock;
  /** BullMQ key prefix; tests use one per test file so they can share a Redis. */
  queuePrefix?: string;
  clientOptions?: WebClientOptions;
  workers?: Partial<
    Pick<
      WorkerSettings,
      'concurrency' | 'retryDelayMs' | 'maxRetryDelayMs' | 'lockDurationMs' | 'stalledIntervalMs'
    >
  >;
  reconcileIntervalMs?: number;
  /** How often grants of resources with `recallAfterIdle` are checked for sessions; 60 s. */
  idleCheckIntervalMs?: number;
  /** How often drift detection asks the targets whether they hold what the database says; 5 min. */
  driftCheckIntervalMs?: number;
  /** How long a release or revoke from Slack or a hook has before its guard job finishes it; 60 s. */
  revokeGuardMs?: number;
  /** Per-person command rate and refusal-audit cap; the defaults otherwise. */
  limits?: Partial<LimitSettings>;
}

export interface RunningBot {
  port: number;
  app: App;
  deps: Deps;
  queues: Queues;
  redis: Redis;
  workers: Worker[];
  stop(): Promise<void>;
}

/**
 * Wires the bot together and starts it: database, Redis queues and workers, providers, the
 * Slack app with its routes, and the reconcile sweep. `main.ts` calls this with the real
 * environment; tests call it with their own databases, fake Slack and clock.
 */
export async function startBot(options: BotOptions): Promise<RunningBot> {
  const { env, policy, logger } = options;
  const db = createPrismaClient(env.DATABASE_URL);
  // Two connections, as BullMQ advises: producers (Slack handlers, the sweep, /readyz) fail fast
  // while Redis is away — the database has the truth and the sweep catches up — while workers
  // wait for it to come back.
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const workerRedis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  for (const connection of [redis, workerRedis]) {
    connection.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  }
  const queues = createQueues(
    redis,
    options.queuePrefix ?? 'jit',
    options.idleCheckIntervalMs,
    options.driftCheckIntervalMs,
    options.revokeGuardMs,
  );
  const clock = options.clock ?? { now: () => new Date() };
  const providers = createProviders(policy.providers, {
    slack: { token: env.SLACK_BOT_TOKEN, apiUrl: env.SLACK_API_URL, clientOptions: options.clientOptions },
  });
  const metrics = createMetrics();

  const memory = { redis, keyPrefix: options.queuePrefix ?? 'jit' };
  const app = createSlackApp({
    env,
    logger,
    clientOptions: options.clientOptions,
    memory,
    routes: [
      ...healthRoutes({ db, redis }),
      metricsRoute({ registry: metrics.registry, db, queues, logger }),
      // Called per hook request, by which time `deps` below is set.
      ...hookRoutes(env, () => deps, memory),
      ...credentialRoutes(() => deps),
      ...approverReauthRoutes(
        () => deps,
        () => createExtensionNotices(deps, app.client),
      ),
    ],
  });
  const deps: Deps = {
    db,
    policy,
    providers,
    directory: createSlackDirectory(app.client),
    jobs: jobQueueFor(queues, () => clock.now(), policy),
    clock,
    logger,
    randomBytes: (n) => randomBytes(n),
    metrics,
    limits: createRedisLimits(redis, options.queuePrefix ?? 'jit', {
      ...defaultLimitSettings,
      ...options.limits,
    }),
    publicUrl: env.JIT_PUBLIC_URL,
    ...(policy.onCall ? { onCall: createOnCallSchedules(policy.onCall) } : {}),
    ...(policy.oidc ? { approverLogin: createApproverLogin(policy.oidc) } : {}),
  };
  registerCommands(app, deps);
  registerActions(app, deps);
  registerHome(app, deps);

  const revocationsFirst = createRevocationsFirst();
  const settings: WorkerSettings = {
    connection: workerRedis,
    prefix: options.queuePrefix ?? 'jit',
    logger,
    revocationsFirst,
    ...options.workers,
  };
  const notifier = createNotifier(deps, app.client);
  const workers: Worker[] = [
    startGrantWorker(deps, settings),
    startRevokeWorker(deps, settings),
    startNotifyWorker(notifier, settings),
    startAuditPoster(deps, app.client, settings, notifier),
    startApprovalTimeoutWorker(deps, settings),
    // The sweep below schedules its rounds.
    startIdleRecallWorker(deps, settings, redis, queues.idleCheckIntervalMs),
    startDriftWorker(deps, settings, queues),
  ];
  await reportGrantsOutsidePolicy(deps).catch((err: unknown) =>
    logger.error({ err }, 'could not compare active grants with the policy file'),
  );
  // The sweep's chunks take their turn like follow-up jobs.
  const reconcile = startReconcileLoop(deps, queues, options.reconcileIntervalMs ?? 30_000, () =>
    revocationsFirst.followUp(async () => undefined),
  );
  await reconcile.done;
  const port = await startSlackApp(app, env);
  logger.info({ port, mode: env.SLACK_APP_TOKEN ? 'socket' : 'http' }, 'jit-bot started');

  return {
    port,
    app,
    deps,
    queues,
    redis,
    workers,
    async stop() {
      await reconcile.stop();
      await app.stop().catch((err: unknown) => logger.warn({ err }, 'stopping the Slack app failed'));
      await Promise.all(workers.map((w) => w.close()));
      await queues.close();
      await Promise.all([...providers.values()].map((p) => p.close()));
      await db.$disconnect();
      redis.disconnect();
      workerRedis.disconnect();
    },
  };
}
