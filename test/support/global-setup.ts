import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations, readMigrations } from '../../src/db/migrate.js';
import {
  adminUrl,
  databaseUrl,
  dropDatabase,
  redisUrl,
  runDatabasePrefix,
  TEMPLATE_DATABASE,
  withAdminClient,
} from './db.js';
import { mysqlAdminUrl } from './mysql.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Tags the databases of this run so teardown drops exactly those. */
    testRunId: string;
  }
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

/** Serialises template rebuilds between test runs started at the same time. */
const TEMPLATE_LOCK_KEY = 72707370;

const CONNECT_TIMEOUT_MS = 3_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await assertServicesReachable();
  const runId = randomBytes(4).toString('hex');
  project.provide('testRunId', runId);
  await prepareTemplate(runId);
  return () => dropRunDatabases(runId);
}

async function assertServicesReachable(): Promise<void> {
  const problems = (await Promise.all([postgresProblem(), redisProblem(), mysqlProblem()])).filter(
    (problem) => problem !== undefined,
  );
  if (problems.length > 0) {
    throw new Error(
      `Test services are not reachable: ${problems.join('; ')}. ` +
        'Start them with `bash scripts/services.sh` (or set TEST_DATABASE_URL / TEST_REDIS_URL / TEST_MYSQL_URL).',
    );
  }
}

async function postgresProblem(): Promise<string | undefined> {
  const url = adminUrl();
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${hostOf(url)} (${messageOf(error)})`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisProblem(): Promise<string | undefined> {
  const url = redisUrl();
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The 'error' event carries the cause (ECONNREFUSED …); connect() only says the connection
  // closed. Listening also keeps ioredis from printing it.
  let cause: unknown;
  redis.on('error', (error: unknown) => {
    cause = error;
  });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${hostOf(url)} (${messageOf(cause ?? error)})`;
  } finally {
    redis.disconnect();
  }
}

async function mysqlProblem(): Promise<string | undefined> {
  const url = mysqlAdminUrl();
  try {
    const connection = await mysql.createConnection({ uri: url, connectTimeout: CONNECT_TIMEOUT_MS });
    await connection.query('SELECT 1');
    await connection.end();
    return undefined;
  } catch (error) {
    return `MariaDB at ${hostOf(url)} (${messageOf(error)})`;
  }
}

/** Host and port only: the URL may carry a password. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an unparsable URL';
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(messageOf).join(', ');
  return error instanceof Error ? error.message || error.name : String(error);
}

/**
 * Rebuilds the template only when the migration files changed (their fingerprint is kept as the
 * database's comment). Runs going on in parallel keep cloning the old template meanwhile: the new
 * one is migrated under another name and swapped in at the end.
 */
async function prepareTemplate(runId: string): Promise<void> {
  const fingerprint = await migrationsFingerprint();
  await withAdminClient(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    if ((await templateFingerprint(admin)) === fingerprint) return;
    const building = `${runDatabasePrefix(runId)}template`;
    try {
      await buildTemplate(admin, building, fingerprint);
      await swapInTemplate(admin, building);
    } catch (error) {
      await dropDatabase(building);
      throw error;
    }
  });
}

async function buildTemplate(admin: Client, name: string, fingerprint: string): Promise<void> {
  await admin.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
  await applyMigrations(databaseUrl(name), { migrationsDir: MIGRATIONS_DIR });
  await admin.query(`COMMENT ON DATABASE ${escapeIdentifier(name)} IS ${escapeLiteral(fingerprint)}`);
}

async function swapInTemplate(admin: Client, built: string): Promise<void> {
  const template = escapeIdentifier(TEMPLATE_DATABASE);
  await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  await admin.query(`ALTER DATABASE ${escapeIdentifier(built)} RENAME TO ${template}`);
}

async function migrationsFingerprint(): Promise<string> {
  const migrations = await readMigrations(MIGRATIONS_DIR);
  const summary = migrations.map(({ name, checksum }) => `${name} ${checksum}`).join('\n');
  return `migrations ${createHash('sha256').update(summary).digest('hex')}`;
}

async function templateFingerprint(admin: Client): Promise<string | null> {
  const result = await admin.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
    [TEMPLATE_DATABASE],
  );
  return result.rows[0]?.comment ?? null;
}

/** Leftovers of test files that failed before calling drop(). */
async function dropRunDatabases(runId: string): Promise<void> {
  const leftovers = await withAdminClient(async (admin) => {
    const result = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [runDatabasePrefix(runId)],
    );
    return result.rows.map((row) => row.datname);
  });
  for (const name of leftovers) await dropDatabase(name);
}
