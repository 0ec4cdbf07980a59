import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { catalogQueriesUnnamed, catalogQuery } from '../../src/providers/postgres-sessions.js';

// The provider's catalog queries are named (prepared once per connection) unless its URL says the
// target sits behind PgBouncer; checked on real connections of the local PostgreSQL.
const GRANTER_URL = 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit';
const pools: pg.Pool[] = [];

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
});

async function preparedAfterOneQuery(unnamed: boolean): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: GRANTER_URL, max: 1 });
  pools.push(pool);
  if (unnamed) catalogQueriesUnnamed(pool);
  const client = await pool.connect();
  try {
    await client.query(
      catalogQuery(client, 'test_count', 'SELECT count(*) FROM pg_roles WHERE rolname = $1', ['x']),
    );
    const { rows } = await client.query<{ name: string }>('SELECT name FROM pg_prepared_statements');
    return rows.map((row) => row.name);
  } finally {
    client.release();
  }
}

describe('catalog queries', () => {
  it('are prepared on the connection', async () => {
    expect(await preparedAfterOneQuery(false)).toEqual(['jit_test_count']);
  });

  it('run unnamed on a pool behind PgBouncer', async () => {
    expect(await preparedAfterOneQuery(true)).toEqual([]);
  });
});
