import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditInput, appendAuditEvents, hashAuditEvent } from '../../src/audit/chain.js';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

/** `jit audit verify` and `jit audit export` against a real database, as the security team runs them. */

let db: TestDatabase;
const requestOfAlice = 'JIT-AL1CE0';
const requestOfBob = 'JIT-B0B000';

beforeAll(async () => {
  db = await createTestDatabase();
  for (const [id, requesterId] of [
    [requestOfAlice, 'UALICE01'],
    [requestOfBob, 'UBOB0001'],
  ] as const) {
    await db.prisma.accessRequest.create({
      data: {
        id,
        requesterId,
        resource: 'prod-db-write',
        reason: 'INC-42',
        durationSec: 3600,
        identity: 'x',
      },
    });
  }
  const day = (d: number) => new Date(Date.UTC(2026, 10, d, 9, 30));
  const append = (at: Date, ...events: AuditInput[]) =>
    db.prisma.$transaction((tx) => appendAuditEvents(tx, events, at));
  await append(day(1), {
    requestId: requestOfAlice,
    actor: 'UALICE01',
    action: 'request.created',
    toState: 'pending',
    details: { reason: 'INC-42, "the" failing\nmigration' },
  });
  await append(day(2), {
    requestId: requestOfAlice,
    actor: 'UBOB0001',
    action: 'request.approved',
    fromState: 'pending',
    toState: 'approved',
  });
  await append(day(3), {
    requestId: requestOfBob,
    actor: 'UBOB0001',
    action: 'request.created',
    toState: 'pending',
  });
  await append(day(4), { actor: 'hook:recall', action: 'hook.rejected', details: { status: 401 } });
});
afterAll(async () => {
  await db?.drop();
});

function captured(env: Record<string, string | undefined>) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), env };
  return { io, out, err };
}

async function jit(argv: string[], env: Record<string, string | undefined> = { DATABASE_URL: db.url }) {
  const { io, out, err } = captured(env);
  const code = await runCli(argv, io);
  return { code, out, err };
}

const exported = async (...args: string[]) => {
  const { code, out, err } = await jit(['audit', 'export', ...args]);
  expect({ code, err }).toEqual({ code: 0, err: [] });
  return out.map((line) => JSON.parse(line) as Record<string, unknown>);
};

describe('jit audit verify', () => {
  it('reports OK with the event count, exit 0', async () => {
    const { code, out, err } = await jit(['audit', 'verify']);
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^OK: 4 audit events, every link intact; last event #4, hash [0-9a-f]{64}$/);
  });

  it('reports the first broken event, exit 1', async () => {
    const other = await createTestDatabase();
    try {
      const ids = await other.prisma.$transaction((tx) =>
        appendAuditEvents(
          tx,
          [1, 2, 3].map((n) => ({ actor: 'USEC0001', action: 'freeze.created', details: { n } })),
          new Date(),
        ),
      );
      const client = new Client({ connectionString: other.url });
      await client.connect();
      await client.query('BEGIN; SET LOCAL session_replication_role = replica');
      await client.query(`UPDATE audit_events SET actor = 'UEVE0001' WHERE id = $1`, [ids[1]]);
      await client.query('COMMIT');
      await client.end();

      const { code, out } = await jit(['audit', 'verify'], { DATABASE_URL: other.url });

      expect(code).toBe(1);
      expect(out).toEqual([
        `BROKEN at event #${ids[1]}: its contents do not match its hash (the event was edited); the 1 event before it is intact`,
      ]);
    } finally {
      await other.drop();
    }
  });

  it('runs as the `jit` command in its own process', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, ['bin/jit.mjs', 'audit', 'verify'], {
      env: { ...process.env, DATABASE_URL: db.url },
    });
    expect(stdout).toMatch(/^OK: 4 audit events/);

    const failed = await run(process.execPath, ['bin/jit.mjs', 'audit', 'verify'], {
      env: { ...process.env, DATABASE_URL: '' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('DATABASE_URL is required') });
  });
});

