import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { inject } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../../src/db/client.js';

/**
 * Per-test-file databases. Each is a copy of `jit_test_template`, which global-setup.ts keeps
 * migrated, so files run in parallel without sharing rows or paying for migrations.
 */

export const TEMPLATE_DATABASE = 'jit_test_template';

export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

export interface EmptyTestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A superuser connection URL; its database is only used to create and drop others. */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgresql://jit:jit@127.0.0.1:5432/jit';
}

export function redisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** `prefix` + random lowercase hex: usable unquoted in SQL and as a BullMQ/Redis key prefix. */
export function uniqueName(prefix: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) {
    throw new Error(`uniqueName: prefix ${JSON.stringify(prefix)} must match [a-z_][a-z0-9_]*`);
  }
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/**
 * Names of the databases one test run creates. The run id comes from global-setup.ts, whose
 * teardown drops what is left over, without touching databases of a run going on in parallel.
 */
export function runDatabasePrefix(runId: string): string {
  return `jit_test_${runId}_`;
}

/** The same server and credentials as `adminUrl()`, another database. */
export function databaseUrl(database: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdminClient<T>(use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(database: string): Promise<void> {
  await withAdminClient((client) =>
    client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`),
  );
}

/** A migrated database of its own, with a Prisma client on it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { url, drop } = await createDatabase(TEMPLATE_DATABASE);
  // The client production builds (named statements, error format), on a smaller pool.
  const prisma = createPrismaClient(url, { poolSize: 5 });
  return {
    url,
    prisma,
    drop: async () => {
      await prisma.$disconnect();
      await drop();
    },
  };
}

/** A database with no tables at all, for testing migrations themselves. */
export async function createEmptyDatabase(): Promise<EmptyTestDatabase> {
  return createDatabase();
}

async function createDatabase(template?: string): Promise<EmptyTestDatabase> {
  const name = uniqueName(runDatabasePrefix(inject('testRunId')));
  const from = template ? ` TEMPLATE ${escapeIdentifier(template)}` : '';
  await withAdminClient((client) => client.query(`CREATE DATABASE ${escapeIdentifier(name)}${from}`));
  return { url: databaseUrl(name), drop: () => dropDatabase(name) };
}
