import { randomBytes } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { Redis } from 'ioredis';
import { Client, escapeIdentifier } from 'pg';
import { TRANSACTION_OPTIONS } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { PrismaClient } from '../src/generated/prisma/client.js';

/**
 * PostgreSQL and Redis for the benchmarks: the same servers as the tests (scripts/services.sh),
 * but a database, roles and a BullMQ prefix of the run's own, dropped afterwards.
 */

/** A superuser; its database is only used to create and drop others, and roles. */
export const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://jit:jit@127.0.0.1:5432/jit';
/** The low-privilege login the PostgreSQL provider grants with, as in production. */
export const granterUrl =
  process.env.BENCH_GRANTER_URL ?? 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit';
export const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `prefix` + random lowercase hex: usable unquoted in SQL and as a BullMQ prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  url: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database with every migration applied. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = uniqueName('jit_bench_');
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${escapeIdentifier(name)}`));
  const url = databaseUrl(name);
  await applyMigrations(url);
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, max: 4 }),
    transactionOptions: TRANSACTION_OPTIONS,
  });
  return {
    url,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await withClient(adminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`),
      );
    },
  };
}

export interface BenchRoles {
  /** Roles handed out, one per resource; the granter holds ADMIN OPTION on each. */
  roles: string[];
  logins: string[];
  drop(): Promise<void>;
}

/** Creates `roleCount` grantable roles and `loginCount` logins, in a few statements. */
export async function createRoles(roleCount: number, loginCount: number): Promise<BenchRoles> {
  const tag = uniqueName('jb').slice(2);
  const roles = Array.from({ length: roleCount }, (_, i) => `jb_${tag}_role${i}`);
  const logins = Array.from({ length: loginCount }, (_, i) => `jb_${tag}_u${i}`);
  await withClient(adminUrl, async (client) => {
    for (const chunk of chunks(roles, 500)) {
      await client.query(chunk.map((role) => `CREATE ROLE ${escapeIdentifier(role)} NOLOGIN;`).join('\n'));
      await client.query(`GRANT ${chunk.map(escapeIdentifier).join(', ')} TO jit_granter WITH ADMIN OPTION`);
    }
    for (const chunk of chunks(logins, 500)) {
      await client.query(
        chunk.map((login) => `CREATE ROLE ${escapeIdentifier(login)} LOGIN PASSWORD 'bench';`).join('\n'),
      );
    }
  });
  return {
    roles,
    logins,
    async drop() {
      await withClient(adminUrl, async (client) => {
        for (const chunk of chunks([...logins, ...roles], 500)) {
          await client.query(`DROP ROLE IF EXISTS ${chunk.map(escapeIdentifier).join(', ')}`);
        }
      });
    },
  };
}

/** Grants each role to its logins as the provider's login does (so REVOKE by it takes them back). */
export async function grantMemberships(memberships: ReadonlyMap<string, readonly string[]>): Promise<void> {
  await withClient(granterUrl, async (client) => {
    for (const [role, logins] of memberships) {
      for (const chunk of chunks(logins, 1_000)) {
        await client.query(`GRANT ${escapeIdentifier(role)} TO ${chunk.map(escapeIdentifier).join(', ')}`);
      }
    }
  });
}

/** How many of the given logins hold any of the given roles right now. */
export async function countMemberships(roles: readonly string[], logins: readonly string[]): Promise<number> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = ANY($1::text[]) AND u.rolname = ANY($2::text[])`,
      [roles, logins],
    );
    return rows[0]?.n ?? 0;
  });
}

/** Deletes every Redis key under a BullMQ prefix. */
export async function dropRedisPrefix(prefix: string, url = redisUrl): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