describe('jit audit export', () => {
  it('writes every event as one JSON object per line, oldest first, hashes recomputable', async () => {
    const events = await exported();
    expect(events.map((e) => e.action)).toEqual([
      'request.created',
      'request.approved',
      'request.created',
      'hook.rejected',
    ]);
    expect(Object.keys(events[0] ?? {})).toEqual([
      'id',
      'at',
      'requestId',
      'actor',
      'action',
      'fromState',
      'toState',
      'details',
      'prevHash',
      'hash',
    ]);
    expect(events[0]).toMatchObject({
      id: '1',
      at: '2026-11-01T09:30:00.000Z',
      requestId: requestOfAlice,
      fromState: null,
      details: { reason: 'INC-42, "the" failing\nmigration' },
    });
    // What an outside reader does with an export: recompute each link from the line alone.
    let prev = '0'.repeat(64);
    for (const e of events) {
      expect(e.prevHash).toBe(prev);
      const fields = { ...e, at: new Date(String(e.at)) } as unknown as Parameters<typeof hashAuditEvent>[1];
      expect(hashAuditEvent(prev, fields)).toBe(e.hash);
      prev = String(e.hash);
    }
  });

  it('filters by --since (a date, or a date-time in UTC unless it has an offset)', async () => {
    expect((await exported('--since', '2026-11-03')).map((e) => e.id)).toEqual(['3', '4']);
    expect((await exported('--since', '2026-11-02T09:30')).map((e) => e.id)).toEqual(['2', '3', '4']);
    expect((await exported('--since=2026-11-02T10:30+02:00')).map((e) => e.id)).toEqual(['2', '3', '4']);
    expect(await exported('--since', '2027-01-01')).toEqual([]);
  });

  it('filters by --user: what they did and everything about their requests', async () => {
    expect((await exported('--user', 'UALICE01')).map((e) => e.id)).toEqual(['1', '2']);
    expect((await exported('--user', 'UBOB0001')).map((e) => e.id)).toEqual(['2', '3']);
    expect((await exported('--user', 'hook:recall', '--since', '2026-11-01')).map((e) => e.id)).toEqual([
      '4',
    ]);
    expect(await exported('--user', 'UNOBODY1')).toEqual([]);
  });

  it('writes CSV with a header, RFC 4180 quoting and details as JSON text', async () => {
    const { code, out } = await jit(['audit', 'export', '--format', 'csv', '--user', 'UALICE01']);
    expect(code).toBe(0);
    const [alice1, alice2] = await exported('--user', 'UALICE01');
    expect(out[0]).toBe('id,at,requestId,actor,action,fromState,toState,details,prevHash,hash');
    // The reason holds a comma, quotes and a line break: one quoted field, quotes doubled.
    expect(out[1]).toBe(
      `1,2026-11-01T09:30:00.000Z,${requestOfAlice},UALICE01,request.created,,pending,` +
        `"{""reason"":""INC-42, \\""the\\"" failing\\nmigration""}",${alice1?.prevHash},${alice1?.hash}`,
    );
    expect(out[2]).toBe(
      `2,2026-11-02T09:30:00.000Z,${requestOfAlice},UBOB0001,request.approved,pending,approved,{},${alice2?.prevHash},${alice2?.hash}`,
    );
    expect(out).toHaveLength(3);
  });

  it.each([
    [['--format', 'xml'], '--format must be jsonl or csv'],
    [['--since', 'yesterday'], '--since must be an ISO date or date-time'],
    [['--since', '2026-13-45'], '--since is not a valid date'],
    [['--since', '2026-02-30'], '--since is not a valid date'],
    [['--since', '2026-11-01T25:00'], '--since is not a valid date-time'],
    [['--user', 'U1; DROP TABLE audit_events'], '--user must be a Slack user id'],
    [['--verbose'], "Unknown option '--verbose'"],
    [['extra'], 'Unexpected argument'],
  ])('refuses %j with a clear message, exit 2, nothing written', async (args, message) => {
    const { code, out, err } = await jit(['audit', 'export', ...args]);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain(`jit audit export: ${message}`);
  });
});

describe('DATABASE_URL', () => {
  it('is required, with a message naming it', async () => {
    for (const env of [{}, { DATABASE_URL: '' }]) {
      const { code, err } = await jit(['audit', 'verify'], env);
      expect(code).toBe(2);
      expect(err).toEqual(['jit audit verify: DATABASE_URL is required (a postgresql:// URL)']);
    }
  });

  it('must be a PostgreSQL URL, and its value is never echoed', async () => {
    const { code, err } = await jit(['audit', 'export'], { DATABASE_URL: 'mysql://root:hunter2@db/jit' });
    expect(code).toBe(2);
    expect(err).toEqual(['jit audit export: DATABASE_URL must be a postgresql:// URL']);
  });

  it('names an unreachable database in one line, without its password, and writes no CSV header', async () => {
    const unreachable = { DATABASE_URL: 'postgresql://jit:s3cret-pw@127.0.0.1:9/jit' };
    expect(await jit(['audit', 'export', '--format', 'csv'], unreachable)).toMatchObject({
      code: 2,
      out: [],
    });

    const { code, out, err } = await jit(['audit', 'verify'], unreachable);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toBe("jit audit verify: Can't reach database server at 127.0.0.1:9");
    expect(err[0]).not.toContain('s3cret-pw');
  });
});
