import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput, ProviderUnavailable, UnknownIdentity } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import {
  createMysqlProvider,
  mysqlGrantSchema,
  mysqlProviderConfigSchema,
} from '../../src/providers/mysql.js';
import { type MysqlFixture, mysqlAdminUrl, mysqlFixture, mysqlGranterUrl } from '../support/mysql.js';
import { closedPort } from '../support/ports.js';

// Against the real MariaDB from scripts/services.sh, logged in as the low-privilege jit_granter.

let db: MysqlFixture;
let provider: Provider;
let role: string;
let ungrantable: string;
let alice: { user: string; password: string };
let bob: { user: string; password: string };

function target(identity: string, grantedRole = role): GrantTarget {
  return {
    requestId: `JIT-MY${db.suffix}`,
    identity,
    grant: { role: grantedRole },
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

beforeAll(async () => {
  db = await mysqlFixture();
  role = await db.role('analyst');
  ungrantable = await db.role('dba', { grantable: false });
  alice = await db.user('alice');
  bob = await db.user('bob');
  provider = createMysqlProvider({ url: mysqlGranterUrl() }, { connectTimeoutMs: 2_000 });
});
afterAll(async () => {
  await provider?.close();
  await db?.drop();
});

describe('mysql provider grant and verify', () => {
  it('grants the role; twice is once; verify reads the grant tables', async () => {
    expect(await provider.verify(target(alice.user))).toBe(false);
    await provider.grant(target(alice.user));
    await provider.grant(target(alice.user));
    expect(await db.holds(alice.user, role)).toBe(true);
    expect(await provider.verify(target(alice.user))).toBe(true);
    expect(await provider.verify(target(bob.user))).toBe(false);
  });

  it('gives the privileges once the user switches to the role, and not before the grant', async () => {
    const session = await db.connectAs(bob.user, bob.password);
    try {
      await expect(session.query(`SET ROLE ${session.escapeId(role)}`)).rejects.toThrow();
      await provider.grant(target(bob.user));
      // A new connection: roles granted meanwhile are visible to SET ROLE at once.
      const fresh = await db.connectAs(bob.user, bob.password);
      await fresh.query(`SET ROLE ${fresh.escapeId(role)}`);
      const [rows] = await fresh.query('SELECT COUNT(*) AS n FROM mysql.db');
      expect((rows as { n: number }[])[0]?.n).toBeGreaterThanOrEqual(0);
      await fresh.end();
    } finally {
      await session.end().catch(() => {});
      await provider.revoke(target(bob.user));
    }
  });

  it('names a user that does not exist, and a role that does not exist', async () => {
    const ghost = await errorOf(provider.grant(target(`ghost_${db.suffix}`)));
    expect(ghost).toBeInstanceOf(UnknownIdentity);
    expect((ghost as Error).message).toContain(`'ghost_${db.suffix}'@'%' does not exist`);
    const noRole = await errorOf(provider.grant(target(alice.user, `no_role_${db.suffix}`)));
    expect(noRole).toBeInstanceOf(InvalidInput);
    expect((noRole as Error).message).toContain(`role "no_role_${db.suffix}" does not exist`);
  });

  it('explains that ADMIN OPTION is needed on a role the provider may not hand out', async () => {
    const error = await errorOf(provider.grant(target(alice.user, ungrantable)));
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as Error).message).toMatch(/ADMIN OPTION on role/);
    expect(await db.holds(alice.user, ungrantable)).toBe(false);
  });

  it('refuses accounts it could not take the role back from, and changes nothing', async () => {
    const superuser = await db.user('root_like', { privileges: 'SUPER ON *.*' });
    const granter = await db.user('granter_like', { privileges: 'CREATE USER ON *.*' });
    const asRole = await db.role('team');
    for (const [identity, why] of [
      [superuser.user, /has SUPER/],
      [granter.user, /GRANT OPTION or CREATE USER/],
      [asRole, /is a role, not a person/],
      ['jit_granter', /provider's own account/],
    ] as const) {
      const before = await db.holds(identity, role);
      const error = await errorOf(provider.checkIdentity?.(target(identity)) ?? Promise.resolve());
      expect(error, identity).toBeInstanceOf(InvalidInput);
      expect((error as Error).message).toMatch(why);
      await expect(provider.grant(target(identity))).rejects.toThrow(why);
      expect(await db.holds(identity, role)).toBe(before);
    }
  });

  it('refuses a protected login whatever asks', async () => {
    const guarded = createMysqlProvider({ url: mysqlGranterUrl(), protectedLogins: [alice.user] });
    try {
      await expect(guarded.grant(target(alice.user))).rejects.toThrow(/protected/);
    } finally {
      await guarded.close();
    }
  });

  it('never puts text outside the allow-list into SQL', async () => {
    for (const identity of ["x'@'%' IDENTIFIED BY 'p", 'a b', '', 'x'.repeat(81)]) {
      await expect(provider.grant(target(identity))).rejects.toBeInstanceOf(InvalidInput);
    }
    for (const bad of ['none', 'PUBLIC', 'a`b', 'r;DROP']) {
      await expect(provider.grant(target(alice.user, bad))).rejects.toBeInstanceOf(InvalidInput);
    }
  });
});

describe('mysql provider revoke', () => {
  it('revokes the role; revoking what is not held, or for a user that is gone, succeeds', async () => {
    await provider.grant(target(alice.user));
    await provider.revoke(target(alice.user));
    expect(await db.holds(alice.user, role)).toBe(false);
    await provider.revoke(target(alice.user));
    await provider.revoke(target(`ghost_${db.suffix}`));
    expect(await provider.verify(target(alice.user))).toBe(false);
  });

  it("ends the user's connections, including one that switched to the role", async () => {
    await provider.grant(target(alice.user));
    const sessions: mysql.Connection[] = [];
    for (let i = 0; i < 2; i++) sessions.push(await db.connectAs(alice.user, alice.password));
    await sessions[0]?.query(`SET ROLE ${sessions[0].escapeId(role)}`);
    expect(await provider.activeSessions?.(target(alice.user))).toBe(2);

    await provider.revoke(target(alice.user));

    expect(await db.sessionsOf(alice.user)).toEqual([]);
    await expect(sessions[0]?.query('SELECT COUNT(*) FROM mysql.db')).rejects.toThrow();
    expect(await provider.activeSessions?.(target(alice.user))).toBe(0);
    for (const session of sessions) session.destroy();
  });

  it('sets the default role when asked and the account has none, and clears it at the revoke', async () => {
    // SET DEFAULT ROLE for another account needs UPDATE on the whole mysql schema in MariaDB.
    const wide = await db.user('wide_granter', { privileges: 'UPDATE ON mysql.*' });
    await db.admin.query(`GRANT ${db.admin.escapeId(role)} TO ?@? WITH ADMIN OPTION`, [wide.user, '%']);
    await db.admin.query('GRANT SELECT ON mysql.user TO ?@?', [wide.user, '%']);
    await db.admin.query('GRANT SELECT ON mysql.roles_mapping TO ?@?', [wide.user, '%']);
    await db.admin.query('GRANT PROCESS, CONNECTION ADMIN ON *.* TO ?@?', [wide.user, '%']);
    const url = new URL(mysqlAdminUrl());
    url.username = wide.user;
    url.password = wide.password;
    const withDefault = createMysqlProvider({ url: url.toString(), setDefaultRole: true });
    const defaultRole = async () => {
      const [rows] = await db.admin.query('SELECT default_role AS role FROM mysql.user WHERE User = ?', [
        bob.user,
      ]);
      return (rows as { role: string }[])[0]?.role;
    };
    try {
      await withDefault.grant(target(bob.user));
      expect(await defaultRole()).toBe(role);
      expect(await withDefault.probe?.(target(bob.user))).toContain(`default role: left as ${role}`);
      await withDefault.revoke(target(bob.user));
      expect(await defaultRole()).toBe('');
      expect(await db.holds(bob.user, role)).toBe(false);
    } finally {
      await withDefault.close();
    }
  });

  it('without the privilege for default roles, the grant says which one is missing', async () => {
    const narrow = createMysqlProvider({ url: mysqlGranterUrl(), setDefaultRole: true });
    try {
      const error = await errorOf(narrow.grant(target(bob.user)));
      expect(error).toBeInstanceOf(InvalidInput);
      expect((error as Error).message).toMatch(/may not do this/);
    } finally {
      await narrow.revoke(target(bob.user));
      await narrow.close();
    }
  });
});

describe('mysql provider probe', () => {
  it('tells what a grant would touch without touching it', async () => {
    const lines = (await provider.probe?.(target(alice.user))) ?? [];
    expect(lines.join('\n')).toContain(`MariaDB account '${alice.user}'@'%': exists`);
    expect(lines.join('\n')).toContain(`role \`${role}\`: would be granted`);
    expect(await db.holds(alice.user, role)).toBe(false);
    await expect(provider.probe?.(target(alice.user, `no_role_${db.suffix}`))).rejects.toThrow(
      /does not exist/,
    );
  });
});

describe('mysql provider failures', () => {
  it('reports an unreachable server as worth retrying, without the password', async () => {
    const port = await closedPort();
    const down = createMysqlProvider({ url: `mysql://jit_granter:s3cret-pw@127.0.0.1:${port}/` });
    try {
      const error = await errorOf(down.grant(target(alice.user)));
      expect(error).toBeInstanceOf(ProviderUnavailable);
      expect(String((error as Error).stack)).not.toContain('s3cret-pw');
    } finally {
      await down.close();
    }
  });

  it('reports a refused login as worth retrying, without the password', async () => {
    const url = new URL(mysqlGranterUrl());
    url.password = 'wrong-s3cret';
    const refused = createMysqlProvider({ url: url.toString() });
    try {
      const error = await errorOf(refused.verify(target(alice.user)));
      expect(error).toBeInstanceOf(ProviderUnavailable);
      expect((error as Error).message).toContain('cannot log in');
      expect(String((error as Error).stack)).not.toContain('wrong-s3cret');
    } finally {
      await refused.close();
    }
  });
});

describe('mysql policy keys', () => {
  it('validates the provider block and the grant block', () => {
    const parsed = mysqlProviderConfigSchema.parse({ type: 'mysql', url: 'mysql://a:b@h/' });
    expect(parsed.accountHost).toBe('%');
    expect(parsed.setDefaultRole).toBe(false);
    expect(() =>
      mysqlProviderConfigSchema.parse({ type: 'mysql', url: 'x', accountHost: "%' OR" }),
    ).toThrow();
    expect(() => mysqlGrantSchema.parse({ role: 'analyst', extra: 1 })).toThrow();
  });
});
