import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { escapeIdentifier } from 'pg';
import type { Logger } from 'pino';
import type { Clock } from '../../src/app/deps.js';
import { type RunningBot, startBot } from '../../src/bot.js';
import { type Env, loadEnv } from '../../src/config/env.js';
import { parsePolicy } from '../../src/config/policy.js';
import type { LimitSettings } from '../../src/jobs/limits.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, redisUrl, type TestDatabase, uniqueName, withAdminClient } from './db.js';
import {
  type FakeResponsePost,
  type FakeSlack,
  type FakeSlackCall,
  type SocketAck,
  startFakeSlack,
} from './fake-slack.js';
import {
  blockActionPayload,
  postBlockAction,
  postSlashCommand,
  postViewSubmission,
  type SlackHttpResponse,
  slashCommandBody,
  viewSubmissionPayload,
} from './slack-signing.js';

/**
 * The whole bot as production runs it (Bolt over HTTP, or over Socket Mode with `socketMode`;
 * Prisma on a real PostgreSQL, BullMQ on a real Redis, the PostgreSQL provider on real roles),
 * with Slack replaced by the fake. Each harness has its own database, queue prefix and roles, so
 * test files run in parallel.
 */

export const users = {
  alice: 'UALICE01', // requester
  bob: 'UBOB0001', // approver (listed by id)
  carol: 'UCAROL01', // approver (through the S0DBA user group)
  dave: 'UDAVE001', // level-2 approver
  eve: 'UEVE0001', // nobody in particular
  frank: 'UFRANK01', // has no database login
  sec: 'USEC0001', // security team
} as const;

export const securityChannel = 'C0SECURITY';
export const signingSecret = 'test-signing-secret-0123456789';

export interface Harness {
  /** Where Slack's requests go in HTTP mode (`/slack/events`). */
  url: string;
  /** The bot's own HTTP server (`/healthz`, `/metrics`, hooks), in either mode. */
  origin: string;
  /** The environment the bot was started with. */
  env: Env;
  fake: FakeSlack;
  db: TestDatabase;
  bot: RunningBot;
  /** PostgreSQL names made for this harness. */
  role: string;
  login: (user: keyof typeof users) => string;
  /**
   * Sends `/jit <text>` and waits for the reply on its response_url. In Socket Mode the command
   * goes over the WebSocket, and `http` stands for the ack (status 200, body = ack payload).
   */
  slash(userId: string, text: string): Promise<{ http: SlackHttpResponse; reply: FakeResponsePost }>;
  /** Creates a request through `/jit request` and returns its id. */
  request(userId: string, resource: string, duration: string, reason?: string): Promise<string>;
  /** The DM the bot sent an approver about a request, once it has been sent. */
  approverMessage(requestId: string, approverId: string): Promise<{ channel: string; ts: string }>;
  click(
    userId: string,
    actionId: string,
    requestId: string,
    message?: { channel: string; ts: string },
  ): Promise<SlackHttpResponse>;
  submitView(
    userId: string,
    callbackId: string,
    metadata: unknown,
    values: Record<string, Record<string, unknown>>,
  ): Promise<SlackHttpResponse>;
  /**
   * The security channel's card of a request, once posted or updated to show `fragment` (in its
   * text or blocks): the card is where the routine steps of a request are told.
   */
  securityCard(requestId: string, fragment: string, timeoutMs?: number): Promise<FakeSlackCall>;
  /** The next DM to `userId` whose text contains `fragment`. */
  dmTo(userId: string, fragment: string, timeoutMs?: number): Promise<FakeSlackCall>;
  isMember(login: string): Promise<boolean>;
  /**
   * Stops the bot process's parts and starts a fresh one on the same database and Redis;
   * `editPolicy` changes the policy file's text for the new one (a role changed, a resource gone).
   */
  restartBot(editPolicy?: (yaml: string) => string): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  clock?: Clock;
  /** Extra resources, YAML indented for the `resources:` block; `{{role}}` is replaced. */
  extraResources?: string;
  workers?: { retryDelayMs?: number; maxRetryDelayMs?: number };
  /**
   * Per-person limits. Tests send far more commands and draw far more refusals per person and
   * minute than anyone would, so the harness raises the caps unless a test sets its own.
   */
  limits?: Partial<LimitSettings>;
  /** Makes the fake Slack enforce its per-channel `chat.postMessage` rate (see `FakeSlackOptions`). */
  slackPostRate?: { perSecond: number; burst: number };
  /**
   * Socket Mode: SLACK_APP_TOKEN is the fake's app token and PORT a free port (Bolt serves the
   * custom routes there, not on an ephemeral one); commands and clicks go over the WebSocket.
   */
  socketMode?: boolean;
  /** More environment for the bot (hook secrets…), on top of what the harness sets. */
  env?: Record<string, string>;
  /** The bot's idle-check interval (`recallAfterIdle`), for tests that run the rounds themselves. */
  idleCheckIntervalMs?: number;
  /** The bot's drift-check interval, for tests that run the rounds themselves. */
  driftCheckIntervalMs?: number;
  /** Where the bot logs, e.g. to collect its errors; silent unless TEST_LOG_LEVEL is set. */
  logger?: Logger;
  /** Extra providers, YAML indented for the `providers:` block. */
  extraProviders?: string;
  /** Extra top-level keys of the policy file (`onCall:`…), YAML at column 0. */
  extraPolicy?: string;
}

