import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, DatabaseError } from 'pg';

/**
 * Applies `prisma/migrations/<name>/migration.sql` the way `prisma migrate deploy` does, without
 * Prisma's schema engine (which cannot be downloaded everywhere we run). It keeps Prisma's
 * tracking table, checksums and lock, so either tool can take over a database the other migrated.
 */

/** Prisma Migrate's advisory lock key: holding it also keeps a concurrent `prisma migrate` out. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

/** Prisma's own definition of its tracking table (PostgreSQL flavour). */
const CREATE_TRACKING_TABLE = `
  CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`;

export interface MigrationLogger {
  info(obj: object, msg?: string): void;
}

export interface ApplyMigrationsOptions {
  migrationsDir?: string;
  logger?: MigrationLogger;
}

export interface LocalMigration {
  /** The folder name, which is also `migration_name` in the tracking table. */
  name: string;
  sql: string;
  checksum: string;
}

interface TrackingRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

const silentLogger: MigrationLogger = { info: () => {} };

export async function applyMigrations(
  databaseUrl: string,
  options: ApplyMigrationsOptions = {},
): Promise<{ applied: string[] }> {
  const migrationsDir = options.migrationsDir ?? defaultMigrationsDir();
  const logger = options.logger ?? silentLogger;
  const local = await readMigrations(migrationsDir);
  const client = new Client({ connectionString: databaseUrl, application_name: 'jit-migrate' });
  // A connection lost between queries surfaces through the next query; unheard, the 'error'
  // event would crash the process instead.
  client.on('error', () => {});
  await client.connect();
  try {
    // The lock is session-level and ends with the connection, so a crashed runner cannot leave
    // it held; everything below, including creating the tracking table, happens under it.
    await acquireMigrationLock(client, logger);
    await client.query(CREATE_TRACKING_TABLE);
    const rows = await readTrackingRows(client);
    assertHistoryMatches(rows, local, migrationsDir);
    const done = new Set(rows.filter(isApplied).map((row) => row.migration_name));
    const applied: string[] = [];
    for (const migration of local.filter((m) => !done.has(m.name))) {
      await applyOne(client, migration, logger);
      applied.push(migration.name);
    }
    return { applied };
  } finally {
    // Ending the session also releases the lock; a failure here must not hide the real error.
    await client.end().catch(() => {});
  }
}

/** The migration folders of `migrationsDir`, in the order Prisma applies them (by name). */
export async function readMigrations(migrationsDir: string): Promise<LocalMigration[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(names.map((name) => readMigration(migrationsDir, name)));
}

/** Prisma's checksum: SHA-256 of the script, as 64 lowercase hex digits. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

async function readMigration(migrationsDir: string, name: string): Promise<LocalMigration> {
  const file = join(migrationsDir, name, 'migration.sql');
  let sql: string;
  try {
    sql = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`migration ${name} has no readable migration.sql in ${migrationsDir}`, {
      cause: error,
    });
  }
  return { name, sql, checksum: migrationChecksum(sql) };
}

/** `prisma/migrations` of this package, found from this file so the cwd does not matter. */
function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'prisma', 'migrations');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find prisma/migrations above src/db');
    dir = parent;
  }
}

async function acquireMigrationLock(client: Client, logger: MigrationLogger): Promise<void> {
  const tried = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
    PRISMA_MIGRATE_LOCK_KEY,
  ]);
  if (tried.rows[0]?.locked) return;
  // Another replica is migrating; once it is done we will find nothing left to apply.
  logger.info({ lockKey: PRISMA_MIGRATE_LOCK_KEY }, 'waiting for another migration runner');
  await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
}

async function readTrackingRows(client: Client): Promise<TrackingRow[]> {
  const result = await client.query<TrackingRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at
       FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  );
  return result.rows;
}

/** Rows Prisma counts as applied: finished and not since marked rolled back. */
function isApplied(row: TrackingRow): boolean {
  return row.finished_at !== null && row.rolled_back_at === null;
}

/** Refuses to build on a history that differs from the files: the result would be a guess. */
function assertHistoryMatches(rows: TrackingRow[], local: LocalMigration[], migrationsDir: string): void {
  const byName = new Map(local.map((migration) => [migration.name, migration]));
  const problems: string[] = [];
  for (const row of rows) {
    const name = row.migration_name;
    const file = byName.get(name);
    if (row.rolled_back_at !== null) continue;
    if (row.finished_at === null) {
      problems.push(
        `migration ${name} started but never finished in an earlier run; repair the database, ` +
          `then mark it with \`prisma migrate resolve --rolled-back ${name}\` (or --applied)`,
      );
    } else if (!file) {
      problems.push(`migration ${name} is applied to the database but missing from ${migrationsDir}`);
    } else if (!checksumMatches(file.sql, row.checksum)) {
      problems.push(
        `migration ${name} was edited after it was applied (checksum differs); restore it and ` +
          'put the change in a new migration',
      );
    }
  }
  if (problems.length > 0) throw new Error(`refusing to migrate: ${problems.join('; ')}`);
}

/** Like Prisma, accept a checkout whose line endings git converted after the migration ran. */
function checksumMatches(sql: string, recorded: string): boolean {
  const variants = [sql, sql.replaceAll('\r\n', '\n'), sql.replaceAll('\n', '\r\n')];
  return variants.some((variant) => migrationChecksum(variant) === recorded);
}

/** The script and its tracking row commit together, so a failure leaves no trace to repair. */
async function applyOne(client: Client, migration: LocalMigration, logger: MigrationLogger): Promise<void> {
  const startedAt = Date.now();
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations"
         (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`migration ${migration.name} failed: ${describeError(error)}`, {
      cause: error,
    });
  }
  logger.info({ migration: migration.name, durationMs: Date.now() - startedAt }, 'applied migration');
}

function describeError(error: unknown): string {
  if (error instanceof DatabaseError) {
    const detail = error.detail ? ` (${error.detail})` : '';
    return `${error.message}${detail} [SQLSTATE ${error.code}]`;
  }
  return error instanceof Error ? error.message : String(error);
}
