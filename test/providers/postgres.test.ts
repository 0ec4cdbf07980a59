import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput, ProviderUnavailable } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import {
  createPostgresProvider,
  postgresGrantSchema,
  postgresProviderConfigSchema,
} from '../../src/providers/postgres.js';
import { closedPort } from '../support/ports.js';

// Integration test against the local PostgreSQL from scripts/services.sh. Roles are cluster-wide,
// so every name carries a random suffix to keep parallel test files apart.
const ADMIN_URL = 'postgresql://jit:jit@127.0.0.1:5432/jit';
const GRANTER_URL = 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit';
const suffix = randomBytes(4).toString('hex');
const role = `prod_write_${suffix}`;
const ungrantable = `prod_admin_${suffix}`;
const alice = `alice_${suffix}`;
const bob = `bob_${suffix}`;
const alicePassword = `pw_${suffix}`;

let admin: pg.Client;
let provider: Provider;

function target(identity: string, grantedRole = role): GrantTarget {
  return {
    requestId: `req_${suffix}`,
    identity,
    grant: { role: grantedRole },
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

/** Asks the catalog directly, so the provider's own verify is not what is being trusted. */
async function isMember(login: string, group: string): Promise<boolean> {
  const { rows } = await admin.query(
    `SELECT 1 FROM pg_auth_members m
       JOIN pg_roles r ON r.oid = m.roleid
       JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 AND u.rolname = $2`,
    [group, login],
  );
  return rows.length > 0;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const id = pg.escapeIdentifier;
  await admin.query(`CREATE ROLE ${id(role)} NOLOGIN`);
  await admin.query(`CREATE ROLE ${id(ungrantable)} NOLOGIN`);
  await admin.query(`CREATE ROLE ${id(alice)} LOGIN PASSWORD ${pg.escapeLiteral(alicePassword)}`);
  await admin.query(`CREATE ROLE ${id(bob)} LOGIN PASSWORD ${pg.escapeLiteral(alicePassword)}`);
  await admin.query(`GRANT ${id(role)} TO jit_granter WITH ADMIN OPTION`);
  provider = createPostgresProvider({ url: GRANTER_URL }, { connectTimeoutMs: 2_000 });
});

afterAll(async () => {
  await provider?.close();
  if (!admin) return;
  const id = pg.escapeIdentifier;
  // Dropping a role ends its memberships, including jit_granter's ADMIN OPTION on it.
  for (const name of [alice, bob, role, ungrantable]) {
    await admin.query(`DROP ROLE IF EXISTS ${id(name)}`);
  }
  await admin.end();
});

describe('postgres provider grant', () => {
  it('makes the login a member of the role', async () => {
    await provider.grant(target(alice));
    expect(await isMember(alice, role)).toBe(true);
  });

  it('accepts granting a membership that already exists', async () => {
    await provider.grant(target(alice));
    await provider.grant(target(alice));
    expect(await isMember(alice, role)).toBe(true);
  });

  it('rejects a login that does not exist, naming it', async () => {
    const missing = `ghost_${suffix}`;
    const error = await provider.grant(target(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as Error).message).toContain(`login "${missing}" does not exist`);
  });

  it('rejects a role that does not exist, naming it', async () => {
    const missing = `no_such_role_${suffix}`;
    const error = await provider.grant(target(alice, missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as Error).message).toContain(`role "${missing}" does not exist`);
  });

  it('explains that ADMIN OPTION is needed on a role the granter may not hand out', async () => {
    const error = await provider.grant(target(alice, ungrantable)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as Error).message).toMatch(/ADMIN OPTION/);
    expect(await isMember(alice, ungrantable)).toBe(false);
  });

  it("refuses to change the provider's own login", async () => {
    await expect(provider.revoke(target('jit_granter'))).rejects.toBeInstanceOf(InvalidInput);
    expect(await isMember('jit_granter', role)).toBe(true);
  });
});

