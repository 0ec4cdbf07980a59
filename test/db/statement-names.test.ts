import { describe, expect, it } from 'vitest';
import { behindPgBouncer, statementNamer } from '../../src/db/statement-names.js';

const url = 'postgresql://jit:jit@db.internal:5432/jit';
const query = (sql: string, params = 1) => ({ sql, args: Array.from({ length: params }, () => 1) });

describe('statementNamer', () => {
  it('names each text once and the same text the same way', () => {
    const name = statementNamer(url);
    if (!name) throw new Error('expected a namer');
    const first = name(query('SELECT $1'));
    expect(first).toMatch(/^jit_\d+$/);
    expect(name(query('SELECT $1'))).toBe(first);
    expect(name(query('SELECT $1 + 1'))).not.toBe(first);
  });

  it('runs texts past its limit, and statements with many parameters, unnamed', () => {
    const name = statementNamer(url, { statements: 2, parameters: 3 });
    if (!name) throw new Error('expected a namer');
    const kept = [name(query('SELECT 1')), name(query('SELECT 2'))];
    expect(name(query('SELECT 3'))).toBe('');
    expect([name(query('SELECT 1')), name(query('SELECT 2'))]).toEqual(kept);
    expect(name(query('INSERT INTO t VALUES ($1), ($2), ($3), ($4)', 4))).toBe('');
  });

  it('names nothing behind PgBouncer (?pgbouncer=true)', () => {
    expect(statementNamer(`${url}?pgbouncer=true`)).toBeUndefined();
    expect(behindPgBouncer(`${url}?sslmode=require&pgbouncer=true`)).toBe(true);
    expect(behindPgBouncer(`${url}?pgbouncer=false`)).toBe(false);
    expect(behindPgBouncer('not a url')).toBe(false);
  });
});
