import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import { createPostgresProvider } from '../../src/providers/postgres.js';
import { perRequestLoginName, scramVerifier } from '../../src/providers/postgres-logins.js';

// Per-request logins against the local PostgreSQL from scripts/services.sh: the provider logs in
// as a login with CREATEROLE made here, and every login it makes is tried for real.
const ADMIN_URL = 'postgresql://jit:jit@127.0.0.1:5432/jit';
const suffix = randomBytes(4).toString('hex');
const role = `reports_${suffix}`;
const maker = `maker_${suffix}`;
const makerPassword = `pw_${suffix}`;
const id = pg.escapeIdentifier;

let admin: pg.Client;
let provider: Provider;
let requestNumber = 0;

function target(identity = `carol_${suffix}`, expiresAt = new Date(Date.now() + 3_600_000)): GrantTarget {
  requestNumber += 1;
  return {
    requestId: `JIT-${suffix.slice(0, 4).toUpperCase()}${requestNumber}`,
    identity,
    grant: { role, login: 'per-request' },
    expiresAt,
  };
}

async function roleRow(login: string) {
  const { rows } = await admin.query<{
    canlogin: boolean;
    until: Date | null;
    member: boolean;
    mark: string;
  }>(
    `SELECT r.rolcanlogin AS canlogin, r.rolvaliduntil AS until,
            pg_has_role(r.oid, $2, 'MEMBER') AS member, shobj_description(r.oid, 'pg_authid') AS mark
       FROM pg_roles r WHERE r.rolname = $1`,
    [login, role],
  );
  return rows[0] ?? null;
}

/** Logs in over TCP with SCRAM, as a person would. */
async function connectAs(user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, database: 'jit', user, password });
  await client.connect();
  return client;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE ROLE ${id(role)} NOLOGIN`);
  await admin.query(`CREATE ROLE ${id(maker)} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(makerPassword)}`);
  await admin.query(`GRANT ${id(role)} TO ${id(maker)} WITH ADMIN OPTION`);
  await admin.query(`GRANT pg_signal_backend TO ${id(maker)}`);
  provider = createPostgresProvider(
    { url: `postgresql://${maker}:${makerPassword}@127.0.0.1:5432/jit` },
    { connectTimeoutMs: 2_000 },
  );
});