describe('postgres provider verify', () => {
  it('is true for a member and false otherwise', async () => {
    await provider.grant(target(alice));
    expect(await provider.verify(target(alice))).toBe(true);
    expect(await provider.verify(target(bob))).toBe(false);
    expect(await provider.verify(target(`ghost_${suffix}`))).toBe(false);
  });
});

describe('postgres provider revoke', () => {
  it('removes the membership and accepts revoking it again', async () => {
    await provider.grant(target(bob));
    await provider.revoke(target(bob));
    expect(await isMember(bob, role)).toBe(false);
    await provider.revoke(target(bob));
    expect(await isMember(bob, role)).toBe(false);
  });

  it('succeeds for a login that no longer exists', async () => {
    await expect(provider.revoke(target(`ghost_${suffix}`))).resolves.toBeUndefined();
  });

  it('ends the open sessions of the login, even one that switched to the role', async () => {
    await provider.grant(target(alice));
    const session = new pg.Client({
      host: '127.0.0.1',
      port: 5432,
      database: 'jit',
      user: alice,
      password: alicePassword,
    });
    const ended = new Promise<void>((resolve) => {
      session.on('error', () => resolve());
      session.on('end', () => resolve());
    });
    await session.connect();
    await session.query(`SET ROLE ${pg.escapeIdentifier(role)}`);

    await provider.revoke(target(alice));

    expect(await isMember(alice, role)).toBe(false);
    await expect(session.query('SELECT current_user')).rejects.toThrow();
    await ended;
    await session.end().catch(() => {});
  });
});

describe('postgres provider revokeAll', () => {
  it('revokes several logins in one go and ends their sessions', async () => {
    await provider.grant(target(alice));
    await provider.grant(target(bob));
    const session = new pg.Client({
      host: '127.0.0.1',
      port: 5432,
      database: 'jit',
      user: bob,
      password: alicePassword,
    });
    session.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => session.on('end', () => resolve()));
    await session.connect();

    await provider.revokeAll?.([target(alice), target(bob)]);

    expect([await isMember(alice, role), await isMember(bob, role)]).toEqual([false, false]);
    await ended;
    await provider.revokeAll?.([target(alice), target(bob)]);
    expect(await isMember(bob, role)).toBe(false);
  });

  it('fails as a whole when one login is gone, so the caller revokes one by one', async () => {
    await provider.grant(target(alice));
    await expect(provider.revokeAll?.([target(alice), target(`ghost_${suffix}`)])).rejects.toThrow();
    expect(await isMember(alice, role)).toBe(true);
    await provider.revoke(target(alice));
  });

  it("checks every name, and refuses the provider's own login", async () => {
    await expect(provider.revokeAll?.([target(alice), target('bad name')])).rejects.toBeInstanceOf(
      InvalidInput,
    );
    await expect(provider.revokeAll?.([target(alice), target('jit_granter')])).rejects.toBeInstanceOf(
      InvalidInput,
    );
  });
});

