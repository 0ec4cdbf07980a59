import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type QueryResultRow } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyMigrations, readMigrations } from '../../src/db/migrate.js';
import { createEmptyDatabase, type EmptyTestDatabase } from '../support/db.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MIGRATIONS_DIR = join(REPO_ROOT, 'prisma', 'migrations');
const BOT_TABLES = ['access_requests', 'approvals', 'audit_events', 'slack_messages'];

let db: EmptyTestDatabase;
let tempDirs: string[] = [];

beforeEach(async () => {
  db = await createEmptyDatabase();
});

afterEach(async () => {
  await db.drop();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  tempDirs = [];
});

async function query<T extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function tableExists(table: string): Promise<boolean> {
  const rows = await query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [table]);
  return rows[0]?.oid !== null;
}

interface TrackingRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}

function trackingRows(): Promise<TrackingRow[]> {
  return query<TrackingRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs
       FROM "_prisma_migrations" ORDER BY migration_name`,
  );
}

/** A migrations folder in Prisma's layout under the OS temp dir: name → migration.sql. */
async function writeMigrations(scripts: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jit-migrations-'));
  tempDirs.push(dir);
  for (const [name, sql] of Object.entries(scripts)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

describe('applyMigrations with the project migrations', () => {
  it('applies every migration folder and creates the tables', async () => {
    const expected = (await readMigrations(MIGRATIONS_DIR)).map((m) => m.name);
    expect(expected).toContain('20261123000000_init');

    const { applied } = await applyMigrations(db.url);

    expect(applied).toEqual(expected);
    for (const table of BOT_TABLES) expect(await tableExists(table)).toBe(true);
    const rows = await trackingRows();
    expect(rows.map((row) => row.migration_name)).toEqual(expected);
    for (const row of rows) {
      expect(row).toMatchObject({ rolled_back_at: null, applied_steps_count: 1, logs: null });
      expect(row.finished_at).toBeInstanceOf(Date);
    }
  });

  it('applies nothing the second time', async () => {
    await applyMigrations(db.url);

    const second = await applyMigrations(db.url);

    expect(second.applied).toEqual([]);
    const rows = await trackingRows();
    expect(new Set(rows.map((row) => row.migration_name)).size).toBe(rows.length);
  });

  it('records the checksum as the SHA-256 of migration.sql, as Prisma does', async () => {
    await applyMigrations(db.url);

    for (const row of await trackingRows()) {
      const file = await readFile(join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
    }
  });

  it('creates the tracking table with the column types Prisma uses', async () => {
    await applyMigrations(db.url);

    const columns = await query<{ column_name: string; type: string; is_nullable: string }>(
      `SELECT column_name, format_type(atttypid, atttypmod) AS type, is_nullable
         FROM information_schema.columns
         JOIN pg_attribute ON attrelid = '"_prisma_migrations"'::regclass AND attname = column_name
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => [c.column_name, c.type, c.is_nullable])).toEqual([
      ['id', 'character varying(36)', 'NO'],
      ['checksum', 'character varying(64)', 'NO'],
      ['finished_at', 'timestamp with time zone', 'YES'],
      ['migration_name', 'character varying(255)', 'NO'],
      ['logs', 'text', 'YES'],
      ['rolled_back_at', 'timestamp with time zone', 'YES'],
      ['started_at', 'timestamp with time zone', 'NO'],
      ['applied_steps_count', 'integer', 'NO'],
    ]);
  });
});

describe('applyMigrations refuses a history that differs from the files', () => {
  it('refuses when an applied migration was edited, naming it', async () => {
    const dir = await writeMigrations({ '20260101000000_first': 'CREATE TABLE "first" (id int);' });
    await applyMigrations(db.url, { migrationsDir: dir });
    await writeFile(join(dir, '20260101000000_first', 'migration.sql'), 'CREATE TABLE "x" (id int);');
    await mkdir(join(dir, '20260102000000_second'));
    await writeFile(join(dir, '20260102000000_second', 'migration.sql'), 'CREATE TABLE "second" ();');

    await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(
      /migration 20260101000000_first was edited/,
    );
    expect(await tableExists('second')).toBe(false);
  });

  it('accepts the same file with Windows line endings, like Prisma', async () => {
    const sql = 'CREATE TABLE "first" (\n  id int\n);\n';
    const dir = await writeMigrations({ '20260101000000_first': sql });
    await applyMigrations(db.url, { migrationsDir: dir });
    await writeFile(join(dir, '20260101000000_first', 'migration.sql'), sql.replaceAll('\n', '\r\n'));

    await expect(applyMigrations(db.url, { migrationsDir: dir })).resolves.toEqual({ applied: [] });
  });

  it('refuses when an applied migration folder is missing, naming it', async () => {
    const dir = await writeMigrations({ '20260101000000_gone': 'CREATE TABLE "gone" (id int);' });
    await applyMigrations(db.url, { migrationsDir: dir });
    await rm(join(dir, '20260101000000_gone'), { recursive: true });

    await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(
      /migration 20260101000000_gone is applied to the database but missing/,
    );
  });

  it('refuses while a migration is recorded as failed, naming it', async () => {
    const dir = await writeMigrations({ '20260101000000_ok': 'CREATE TABLE "ok" (id int);' });
    await applyMigrations(db.url, { migrationsDir: dir });
    await query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name)
       VALUES ('00000000-0000-4000-8000-000000000000', 'x', '20260101000000_ok')`,
    );

    await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(
      /migration 20260101000000_ok started but never finished/,
    );
  });

  it('ignores rows marked rolled back and applies the migration again', async () => {
    await applyMigrations(db.url, { migrationsDir: await writeMigrations({}) });
    const dir = await writeMigrations({ '20260101000000_retry': 'CREATE TABLE "retry" (id int);' });
    await query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, rolled_back_at)
       VALUES ('00000000-0000-4000-8000-000000000001', 'x', '20260101000000_retry', now())`,
    );

    const { applied } = await applyMigrations(db.url, { migrationsDir: dir });

    expect(applied).toEqual(['20260101000000_retry']);
    expect(await tableExists('retry')).toBe(true);
  });
});

