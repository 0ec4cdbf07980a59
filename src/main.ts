import { startBot } from './bot.js';
import { ConfigError, loadEnv } from './config/env.js';
import { loadPolicy, requirePublicUrl } from './config/policy.js';
import { applyMigrations } from './db/migrate.js';
import { createLogger } from './logger.js';

/** Composition root: read config, migrate, start; stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger(env.LOG_LEVEL);
  const policy = await loadPolicy(env.JIT_CONFIG);
  requirePublicUrl(policy, env.JIT_PUBLIC_URL);
  await applyMigrations(env.DATABASE_URL, { logger });
  const bot = await startBot({ env, policy, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await bot.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  // Configuration errors are for the operator: one clear line, no stack trace.
  if (error instanceof ConfigError) console.error(`jit-bot: ${error.message}`);
  else console.error('jit-bot failed to start:', error);
  process.exit(1);
});
