import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import { createPostgresProvider, postgresProviderConfigSchema } from '../../src/providers/postgres.js';

/**
 * Logins the grant could not be taken back from, or should never go to, on the local PostgreSQL:
 * refused before anything is granted, by `checkIdentity` (request time) and by `grant` itself.
 * And a revoke ends the sessions of whoever could reach the role through the login.
 */

const ADMIN_URL = 'postgresql://jit:jit@127.0.0.1:5432/jit';
const GRANTER_URL = 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit';
const suffix = randomBytes(4).toString('hex');
const role = `ident_write_${suffix}`;
const names = {
  person: `person_${suffix}`,
  group: `group_${suffix}`,
  superuser: `super_${suffix}`,
  creator: `creator_${suffix}`,
  shared: `shared_${suffix}`,
  sharer: `sharer_${suffix}`,
  service: `service_${suffix}`,
  mallory: `mallory_${suffix}`,
};
const password = `pw_${suffix}`;
const id = pg.escapeIdentifier;

let admin: pg.Client;
let provider: Provider;

function target(identity: string): GrantTarget {
  return {
    requestId: `req_${suffix}`,
    identity,
    grant: { role },
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

async function membersOf(group: string): Promise<string[]> {
  const { rows } = await admin.query<{ rolname: string }>(
    `SELECT u.rolname FROM pg_auth_members m
       JOIN pg_roles r ON r.oid = m.roleid
       JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 ORDER BY u.rolname`,
    [group],
  );
  return rows.map((row) => row.rolname);
}

/** A session logged in as `user`, and a promise that settles when the server ends it. */
async function sessionAs(user: string) {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, database: 'jit', user, password });
  const ended = new Promise<void>((resolve) => {
    client.on('error', () => resolve());
    client.on('end', () => resolve());
  });
  await client.connect();
  return { client, ended };
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const pw = pg.escapeLiteral(password);
  await admin.query(`CREATE ROLE ${id(role)} NOLOGIN`);
  await admin.query(`GRANT ${id(role)} TO jit_granter WITH ADMIN OPTION`);
  await admin.query(`CREATE ROLE ${id(names.person)} LOGIN PASSWORD ${pw}`);
  await admin.query(`CREATE ROLE ${id(names.group)} NOLOGIN`);
  await admin.query(`CREATE ROLE ${id(names.superuser)} LOGIN SUPERUSER PASSWORD ${pw}`);
  await admin.query(`CREATE ROLE ${id(names.creator)} LOGIN CREATEROLE PASSWORD ${pw}`);
  await admin.query(`CREATE ROLE ${id(names.shared)} LOGIN PASSWORD ${pw}`);
  await admin.query(`CREATE ROLE ${id(names.sharer)} LOGIN PASSWORD ${pw}`);
  await admin.query(`GRANT ${id(names.shared)} TO ${id(names.sharer)}`);
  await admin.query(`CREATE ROLE ${id(names.service)} LOGIN PASSWORD ${pw}`);
  await admin.query(`CREATE ROLE ${id(names.mallory)} LOGIN PASSWORD ${pw}`);
  provider = createPostgresProvider(
    { url: GRANTER_URL, protectedLogins: [names.service] },
    { connectTimeoutMs: 2_000 },
  );
});

afterAll(async () => {
  await provider?.close();
  if (!admin) return;
  for (const name of [...Object.values(names), role]) await admin.query(`DROP ROLE IF EXISTS ${id(name)}`);
  await admin.end();
});

describe('postgres provider: logins it will not grant to', () => {
  it.each([
    ['a NOLOGIN group role', names.group, /cannot log in \(NOLOGIN\)/],
    ['a superuser', names.superuser, /is a superuser/],
    ['a login with CREATEROLE', names.creator, /has CREATEROLE/],
    ['a login with members of its own', names.shared, /has 1 member role\(s\) that could SET ROLE/],
    ['a protected login', names.service, /is protected: the policy file lists it in protectedLogins/],
    ["the provider's own login", 'jit_granter', /is the provider's own login/],
    ['a login that does not exist', `ghost_${suffix}`, /does not exist/],
  ])('refuses %s at request time and at grant time, and grants nothing', async (_, login, reason) => {
    await expect(provider.checkIdentity?.(target(login))).rejects.toBeInstanceOf(InvalidInput);
    await expect(provider.checkIdentity?.(target(login))).rejects.toThrow(reason);
    await expect(provider.grant(target(login))).rejects.toBeInstanceOf(InvalidInput);
    await expect(provider.grant(target(login))).rejects.toThrow(reason);
    expect(await membersOf(role)).toEqual(['jit_granter']);
  });

  it('accepts a plain login, and grants to it', async () => {
    await expect(provider.checkIdentity?.(target(names.person))).resolves.toBeUndefined();
    await provider.grant(target(names.person));
    expect(await membersOf(role)).toContain(names.person);
    await provider.revoke(target(names.person));
    expect(await membersOf(role)).not.toContain(names.person);
  });

  it('refuses at grant time a login that became a superuser after it was checked', async () => {
    await expect(provider.checkIdentity?.(target(names.mallory))).resolves.toBeUndefined();
    await admin.query(`ALTER ROLE ${id(names.mallory)} SUPERUSER`);
    try {
      await expect(provider.grant(target(names.mallory))).rejects.toThrow(/is a superuser/);
      expect(await membersOf(role)).not.toContain(names.mallory);
    } finally {
      await admin.query(`ALTER ROLE ${id(names.mallory)} NOSUPERUSER`);
    }
  });

  it('reads protectedLogins from the provider block', () => {
    const block = { type: 'postgres', url: 'postgres://x', protectedLogins: ['replicator'] };
    expect(postgresProviderConfigSchema.parse(block).protectedLogins).toEqual(['replicator']);
    expect(postgresProviderConfigSchema.safeParse({ ...block, protectedLogins: ['no way'] }).success).toBe(
      false,
    );
  });
});

describe('postgres provider revoke and the members of a login', () => {
  it('ends the session of a member added during the grant who reached the role through the login', async () => {
    await provider.grant(target(names.person));
    // Someone makes mallory a member of the granted login; mallory goes through it to the role.
    await admin.query(`GRANT ${id(names.person)} TO ${id(names.mallory)}`);
    const through = await sessionAs(names.mallory);
    await through.client.query(`SET ROLE ${id(names.person)}`);
    await through.client.query(`SET ROLE ${id(role)}`);
    // A session of an unrelated login is left alone.
    const bystander = await sessionAs(names.sharer);
    try {
      await provider.revoke(target(names.person));

      expect(await membersOf(role)).not.toContain(names.person);
      await expect(through.client.query('SELECT current_user')).rejects.toThrow();
      await through.ended;
      const { rows } = await bystander.client.query<{ user: string }>('SELECT current_user AS user');
      expect(rows[0]?.user).toBe(names.sharer);
    } finally {
      await through.client.end().catch(() => {});
      await bystander.client.end().catch(() => {});
      await admin.query(`REVOKE ${id(names.person)} FROM ${id(names.mallory)}`);
    }
  });
});
