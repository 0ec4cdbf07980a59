import type { LogLevel, Logger as SlackLogger } from '@slack/bolt';
import { type Logger, pino } from 'pino';

/**
 * Secrets never reach the logs: tokens, signing secrets, passwords, connection strings and
 * authorization headers are censored wherever they appear in a logged object.
 */
export const redactPaths = [
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'signingSecret',
  '*.signingSecret',
  'url',
  '*.url',
  'connectionString',
  '*.connectionString',
  'apiKey',
  '*.apiKey',
  'clientSecret',
  '*.clientSecret',
  'codeVerifier',
  '*.codeVerifier',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-slack-signature"]',
  'env.SLACK_BOT_TOKEN',
  'env.SLACK_SIGNING_SECRET',
  'env.SLACK_APP_TOKEN',
  'env.DATABASE_URL',
  'env.REDIS_URL',
  'env.JIT_HOOK_SECRET',
  'env.GITHUB_WEBHOOK_SECRET',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { app: 'jit-bot' } };
  return destination ? pino(options, destination as never) : pino(options);
}

/** Bolt's logger interface on top of pino, so Bolt's own messages share our format and redaction. */
export function boltLogger(logger: Logger): SlackLogger {
  let child = logger.child({ component: 'bolt' });
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]) => {
      const [first, ...rest] = msg;
      if (first instanceof Error) child[level]({ err: first }, rest.map(String).join(' '));
      else child[level](msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' '));
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    // Bolt sets its own default level at start-up; LOG_LEVEL decides, so this is ignored.
    setLevel: (_level: LogLevel) => undefined,
    getLevel: () => child.level as LogLevel,
    setName: (name: string) => {
      child = logger.child({ component: name });
    },
  };
}