describe('applyMigrations when a migration fails', () => {
  it('rolls the failing migration back completely and names it', async () => {
    const dir = await writeMigrations({
      '20260101000000_ok': 'CREATE TABLE "ok" (id int);',
      '20260102000000_broken':
        'CREATE TABLE "half_done" (id int);\nINSERT INTO "half_done" VALUES (1);\nSELECT 1 / 0;',
      '20260103000000_after': 'CREATE TABLE "after" (id int);',
    });

    await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow(
      /migration 20260102000000_broken failed: division by zero/,
    );

    expect(await tableExists('ok')).toBe(true);
    expect(await tableExists('half_done')).toBe(false);
    expect(await tableExists('after')).toBe(false);
    const rows = await trackingRows();
    expect(rows.map((row) => row.migration_name)).toEqual(['20260101000000_ok']);
  });

  it('applies the fixed migration on the next run', async () => {
    const dir = await writeMigrations({ '20260102000000_broken': 'SELECT 1 / 0;' });
    await expect(applyMigrations(db.url, { migrationsDir: dir })).rejects.toThrow();
    await writeFile(join(dir, '20260102000000_broken', 'migration.sql'), 'CREATE TABLE "t" ();');

    const { applied } = await applyMigrations(db.url, { migrationsDir: dir });

    expect(applied).toEqual(['20260102000000_broken']);
  });
});

describe('applyMigrations run by two replicas at once', () => {
  it('applies each migration exactly once and both calls succeed', async () => {
    const dir = await writeMigrations({
      // The sleep keeps the first runner busy while the second one arrives.
      '20260101000000_slow': 'SELECT pg_sleep(0.3);\nCREATE TABLE "slow" (id int);',
      '20260102000000_next': 'CREATE TABLE "next" (id int);',
    });
    const logged: string[] = [];
    const logger = { info: (_obj: object, msg?: string) => void logged.push(msg ?? '') };

    const results = await Promise.all([
      applyMigrations(db.url, { migrationsDir: dir, logger }),
      applyMigrations(db.url, { migrationsDir: dir, logger }),
    ]);

    const applied = results.flatMap((result) => result.applied).sort();
    expect(applied).toEqual(['20260101000000_slow', '20260102000000_next']);
    const counts = await query<{ migration_name: string; n: number }>(
      `SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY 1 ORDER BY 1`,
    );
    expect(counts).toEqual([
      { migration_name: '20260101000000_slow', n: 1 },
      { migration_name: '20260102000000_next', n: 1 },
    ]);
    expect(logged).toContain('waiting for another migration runner');
  });
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(databaseUrl: string | undefined): Promise<CliResult> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  if (databaseUrl !== undefined) env.DATABASE_URL = databaseUrl;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/db/migrate-cli.ts'], {
    cwd: REPO_ROOT,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('migrate CLI', () => {
  it('fails with one clear message when DATABASE_URL is missing', async () => {
    const result = await runCli(undefined);

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/DATABASE_URL is not set/);
  });

  it('prints each applied migration, then that the database is up to date', async () => {
    const first = await runCli(db.url);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('applied 20261123000000_init\n');

    const second = await runCli(db.url);
    expect(second).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
  });

  it('exits 1 naming the migration when the database refuses it', async () => {
    await applyMigrations(db.url);
    await query(`UPDATE "_prisma_migrations" SET checksum = 'edited'`);

    const result = await runCli(db.url);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/migration 20261123000000_init was edited/);
  });
});