describe('postgres provider input checks', () => {
  // Pointed at a closed port: if any SQL were attempted the error would be ProviderUnavailable.
  let offline: Provider;
  beforeAll(async () => {
    offline = createPostgresProvider({
      url: `postgresql://jit_granter:jit_granter@127.0.0.1:${await closedPort()}/jit`,
    });
  });
  afterAll(async () => {
    await offline.close();
  });

  it.each([`ali"ce`, 'ali ce', "alice'; DROP ROLE jit; --", '', 'public', '1alice'])(
    'rejects identity %j before running any SQL',
    async (identity) => {
      for (const operation of [offline.grant, offline.revoke, offline.verify]) {
        await expect(operation(target(identity))).rejects.toBeInstanceOf(InvalidInput);
      }
    },
  );

  it('rejects a grant block whose role is not a plain name', async () => {
    await expect(offline.grant(target(alice, 'x" TO jit; --'))).rejects.toBeInstanceOf(InvalidInput);
    const error = await offline.grant({ ...target(alice), grant: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInput);
  });
});

describe('postgres provider unreachable server', () => {
  it('reports ProviderUnavailable without the password', async () => {
    const secret = `s3cret_${suffix}`;
    const unreachable = createPostgresProvider(
      { url: `postgresql://jit_granter:${secret}@127.0.0.1:${await closedPort()}/jit` },
      { connectTimeoutMs: 1_000 },
    );
    try {
      for (const operation of [unreachable.grant, unreachable.revoke, unreachable.verify]) {
        const error = await operation(target(alice)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ProviderUnavailable);
        expect((error as Error).message).not.toContain(secret);
        expect(String((error as Error).stack)).not.toContain(secret);
      }
    } finally {
      await unreachable.close();
    }
  });

  it('reports a wrong password as ProviderUnavailable without echoing it', async () => {
    const wrong = createPostgresProvider({
      url: `postgresql://jit_granter:wrong_${suffix}@127.0.0.1:5432/jit`,
    });
    try {
      const error = await wrong.verify(target(alice)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderUnavailable);
      expect((error as Error).message).not.toContain(`wrong_${suffix}`);
    } finally {
      await wrong.close();
    }
  });
});

describe('postgres schemas', () => {
  it('accept a provider block and a grant block from the policy file', () => {
    const config = postgresProviderConfigSchema.parse({
      type: 'postgres',
      url: 'postgresql://jit_granter:x@db/prod',
      identities: { U123: 'alice' },
    });
    expect(config.identities).toEqual({ U123: 'alice' });
    expect(postgresGrantSchema.parse({ role: 'prod_write' })).toEqual({ role: 'prod_write' });
  });

  it('reject unsafe names and an empty url', () => {
    expect(postgresGrantSchema.safeParse({ role: 'prod write' }).success).toBe(false);
    expect(postgresProviderConfigSchema.safeParse({ type: 'postgres', url: '' }).success).toBe(false);
    const badIdentity = { type: 'postgres', url: 'postgresql://x', identities: { U1: 'a"b' } };
    expect(postgresProviderConfigSchema.safeParse(badIdentity).success).toBe(false);
  });
});

describe('postgres provider activeSessions', () => {
  function sessionAs(login: string): pg.Client {
    const session = new pg.Client({
      host: '127.0.0.1',
      port: 5432,
      database: 'jit',
      user: login,
      password: alicePassword,
    });
    session.on('error', () => undefined);
    return session;
  }

  it('counts the open sessions of the login, and none once they are closed', async () => {
    const activeSessions = provider.activeSessions?.bind(provider);
    if (!activeSessions) throw new Error('the postgres provider must report activity');
    expect(await activeSessions(target(bob))).toBe(0);

    const first = sessionAs(bob);
    const second = sessionAs(bob);
    await first.connect();
    await second.connect();
    try {
      expect(await activeSessions(target(bob))).toBe(2);
      expect(await activeSessions(target(alice))).toBe(0); // another login's sessions do not count
    } finally {
      await first.end();
      await second.end();
    }
    // A closed session leaves pg_stat_activity once its backend has exited.
    await expect.poll(() => activeSessions(target(bob))).toBe(0);
  });

  it("refuses the provider's own login and unsafe names", async () => {
    await expect(provider.activeSessions?.(target('jit_granter'))).rejects.toBeInstanceOf(InvalidInput);
    await expect(provider.activeSessions?.(target(`ali"ce`))).rejects.toBeInstanceOf(InvalidInput);
  });

  it('reports ProviderUnavailable, not 0, when the server cannot be reached', async () => {
    const unreachable = createPostgresProvider(
      { url: `postgresql://jit_granter:jit_granter@127.0.0.1:${await closedPort()}/jit` },
      { connectTimeoutMs: 1_000 },
    );
    try {
      await expect(unreachable.activeSessions?.(target(bob))).rejects.toBeInstanceOf(ProviderUnavailable);
    } finally {
      await unreachable.close();
    }
  });
});
