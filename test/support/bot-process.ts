/**
 * The real bot (`startBot`) as an OS process of its own, for tests that kill it with SIGKILL or
 * run several side by side: `node --import tsx test/support/bot-process.ts [options]`, with the
 * bot's environment (DATABASE_URL, REDIS_URL, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
 * SLACK_API_URL, JIT_CONFIG, PORT, LOG_LEVEL). Run through `node --import tsx` rather than the
 * tsx command, which would put a second process in between that a SIGKILL does not reach.
 *
 * Options, in milliseconds: --reconcile, --retry-delay, --max-retry-delay, --lock-duration,
 * --stalled-interval, --revoke-guard; and --queue-prefix. With --wait-for-start it loads its
 * code, prints `loaded`, and starts the bot when a `start` line arrives on stdin: loading takes
 * seconds of CPU, so tests keep a process loaded and a restart does not wait for it. Prints
 * `ready <port>` once the bot serves; logs go to stderr. Exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startBot } from '../../src/bot.js';
import { loadEnv } from '../../src/config/env.js';
import { loadPolicy } from '../../src/config/policy.js';
import { createLogger } from '../../src/logger.js';

// The test that started this process holds the other end of stdin: if it dies without killing
// this process, stdin ends and the bot goes too, instead of running on unattended.
process.stdin.once('end', () => process.exit(1));
process.stdin.resume();

const millis = z.coerce.number().int().min(1).max(600_000).optional();
const optionsSchema = z.strictObject({
  'queue-prefix': z.string().regex(/^[a-z_][a-z0-9_]*$/),
  reconcile: millis,
  'retry-delay': millis,
  'max-retry-delay': millis,
  'lock-duration': millis,
  'stalled-interval': millis,
  'revoke-guard': millis,
  'wait-for-start': z.boolean().optional(),
});

const { values } = parseArgs({
  options: {
    'queue-prefix': { type: 'string' },
    reconcile: { type: 'string' },
    'retry-delay': { type: 'string' },
    'max-retry-delay': { type: 'string' },
    'lock-duration': { type: 'string' },
    'stalled-interval': { type: 'string' },
    'revoke-guard': { type: 'string' },
    'wait-for-start': { type: 'boolean' },
  },
  strict: true,
});
const options = optionsSchema.parse(values);

if (options['wait-for-start']) {
  const lines = createInterface({ input: process.stdin });
  const started = new Promise<void>((resolve) => lines.on('line', (line) => line === 'start' && resolve()));
  process.stdout.write('loaded\n');
  await started;
}

const env = loadEnv();
const logger = createLogger(env.LOG_LEVEL, process.stderr);
const policy = await loadPolicy(env.JIT_CONFIG);

const defined = <T extends Record<string, unknown>>(object: T) =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;

const bot = await startBot({
  env,
  policy,
  logger,
  queuePrefix: options['queue-prefix'],
  clientOptions: { retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
  workers: defined({
    retryDelayMs: options['retry-delay'],
    maxRetryDelayMs: options['max-retry-delay'],
    lockDurationMs: options['lock-duration'],
    stalledIntervalMs: options['stalled-interval'],
  }),
  ...(options.reconcile ? { reconcileIntervalMs: options.reconcile } : {}),
  ...(options['revoke-guard'] ? { revokeGuardMs: options['revoke-guard'] } : {}),
});
process.stdout.write(`ready ${bot.port}\n`);

process.once('SIGTERM', () => {
  void bot.stop().finally(() => process.exit(0));
});