afterAll(async () => {
  await provider?.close();
  if (!admin) return;
  const { rows } = await admin.query<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE rolname LIKE '%' || $1 || '%' ORDER BY rolname = $2",
    [suffix, maker],
  );
  for (const { rolname } of rows) {
    await admin.query(`DROP OWNED BY ${id(rolname)}`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${id(rolname)}`);
  }
  await admin.end();
});

describe('postgres per-request logins', () => {
  it('names the login after the identity and the request, within 63 characters', () => {
    expect(perRequestLoginName('carol', 'JIT-7K2MQ9')).toBe('carol_jit_7k2mq9');
    expect(perRequestLoginName('x'.repeat(63), 'JIT-7K2MQ9')).toHaveLength(63);
  });

  it('makes a marked login with VALID UNTIL, member of the role, that has no password until one is issued', async () => {
    const grant = target();
    await provider.grant(grant);
    const login = provider.loginFor?.(grant) as string;
    const row = await roleRow(login);
    expect(row).toMatchObject({ canlogin: true, member: true });
    expect(row?.until?.getTime()).toBe(grant.expiresAt.getTime());
    expect(row?.mark).toBe(`jit-bot: request ${grant.requestId} until ${grant.expiresAt.toISOString()}`);
    await expect(connectAs(login, 'anything')).rejects.toThrow(/password authentication failed/);
    expect(await provider.verify(grant)).toBe(true);

    // Granting again (a retried job) changes nothing.
    await provider.grant(grant);
    expect(await roleRow(login)).toMatchObject({ canlogin: true, member: true });
  });

  it('issues a password the login works with, and each issue replaces the one before', async () => {
    const grant = target();
    await provider.grant(grant);
    const first = await provider.issueCredential?.(grant);
    expect(first?.login).toBe(provider.loginFor?.(grant));
    expect(first?.validUntil.getTime()).toBe(grant.expiresAt.getTime());
    const session = await connectAs(first?.login as string, first?.password as string);
    const { rows } = await session.query(`SELECT pg_has_role(current_user, $1, 'USAGE') AS usable`, [role]);
    expect(rows[0].usable).toBe(true);
    await session.end();

    const second = await provider.issueCredential?.(grant);
    expect(second?.password).not.toBe(first?.password);
    await expect(connectAs(first?.login as string, first?.password as string)).rejects.toThrow(
      /password authentication failed/,
    );
    await (await connectAs(second?.login as string, second?.password as string)).end();
  });

  it('is refused by PostgreSQL itself once VALID UNTIL has passed, with the bot doing nothing', async () => {
    const grant = target(`carol_${suffix}`, new Date(Date.now() + 60_000));
    await provider.grant(grant);
    const issued = await provider.issueCredential?.(grant);
    // As if the expiry came while the bot was down: move VALID UNTIL into the past by hand.
    await admin.query(`ALTER ROLE ${id(issued?.login as string)} VALID UNTIL '2000-01-01'`);
    await expect(connectAs(issued?.login as string, issued?.password as string)).rejects.toThrow(
      /password authentication failed/,
    );
  });

  it('moves VALID UNTIL and the mark on an extension', async () => {
    const grant = target();
    await provider.grant(grant);
    const later = new Date(grant.expiresAt.getTime() + 1_800_000);
    await provider.extend?.({ ...grant, expiresAt: later });
    const row = await roleRow(provider.loginFor?.(grant) as string);
    expect(row?.until?.getTime()).toBe(later.getTime());
    expect(row?.mark).toContain(later.toISOString());
  });

  it('revokes by ending its sessions and dropping it; revoking again succeeds', async () => {
    const grant = target();
    await provider.grant(grant);
    const issued = await provider.issueCredential?.(grant);
    const session = await connectAs(issued?.login as string, issued?.password as string);
    const ended = new Promise<Error>((resolve) => session.on('error', resolve));
    await provider.revoke(grant);
    expect(await roleRow(issued?.login as string)).toBeNull();
    expect((await ended).message).toMatch(/terminat/);
    expect(await provider.verify(grant)).toBe(false);
    await provider.revoke(grant);
  });

  it('leaves a login that owns objects NOLOGIN, without the role, and no longer marked as a grant', async () => {
    const grant = target();
    await provider.grant(grant);
    const login = provider.loginFor?.(grant) as string;
    const schema = `owned_${suffix}`;
    await admin.query(`CREATE SCHEMA ${id(schema)} AUTHORIZATION ${id(login)}`);
    await provider.revoke(grant);
    const row = await roleRow(login);
    expect(row).toMatchObject({ canlogin: false, member: false });
    expect(row?.mark).toMatch(/ended; kept because it owns objects/);
    expect((await provider.listManaged?.())?.map((m) => m.ref)).not.toContain(`login/${login}`);
    await admin.query(`DROP SCHEMA ${id(schema)}`);
  });

  it('never touches a role of the same name that it did not make', async () => {
    const grant = target();
    const login = provider.loginFor?.(grant) as string;
    await admin.query(`CREATE ROLE ${id(login)} LOGIN`);
    await expect(provider.grant(grant)).rejects.toThrow(InvalidInput);
    await expect(provider.revoke(grant)).rejects.toThrow(/is not the login made for/);
    expect(await roleRow(login)).toMatchObject({ canlogin: true, member: false });
  });

  it('lists marked logins for drift, and removes one by its ref', async () => {
    const grant = target();
    await provider.grant(grant);
    const login = provider.loginFor?.(grant) as string;
    const found = (await provider.listManaged?.())?.find((m) => m.ref === `login/${login}`);
    expect(found).toEqual({ requestId: grant.requestId, expiresAt: grant.expiresAt, ref: `login/${login}` });
    await provider.removeManaged?.(found as NonNullable<typeof found>);
    expect(await roleRow(login)).toBeNull();
  });

  it('does not list marked logins of roles it does not hand out (another bot on the cluster)', async () => {
    const grant = target();
    await provider.grant(grant);
    const login = provider.loginFor?.(grant) as string;
    const other = createPostgresProvider(
      { url: 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit' },
      { connectTimeoutMs: 2_000 },
    );
    try {
      expect((await other.listManaged?.())?.map((m) => m.ref)).not.toContain(`login/${login}`);
    } finally {
      await other.close();
    }
  });

  it('counts the sessions of the login made for the request', async () => {
    const grant = target();
    await provider.grant(grant);
    const issued = await provider.issueCredential?.(grant);
    expect(await provider.activeSessions?.(grant)).toBe(0);
    const session = await connectAs(issued?.login as string, issued?.password as string);
    expect(await provider.activeSessions?.(grant)).toBe(1);
    await session.end();
  });

  it('says what a grant would make, without making it', async () => {
    const grant = target();
    const lines = (await provider.probe?.(grant)) ?? [];
    expect(lines.join('\n')).toMatch(/would be created for this request/);
    expect(lines.join('\n')).toMatch(/has CREATEROLE/);
    expect(await roleRow(provider.loginFor?.(grant) as string)).toBeNull();
  });

  it('explains that per-request logins need CREATEROLE when the provider login lacks it', async () => {
    const plain = createPostgresProvider(
      { url: 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit' },
      { connectTimeoutMs: 2_000 },
    );
    try {
      await expect(plain.grant(target())).rejects.toThrow(/needs CREATEROLE/);
    } finally {
      await plain.close();
    }
  });

  it('stores a SCRAM verifier PostgreSQL accepts as such', () => {
    const verifier = scramVerifier('secret', Buffer.alloc(16, 1), 4096);
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(verifier).not.toContain('secret');
  });
});
