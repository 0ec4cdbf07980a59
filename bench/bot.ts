import { open } from 'node:fs/promises';
import { type RunningBot, startBot } from '../src/bot.js';
import { type Env, loadEnv } from '../src/config/env.js';
import { type Policy, parsePolicy } from '../src/config/policy.js';
import { createLogger } from '../src/logger.js';
import type { FakeUserSeed } from '../test/support/fake-slack.js';
import {
  type BenchDatabase,
  type BenchRoles,
  createBenchDatabase,
  createRoles,
  dropRedisPrefix,
  granterUrl,
  redisUrl,
  uniqueName,
} from './services.js';
import { type SlackSide, startSlackSide } from './slack.js';
import { envInt } from './stats.js';

/** The people of every benchmark's workspace. */
export const people = { approver: 'UBENCHAPPR', admin: 'UBENCHSEC1' } as const;
export const signingSecret = 'bench-signing-secret-0123456789';
export const securityChannel = 'C0BENCHSEC';

/** Slack user id of requester `i`; their database login is `roles.logins[i]`. */
export function requesterId(i: number): string {
  return `UBR${String(i).padStart(7, '0')}`;
}

export function resourceName(i: number): string {
  return `res-${i}`;
}

/**
 * Policy: one resource per role, each approved by one person (so nothing in the policy engine
 * is skipped), and the PostgreSQL provider logging in as the low-privilege granter.
 */
export function policyYaml(roles: readonly string[]): string {
  const resources = roles.map(
    (role, i) => `
  ${resourceName(i)}:
    description: Benchmark resource ${i}
    provider: pg
    grant: { role: ${role} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${people.approver}] }`,
  );
  return `
timezone: UTC
securityChannel: ${securityChannel}
admins: { users: [${people.admin}] }
identity: { emailDomains: [example.com] }
providers:
  pg:
    type: postgres
    url: \${BENCH_PROVIDER_URL}
resources:${resources.join('')}`;
}

export function benchPolicy(roles: readonly string[]): Policy {
  return parsePolicy(policyYaml(roles), { BENCH_PROVIDER_URL: granterUrl });
}

/** Slack users for the requesters (email local part = database login) and the approver/admin. */
export function slackUsers(logins: readonly string[]): FakeUserSeed[] {
  return [
    ...logins.map((login, i) => ({ id: requesterId(i), name: login, email: `${login}@example.com` })),
    { id: people.approver, name: 'approver', email: 'approver@example.com' },
    { id: people.admin, name: 'security', email: 'security@example.com' },
  ];
}

export interface BenchWorld {
  db: BenchDatabase;
  roles: BenchRoles;
  slack: SlackSide;
  policy: Policy;
  env: Env;
  queuePrefix: string;
  /** Started by `startBot()`; stopped by `close()`. */
  bot?: RunningBot;
  startBot(): Promise<RunningBot>;
  close(): Promise<void>;
}

/**
 * A database, roles, the Slack side and the bot's configuration. The bot itself starts on
 * `startBot()`, as production starts it, logging at `BENCH_LOG_LEVEL` (default `info`, as in
 * production) to `BENCH_LOG_FILE` (default /dev/null: the formatting is paid for, the terminal
 * is not).
 */
export async function createWorld(options: { roles: number; logins: number }): Promise<BenchWorld> {
  const db = await createBenchDatabase();
  const roles = await createRoles(options.roles, options.logins);
  const slack = await startSlackSide();
  await slack.addUsers(slackUsers(roles.logins));
  const policy = benchPolicy(roles.roles);
  const env = loadEnv({
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: slack.apiUrl,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    PORT: '0',
  });
  const queuePrefix = uniqueName('jitbench');
  const logFile = await open(process.env.BENCH_LOG_FILE || '/dev/null', 'w');
  const world: BenchWorld = {
    db,
    roles,
    slack,
    policy,
    env,
    queuePrefix,
    async startBot() {
      world.bot = await startBot({
        env,
        policy,
        logger: createLogger(process.env.BENCH_LOG_LEVEL ?? 'info', logFile.createWriteStream()),
        queuePrefix,
        // 50 senders send far more than people do: with the per-person limit (20 a minute) most
        // commands would be answered "slow down" and a request's work would go unmeasured. The
        // limit is still counted in Redis for every command, at the same cost.
        limits: { commandsPerWindow: envInt('BENCH_COMMANDS_PER_MINUTE', 1_000_000) },
      });
      return world.bot;
    },
    async close() {
      await world.bot?.stop();
      await slack.close();
      await db.drop();
      await roles.drop();
      await dropRedisPrefix(queuePrefix);
      await logFile.close();
    },
  };
  return world;
}
