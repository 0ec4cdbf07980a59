import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import { type MysqlFixture, mysqlFixture, mysqlGranterUrl } from '../support/mysql.js';

/**
 * `jit policy check --probe` against the real targets: it says which identity and objects a
 * grant would touch, and the targets are the same afterwards.
 */

const suffix = randomBytes(4).toString('hex');
const pgRole = `probe_read_${suffix}`;
const pgLogin = `probe_alice_${suffix}`;
let admin: pg.Client;
let db: MysqlFixture;
let mysqlRole: string;
let mysqlUser: string;
let dir: string;
let file: string;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: 'postgresql://jit:jit@127.0.0.1:5432/jit' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${pgRole} NOLOGIN`);
  await admin.query(`CREATE ROLE ${pgLogin} LOGIN`);
  await admin.query(`GRANT ${pgRole} TO jit_granter WITH ADMIN OPTION`);
  db = await mysqlFixture();
  mysqlRole = await db.role('probe_analyst');
  mysqlUser = (await db.user('probe_alice')).user;
  dir = await mkdtemp(join(tmpdir(), 'jit-probe-'));
  file = join(dir, 'jit.config.yaml');
  await writeFile(
    file,
    `securityChannel: C0SECURITY
admins: { users: [U0SEC1] }
providers:
  proddb:
    type: postgres
    url: postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit
    identities: { U0ALICE: ${pgLogin} }
  analytics:
    type: mysql
    url: ${mysqlGranterUrl()}
    identities: { U0ALICE: ${mysqlUser} }
resources:
  db-read:
    description: Read the database
    provider: proddb
    grant: { role: ${pgRole} }
    duration: { default: 1h, max: 4h }
    approvals: [{ from: { users: [U0BOB] } }]
  analytics-read:
    description: Read the warehouse
    provider: analytics
    grant: { role: ${mysqlRole} }
    duration: { default: 1h, max: 4h }
    approvals: [{ from: { users: [U0BOB] } }]
`,
  );
});
afterAll(async () => {
  await admin?.query(`DROP ROLE IF EXISTS ${pgLogin}`);
  await admin?.query(`DROP ROLE IF EXISTS ${pgRole}`);
  await admin?.end();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function probe(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), env: {} };
  const code = await runCli(
    ['policy', 'check', '--config', file, '--user', 'U0ALICE', '--probe', ...args],
    io,
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function pgMember(): Promise<boolean> {
  const { rows } = await admin.query(
    `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 AND u.rolname = $2`,
    [pgRole, pgLogin],
  );
  return rows.length > 0;
}

describe('jit policy check --probe', () => {
  it('tells which PostgreSQL login and role a grant would touch, and grants nothing', async () => {
    const run = await probe('--resource', 'db-read');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain('Decision: HUMAN APPROVAL');
    expect(run.out).toContain(`Probe:    postgres provider "proddb", identity ${pgLogin}`);
    expect(run.out).toContain(`role "${pgRole}": would be granted`);
    expect(await pgMember()).toBe(false);
  });

  it('tells the same for a MariaDB account and role', async () => {
    const run = await probe('--resource', 'analytics-read');
    expect(run.code).toBe(0);
    expect(run.out).toContain(`MariaDB account '${mysqlUser}'@'%': exists`);
    expect(run.out).toContain(`role \`${mysqlRole}\`: would be granted`);
    expect(await db.holds(mysqlUser, mysqlRole)).toBe(false);
  });

  it('reports an identity the provider refuses, and one it cannot find, as problems', async () => {
    const own = await probe('--resource', 'db-read', '--identity', 'jit_granter');
    expect(own.code).toBe(1);
    expect(own.err).toContain('probe refused: database login "jit_granter" is the provider\'s own login');
    const ghost = await probe('--resource', 'analytics-read', '--identity', `ghost_${suffix}`);
    expect(ghost.code).toBe(1);
    expect(ghost.err).toContain('does not exist');
  });

  it('asks for --identity when the provider does not map the user', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), env: {} };
    const code = await runCli(
      ['policy', 'check', '--config', file, '--user', 'U0CAROL', '--resource', 'db-read', '--probe'],
      io,
    );
    expect(code).toBe(1);
    expect(err.join('\n')).toContain('--probe needs --identity');
  });
});
