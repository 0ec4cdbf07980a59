import { z } from 'zod';

/** Treats `FOO=` (empty, as .env files and compose often leave it) as unset. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess((value) => (value === '' || value === undefined ? fallback : value), schema);

export const envSchema = z.object({
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-\S+$/, 'must be a bot token starting with xoxb-'),
  SLACK_SIGNING_SECRET: z.string().min(1, 'is required (Basic Information → Signing Secret)'),
  SLACK_APP_TOKEN: optional(z.string().regex(/^xapp-\S+$/, 'must be an app-level token starting with xapp-')),
  SLACK_API_URL: withDefault(
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    'https://slack.com/api/',
  ),
  DATABASE_URL: z
    .string({ error: 'is required (a postgresql:// URL)' })
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgresql:// URL'),
  REDIS_URL: withDefault(
    z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL'),
    'redis://127.0.0.1:6379',
  ),
  PORT: withDefault(z.coerce.number().int().min(0).max(65_535), 3000),
  JIT_CONFIG: withDefault(z.string().min(1), './jit.config.yaml'),
  LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  JIT_HOOK_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  GITHUB_WEBHOOK_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  /**
   * Where people reach the bot's own pages (`https://jit.example.com/`): the credential page of
   * per-request logins. Required when a resource uses them.
   */
  JIT_PUBLIC_URL: optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; the error names every bad variable and never echoes its value. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'environment');
    // Empty counts as unset, as it does for the optional variables.
    const missing = source[name] === undefined || source[name] === '';
    const message = missing && !issue.message.startsWith('is required') ? 'is required' : issue.message;
    return `${name} ${message}`;
  });
  throw new ConfigError(`Invalid environment: ${lines.join('; ')}`);
}
