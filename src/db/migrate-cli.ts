import { applyMigrations } from './migrate.js';

/**
 * `DATABASE_URL=… tsx src/db/migrate-cli.ts`: applies pending migrations and exits. Deployments
 * run it before starting the bot; it prints one line per migration it applied.
 */
async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('migrate: DATABASE_URL is not set (e.g. postgresql://user:pass@host:5432/db)');
    return 1;
  }
  try {
    const { applied } = await applyMigrations(databaseUrl);
    if (applied.length === 0) console.log('database is up to date');
    for (const name of applied) console.log(`applied ${name}`);
    return 0;
  } catch (error) {
    console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

// exitCode rather than exit() so the output is flushed before the process ends.
process.exitCode = await main();