/** A port free right now, on every interface (as Bolt's Socket Mode server listens). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  return port;
}

/** A Socket Mode ack as the HTTP answer Bolt would have given: 200, the ack body if any. */
function ackAsResponse(ack: SocketAck): SlackHttpResponse {
  const payload = ack.payload as Record<string, unknown> | undefined;
  const body = payload && Object.keys(payload).length > 0 ? JSON.stringify(payload) : '';
  return { status: 200, body, headers: new Headers(body ? { 'content-type': 'application/json' } : {}) };
}

function policyYaml(role: string, extra: string, extraProviders = '', extraPolicy = ''): string {
  return `
timezone: UTC
securityChannel: ${securityChannel}
admins: { users: [${users.sec}] }
identity: { emailDomains: [example.com] }
${extraPolicy}
providers:
  proddb:
    type: postgres
    url: \${PROD_DB_ADMIN_URL}
${extraProviders}
resources:
  prod-db-write:
    description: Write access to the production database
    provider: proddb
    grant: { role: ${role} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}], groups: [S0DBA] }
        count: 1
  prod-db-two-level:
    description: Needs the DBAs and then the CTO
    provider: proddb
    grant: { role: ${role} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}, ${users.carol}] }
      - from: { users: [${users.carol}, ${users.dave}] }
${extra.replaceAll('{{role}}', role)}`;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const suffix = uniqueName('_').slice(1);
  const role = `prod_write_${suffix}`;
  const login = (user: keyof typeof users) => `${user}_${suffix}`;
  await withAdminClient(async (client) => {
    await client.query(`CREATE ROLE ${escapeIdentifier(role)} NOLOGIN`);
    await client.query(`GRANT ${escapeIdentifier(role)} TO jit_granter WITH ADMIN OPTION`);
    for (const user of ['alice', 'bob', 'carol', 'dave', 'eve', 'sec'] as const) {
      await client.query(`CREATE ROLE ${escapeIdentifier(login(user))} LOGIN PASSWORD 'pw'`);
    }
  });

  const db = await createTestDatabase();
  const fake = await startFakeSlack(options.slackPostRate ? { postRate: options.slackPostRate } : {});
  for (const [name, id] of Object.entries(users)) {
    fake.addUser({ id, name, email: `${login(name as keyof typeof users)}@example.com` });
  }
  fake.setGroup('S0DBA', [users.carol]);

  const adminUrl = 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit';
  let policyText = policyYaml(
    role,
    options.extraResources ?? '',
    options.extraProviders,
    options.extraPolicy,
  );
  const policyEnv = { PROD_DB_ADMIN_URL: adminUrl, ...options.env };
  let policy = parsePolicy(policyText, policyEnv);
  const socketMode = options.socketMode === true;
  const env = loadEnv({
    SLACK_BOT_TOKEN: fake.token,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: fake.apiUrl,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl(),
    PORT: socketMode ? String(await freePort()) : '0',
    ...(socketMode ? { SLACK_APP_TOKEN: fake.appToken } : {}),
    ...options.env,
  });
  const queuePrefix = uniqueName('jit_');
  const launch = () =>
    startBot({
      env,
      policy,
      logger: options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      queuePrefix,
      clientOptions: { retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
      workers: { retryDelayMs: 50, maxRetryDelayMs: 500, ...options.workers },
      limits: { commandsPerWindow: 10_000, refusalsPerWindow: 10_000, ...options.limits },
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.idleCheckIntervalMs ? { idleCheckIntervalMs: options.idleCheckIntervalMs } : {}),
      ...(options.driftCheckIntervalMs ? { driftCheckIntervalMs: options.driftCheckIntervalMs } : {}),
    });
  const bot = await launch();
  let url = `http://127.0.0.1:${bot.port}/slack/events`;
  let replies = 0;
  const interact = async (payload: Record<string, unknown>, post: () => Promise<SlackHttpResponse>) =>
    socketMode ? ackAsResponse(await fake.socketDeliver('interactive', payload)) : post();

  const harness: Harness = {
    get url() {
      return url;
    },
    get origin() {
      return `http://127.0.0.1:${harness.bot.port}`;
    },
    env,
    fake,
    db,
    bot,
    role,
    login,
    async slash(userId, text) {
      const id = `slash-${++replies}`;
      const input = { text, user_id: userId, response_url: fake.responseUrl(id) };
      const http = socketMode
        ? ackAsResponse(
            await fake.socketDeliver(
              'slash_commands',
              Object.fromEntries(new URLSearchParams(slashCommandBody(input))),
            ),
          )
        : await postSlashCommand(url, signingSecret, input);
      const reply = await fake.waitForResponse((r) => r.id === id);
      return { http, reply };
    },
    async request(userId, resource, duration, reason = 'investigating INC-42') {
      const { reply } = await harness.slash(userId, `request ${resource} ${duration} ${reason}`);
      const id = /JIT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0];
      if (!id) throw new Error(`no request id in the reply: ${JSON.stringify(reply.body)}`);
      return id;
    },
    async approverMessage(requestId, approverId) {
      const call = await fake.waitFor(
        'chat.postMessage',
        (c) => c.ok && c.args.channel === `D${approverId}` && String(c.args.text).includes(requestId),
      );
      return { channel: String(call.args.channel), ts: String(call.result.ts) };
    },
    click(userId, actionId, requestId, message) {
      const input = {
        user_id: userId,
        action_id: actionId,
        value: requestId,
        ...(message ? { channel_id: message.channel, message_ts: message.ts } : {}),
        response_url: fake.responseUrl(`click-${++replies}`),
      };
      return interact(blockActionPayload(input), () => postBlockAction(url, signingSecret, input));
    },
    submitView(userId, callbackId, metadata, values) {
      const input = {
        user_id: userId,
        callback_id: callbackId,
        private_metadata: JSON.stringify(metadata),
        state_values: values,
      };
      return interact(viewSubmissionPayload(input), () => postViewSubmission(url, signingSecret, input));
    },
    securityCard(requestId, fragment, timeoutMs = 10_000) {
      return fake.waitFor(
        ['chat.postMessage', 'chat.update'],
        (c) =>
          c.ok &&
          c.args.channel === securityChannel &&
          String(c.args.text).startsWith(`Grant ${requestId}:`) &&
          `${String(c.args.text)}${JSON.stringify(c.args.blocks)}`.includes(fragment),
        { timeoutMs },
      );
    },
    dmTo(userId, fragment, timeoutMs = 10_000) {
      return fake.waitFor(
        'chat.postMessage',
        (c) => c.ok && c.args.channel === `D${userId}` && String(c.args.text).includes(fragment),
        { timeoutMs },
      );
    },
    async isMember(loginName) {
      return withAdminClient(async (client) => {
        const { rows } = await client.query(
          `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
           WHERE r.rolname = $1 AND u.rolname = $2`,
          [role, loginName],
        );
        return rows.length > 0;
      });
    },
    async restartBot(editPolicy) {
      await harness.bot.stop();
      if (editPolicy) {
        policyText = editPolicy(policyText);
        policy = parsePolicy(policyText, policyEnv);
      }
      harness.bot = await launch();
      url = `http://127.0.0.1:${harness.bot.port}/slack/events`;
    },
    async stop() {
      await harness.bot.stop();
      await fake.close();
      await db.drop();
      await withAdminClient(async (client) => {
        for (const user of ['alice', 'bob', 'carol', 'dave', 'eve', 'sec'] as const) {
          await client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(login(user))}`);
        }
        await client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
      });
    },
  };
  return harness;
}
