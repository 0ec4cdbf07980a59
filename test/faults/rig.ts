import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase, uniqueName } from '../support/db.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { type FakeWebhookReceiver, startFakeWebhookReceiver } from '../support/fake-webhook.js';
import { type DedicatedRedis, startDedicatedRedis } from '../support/redis-server.js';
import { postSlashCommand } from '../support/slack-signing.js';
import { BotLauncher, type BotProcess } from './launcher.js';

export type { BotProcess } from './launcher.js';

/**
 * Bots as separate OS processes on one PostgreSQL database and a Redis of their own, granting
 * through the webhook provider to a receiver in the test. Each bot's policy points at its own
 * receiver URL (`?bot=<name>`), so the receiver knows which process is calling, and can stop it
 * (SIGKILL) after applying a call but before answering it: the target has changed and the bot
 * never learns it did.
 */

export const users = {
  alice: 'UALICE01', // requests on-call access, auto-approved
  dave: 'UDAVE001', // requests admin access, which bob approves
  bob: 'UBOB0001',
  sec: 'USEC0001',
} as const;
export const securityChannel = 'C0SECURITY';
export const signingSecret = 'faults-signing-secret-0123456789';
const webhookSecret = 'faults-webhook-secret-0123456789';

/** Short enough that a job held by a killed process is run again within seconds. */
const lockDurationMs = 2_000;
const stalledIntervalMs = 1_000;
/** Likewise for a release or revoke from Slack whose process died (its guard job). */
const revokeGuardMs = 1_500;

export interface Rig {
  db: TestDatabase;
  redis: DedicatedRedis;
  fake: FakeSlack;
  receiver: FakeWebhookReceiver;
  /**
   * Exactly `count` bot processes running: those already up are kept (the oldest first), more
   * are started, any beyond `count` are killed. All have the same settings (a name in the
   * receiver URL tells them apart). Starting one after another died is the restart.
   */
  running(count: number): Promise<BotProcess[]>;
  /** The bot process that made a receiver call (from the URL it called). */
  callerOf(call: { path: string }): BotProcess | undefined;
  /** `/jit <text>` sent to one bot process; resolves with the reply's text. */
  slash(bot: BotProcess, userId: string, text: string): Promise<string>;
  /** Creates a request through `/jit request` on one bot process and returns its id. */
  request(bot: BotProcess, userId: string, resource: string, duration: string): Promise<string>;
  /** How many audit events of each action a request has. */
  auditActions(requestId: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface RigOptions {
  /** The bots' reconcile sweep interval. */
  reconcileMs: number;
}

function policyYaml(receiverUrl: string): string {
  return `
timezone: UTC
securityChannel: ${securityChannel}
admins: { users: [${users.sec}] }
identity: { emailDomains: [example.com] }
providers:
  ticketing:
    type: webhook
    url: ${receiverUrl}
    secret: ${webhookSecret}
resources:
  ticketing-admin:
    description: Admin in the ticketing system
    provider: ticketing
    grant: { group: admins }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
  ticketing-oncall:
    description: On-call access in the ticketing system
    provider: ticketing
    grant: { group: oncall }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }
    autoApprove:
      - requesterIn: { users: [${users.alice}] }
`;
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'jit-faults-'));
  const [db, redis, fake, receiver] = await Promise.all([
    createTestDatabase(),
    startDedicatedRedis(),
    startFakeSlack(),
    startFakeWebhookReceiver(webhookSecret),
  ]);
  for (const [name, id] of Object.entries(users)) fake.addUser({ id, name, email: `${name}@example.com` });
  const queuePrefix = uniqueName('jit_');
  const launcher = new BotLauncher(async (name) => {
    const config = join(dir, `${name}.yaml`);
    await writeFile(config, policyYaml(`${receiver.url}&bot=${encodeURIComponent(name)}`));
    return {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: db.url,
        REDIS_URL: redis.url,
        SLACK_BOT_TOKEN: fake.token,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: fake.apiUrl,
        JIT_CONFIG: config,
        PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      },
      args: [
        ...['--queue-prefix', queuePrefix, '--reconcile', String(options.reconcileMs)],
        ...['--retry-delay', '50', '--max-retry-delay', '500'],
        ...['--lock-duration', String(lockDurationMs), '--stalled-interval', String(stalledIntervalMs)],
        ...['--revoke-guard', String(revokeGuardMs)],
      ],
    };
  });
  const bots = new Map<string, BotProcess>();
  let replies = 0;

  const rig: Rig = {
    db,
    redis,
    fake,
    receiver,
    async running(count) {
      const live = [...bots.values()].filter((bot) => !bot.killed);
      await Promise.all(live.slice(count).map((bot) => bot.kill()));
      const more = Math.max(0, count - live.length);
      const started = await Promise.all(Array.from({ length: more }, () => launcher.start()));
      for (const bot of started) bots.set(bot.name, bot);
      return [...live.slice(0, count), ...started];
    },
    callerOf(call) {
      const name = new URL(call.path, 'http://receiver').searchParams.get('bot');
      return name === null ? undefined : bots.get(name);
    },
    async slash(bot, userId, text) {
      const id = `slash-${++replies}`;
      const http = await postSlashCommand(bot.url, signingSecret, {
        text,
        user_id: userId,
        response_url: fake.responseUrl(id),
      });
      if (http.status !== 200) throw new Error(`${bot.name} answered /jit ${text} with ${http.status}`);
      const reply = await fake.waitForResponse((r) => r.id === id);
      return String(reply.body.text);
    },
    async request(bot, userId, resource, duration) {
      const text = await rig.slash(bot, userId, `request ${resource} ${duration} investigating INC-42`);
      const id = /JIT-[0-9A-Z]{6}/.exec(text)?.[0];
      if (!id) throw new Error(`no request id in the reply: ${text}`);
      return id;
    },
    async auditActions(requestId) {
      const rows = await db.prisma.auditEvent.groupBy({
        by: ['action'],
        where: { requestId },
        _count: { _all: true },
      });
      return Object.fromEntries(rows.map((row) => [row.action, row._count._all]));
    },
    async stop() {
      await launcher.killAll();
      await Promise.allSettled([redis.close(), fake.close(), receiver.close()]);
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return rig;
}
