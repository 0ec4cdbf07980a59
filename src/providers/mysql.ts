import type { Pool } from 'mysql2/promise';
import { z } from 'zod';
import { AppError, InvalidInput, ProviderUnavailable, UnknownIdentity } from '../app/errors.js';
import type { GrantTarget, Provider } from '../app/provider.js';
import { isSystemConnectionError, TARGET_POOL_SIZE, withoutPasswords } from './connection-errors.js';

/**
 * Grants a MySQL 8 or MariaDB role to the requester's account (`GRANT role TO 'user'@'host'`) and
 * takes it back on expiry, ending the account's connections (`KILL`): a session that ran
 * `SET ROLE` keeps the role's privileges until it disconnects, whatever REVOKE says.
 *
 * The provider's own account needs, and should have, only:
 *   GRANT <role> TO <provider> WITH ADMIN OPTION            -- for each role it hands out
 *   GRANT SELECT ON mysql.user TO <provider>                 -- account and role lookups
 *   GRANT SELECT ON mysql.roles_mapping TO <provider>        -- MariaDB (MySQL: mysql.role_edges
 *                                                               and mysql.default_roles)
 *   GRANT PROCESS, CONNECTION ADMIN ON *.* TO <provider>     -- MySQL: PROCESS, CONNECTION_ADMIN
 * `setDefaultRole: true` also needs MySQL's `UPDATE ON mysql.default_roles`, or on MariaDB
 * `UPDATE ON mysql.*` (MariaDB checks database-wide, which lets the account rewrite any
 * privilege): off by default, so on MariaDB requesters run `SET ROLE <role>` after the grant.
 *
 * MySQL and MariaDB cannot expire a role grant themselves: if the bot is down at expiry the role
 * stays granted until the bot is back and its expiry job (rebuilt from the database) revokes it.
 */

/**
 * Names the provider accepts. Narrower than what the servers allow on purpose: names are quoted
 * as well, but no text outside these patterns ever reaches SQL. MariaDB takes user names up to
 * 80 characters, MySQL up to 32.
 */
const userNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/, 'must be a user name of letters, digits and _ . - (max 80)');
/** NONE and PUBLIC mean something else where a role is expected, quoted or not. */
const roleNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,79}$/, 'must be a role name of letters, digits and _ $ - (max 80)')
  .refine((name) => !['none', 'public'].includes(name.toLowerCase()), 'is reserved in MySQL and MariaDB');
/** `%`, a host name, an IP address, or a pattern/netmask like `10.0.%` or `10.0.0.0/255.0.0.0`. */
const accountHostSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.%:/-]{1,255}$/, 'must be an account host like %, localhost or 10.0.%');

/** The provider's block under `providers:` in the policy file. */
export const mysqlProviderConfigSchema = z.strictObject({
  type: z.literal('mysql'),
  /** `mysql://user:password@host:3306/`, for MySQL and MariaDB alike. */
  url: z.string().min(1),
  /** The host part of the accounts granted to: `'alice'@'%'` by default. */
  accountHost: accountHostSchema.default('%'),
  /** Slack user id → database user, for users whose email local part is not their user name. */
  identities: z.record(z.string(), userNameSchema).optional(),
  /** Users nobody is ever granted to through the bot: service, replication, migration accounts. */
  protectedLogins: z.array(userNameSchema).optional(),
  /** Also make the role the account's default role when it has none (see the privileges above). */
  setDefaultRole: z.boolean().default(false),
});
export type MysqlProviderConfig = z.output<typeof mysqlProviderConfigSchema>;

/** A resource's `grant:` block for this provider. */
export const mysqlGrantSchema = z.strictObject({ role: roleNameSchema });

export interface MysqlProviderOptions {
  connectTimeoutMs?: number;
  /** Client-side limit on every statement, so a lock queue cannot hold a grant or revoke. */
  statementTimeoutMs?: number;
}

type Flavor = 'mariadb' | 'mysql';

interface Account {
  user: string;
  host: string;
}

interface AccountFacts {
  isRole: boolean;
  locked: boolean;
  superuser: boolean;
  grantOption: boolean;
  createUser: boolean;
  defaultRoles: string[];
}

export function createMysqlProvider(
  config: {
    url: string;
    accountHost?: string;
    identities?: Record<string, string>;
    protectedLogins?: string[];
    setDefaultRole?: boolean;
  },
  options: MysqlProviderOptions = {},
): Provider {
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  // The driver is loaded with the first query: a bot with no MySQL resource does not hold it.
  let pool: Promise<Pool> | undefined;
  const pooled = (): Promise<Pool> => {
    pool ??= import('mysql2/promise').then(({ default: mysql }) =>
      mysql.createPool({
        uri: config.url,
        connectionLimit: TARGET_POOL_SIZE,
        // mysql2 closes idle connections only while fewer may idle than may be open.
        maxIdle: TARGET_POOL_SIZE - 1,
        idleTimeout: 30_000,
        connectTimeout: options.connectTimeoutMs ?? 5_000,
        waitForConnections: true,
        enableKeepAlive: true,
        // The grant tables' own collation on both servers: comparing with literals in another one
        // is an "illegal mix of collations" error.
        charset: 'UTF8MB4_GENERAL_CI',
      }),
    );
    return pool;
  };
  const accountHost = config.accountHost ?? '%';
  const protectedLogins = new Set(config.protectedLogins ?? []);
  const sessionEndWaitMs = Math.max(1, Math.floor(statementTimeoutMs / 2));
  let server: Promise<{ flavor: Flavor; self: Account }> | undefined;

  async function query<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    const [rows] = await (await pooled()).query({ sql, values, timeout: statementTimeoutMs });
    return rows as T[];
  }

  /** Which server this is and which account the provider is, asked once. */
  function whoAmI(): Promise<{ flavor: Flavor; self: Account }> {
    server ??= query<{ version: string; me: string }>('SELECT VERSION() AS version, CURRENT_USER() AS me')
      .then(([row]) => {
        if (!row) throw new Error('SELECT VERSION() returned no row');
        const at = row.me.lastIndexOf('@');
        return {
          flavor: /mariadb/i.test(row.version) ? 'mariadb' : 'mysql',
          self: { user: row.me.slice(0, at), host: row.me.slice(at + 1) },
        } as const;
      })
      .catch((error: unknown) => {
        server = undefined;
        throw error;
      });
    return server;
  }

  async function run<T>(role: string, work: (flavor: Flavor, self: Account) => Promise<T>): Promise<T> {
    try {
      const { flavor, self } = await whoAmI();
      return await work(flavor, self);
    } catch (error) {
      throw toProviderError(error, role);
    }
  }

  function accountOf(target: GrantTarget): { account: Account; role: string } {
    const user = userNameSchema.safeParse(target.identity);
    if (!user.success) {
      throw new InvalidInput(`database user ${JSON.stringify(target.identity)} ${issueOf(user)}`);
    }
    const grant = mysqlGrantSchema.safeParse(target.grant);
    if (!grant.success) throw new InvalidInput(`grant block: role ${issueOf(grant)}`);
    return { account: { user: user.data, host: accountHost }, role: grant.data.role };
  }

  async function factsOf(flavor: Flavor, account: Account): Promise<AccountFacts | null> {
    const [row] =
      flavor === 'mariadb'
        ? await query<Omit<AccountFacts, 'defaultRoles'> & { defaultRole: string }>(
            `SELECT is_role = 'Y' AS isRole, FALSE AS locked, Super_priv = 'Y' AS superuser,
                    Grant_priv = 'Y' AS grantOption, Create_user_priv = 'Y' AS createUser,
                    default_role AS defaultRole
               FROM mysql.user WHERE User = ? AND (Host = ? OR is_role = 'Y')
              ORDER BY is_role DESC LIMIT 1`,
            [account.user, account.host],
          )
        : await query<Omit<AccountFacts, 'defaultRoles'> & { defaultRole: string | null }>(
            `SELECT EXISTS (SELECT 1 FROM mysql.role_edges e
                             WHERE e.FROM_USER = u.User AND e.FROM_HOST = u.Host) AS isRole,
                    account_locked = 'Y' AS locked, Super_priv = 'Y' AS superuser,
                    Grant_priv = 'Y' AS grantOption, Create_user_priv = 'Y' AS createUser,
                    (SELECT GROUP_CONCAT(d.DEFAULT_ROLE_USER) FROM mysql.default_roles d
                      WHERE d.USER = u.User AND d.HOST = u.Host) AS defaultRole
               FROM mysql.user u WHERE u.User = ? AND u.Host = ?`,
            [account.user, account.host],
          );
    if (!row) return null;
    return {
      isRole: Boolean(row.isRole),
      locked: Boolean(row.locked),
      superuser: Boolean(row.superuser),
      grantOption: Boolean(row.grantOption),
      createUser: Boolean(row.createUser),
      defaultRoles: row.defaultRole ? row.defaultRole.split(',') : [],
    };
  }

  /**
   * Refuses an account the grant could not be taken back from, or should never go to: missing,
   * a role rather than a person, locked, holding SUPER (its connections cannot be ended),
   * GRANT OPTION or CREATE USER (it could hand itself the role back), protected, or the
   * provider's own.
   */
  async function refuseUnfitAccount(flavor: Flavor, self: Account, account: Account): Promise<AccountFacts> {
    refuseOwnAccount(self, account);
    const name = `'${account.user}'@'${account.host}'`;
    const refuse = (why: string) => new InvalidInput(`database account ${name} ${why}`);
    if (protectedLogins.has(account.user)) {
      throw refuse('is protected: the policy file lists it in protectedLogins');
    }
    const facts = await factsOf(flavor, account);
    if (!facts) throw new MissingAccount(`database account ${name} does not exist`);
    if (facts.isRole) throw refuse('is a role, not a person: everyone holding it would get the access');
    if (facts.locked) throw refuse('is locked: it cannot log in');
    if (facts.superuser) throw refuse('has SUPER: its connections could not be ended at the revoke');
    if (facts.grantOption || facts.createUser) {
      throw refuse('has GRANT OPTION or CREATE USER: it could grant the role back to itself');
    }
    return facts;
  }

  async function holds(flavor: Flavor, account: Account, role: string): Promise<boolean> {
    const rows =
      flavor === 'mariadb'
        ? await query('SELECT 1 FROM mysql.roles_mapping WHERE User = ? AND Host = ? AND Role = ?', [
            account.user,
            account.host,
            role,
          ])
        : await query(
            `SELECT 1 FROM mysql.role_edges
              WHERE TO_USER = ? AND TO_HOST = ? AND FROM_USER = ? AND FROM_HOST = '%'`,
            [account.user, account.host, role],
          );
    return rows.length > 0;
  }

  async function roleExists(flavor: Flavor, role: string): Promise<boolean> {
    const rows = await query(
      flavor === 'mariadb'
        ? "SELECT 1 FROM mysql.user WHERE User = ? AND is_role = 'Y'"
        : "SELECT 1 FROM mysql.user WHERE User = ? AND Host = '%'",
      [role],
    );
    return rows.length > 0;
  }

  /** `role` is an escaped identifier or NONE. MariaDB says FOR where MySQL says TO. */
  async function setDefaultRole(flavor: Flavor, account: Account, role: string): Promise<void> {
    const to = flavor === 'mariadb' ? 'FOR' : 'TO';
    await query(`SET DEFAULT ROLE ${role} ${to} ?@?`, [account.user, account.host]);
  }

  /** The account's connections (any host: the role follows the user name's every account). */
  async function sessionIds(user: string): Promise<number[]> {
    const rows = await query<{ id: number }>(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
      [user],
    );
    return rows.map((row) => Number(row.id));
  }

  async function endSessionsOf(user: string): Promise<void> {
    const ids = await sessionIds(user);
    for (const id of ids) {
      try {
        // `id` is a number from the server, never text from a request.
        await query(`KILL CONNECTION ${Math.trunc(id)}`);
      } catch (error) {
        // 1094: the connection ended on its own meanwhile.
        if (errnoOf(error) !== 1094) throw error;
      }
    }
    if (ids.length === 0) return;
    // KILL only flags the thread; it leaves the process list when it notices.
    const deadline = Date.now() + sessionEndWaitMs;
    for (;;) {
      const left = (await sessionIds(user)).filter((id) => ids.includes(id));
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        throw new ProviderUnavailable(`connections of "${user}" did not end in time; retry the revoke`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  return {
    type: 'mysql',

    async checkIdentity(target) {
      const { account, role } = accountOf(target);
      await run(role, (flavor, self) => refuseUnfitAccount(flavor, self, account));
    },

    async probe(target) {
      const { account, role } = accountOf(target);
      return run(role, async (flavor, self) => {
        const facts = await refuseUnfitAccount(flavor, self, account);
        if (!(await roleExists(flavor, role)))
          throw new InvalidInput(`database role "${role}" does not exist`);
        const held = await holds(flavor, account, role);
        const sessions = (await sessionIds(account.user)).length;
        const lines = [
          `${flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} account '${account.user}'@'${account.host}': ` +
            'exists, no SUPER, GRANT OPTION or CREATE USER',
          `role \`${role}\`: ${held ? 'already granted (the grant would change nothing)' : 'would be granted'}`,
          `open connections of "${account.user}" now: ${sessions} (the revoke ends them all)`,
        ];
        if (config.setDefaultRole) {
          lines.push(
            facts.defaultRoles.length === 0
              ? `default role: would be set to \`${role}\``
              : `default role: left as ${facts.defaultRoles.join(', ')}`,
          );
        }
        return lines;
      });
    },

    async grant(target) {
      const { account, role } = accountOf(target);
      await run(role, async (flavor, self) => {
        // Asked again here: the account may have changed since the request was made.
        const facts = await refuseUnfitAccount(flavor, self, account);
        // Granting a role that is held already succeeds on both servers: idempotent as it is.
        const quoted = (await pooled()).escapeId(role);
        await query(`GRANT ${quoted} TO ?@?`, [account.user, account.host]);
        if (config.setDefaultRole && facts.defaultRoles.length === 0) {
          await setDefaultRole(flavor, account, quoted);
        }
      });
    },

    async revoke(target) {
      const { account, role } = accountOf(target);
      await run(role, async (flavor, self) => {
        refuseOwnAccount(self, account);
        const facts = await factsOf(flavor, account);
        // An account that no longer exists holds nothing; its connections are still ended.
        if (facts && (await holds(flavor, account, role))) {
          try {
            await query(`REVOKE ${(await pooled()).escapeId(role)} FROM ?@?`, [account.user, account.host]);
          } catch (error) {
            // 1962 (MariaDB) / 3523 (MySQL): not granted after all, revoked meanwhile.
            if (![1962, 3523].includes(errnoOf(error) ?? 0)) throw error;
          }
          if (config.setDefaultRole && facts.defaultRoles.includes(role)) {
            await setDefaultRole(flavor, account, 'NONE');
          }
        }
        await endSessionsOf(account.user);
      });
    },

    async verify(target) {
      const { account, role } = accountOf(target);
      return run(role, (flavor) => holds(flavor, account, role));
    },

    async activeSessions(target) {
      const { account, role } = accountOf(target);
      return run(role, async (_flavor, self) => {
        // The provider's own pool would always count as activity.
        refuseOwnAccount(self, account);
        return (await sessionIds(account.user)).length;
      });
    },

    async close() {
      if (pool) await (await pool).end();
    },
  };
}

/** Revoking from, or counting the sessions of, the provider's own account would undo or skew it. */
function refuseOwnAccount(self: Account, account: Account): void {
  if (account.user === self.user) {
    throw new InvalidInput(
      `database account '${account.user}'@'${account.host}' is the provider's own account`,
    );
  }
}

/** An account that does not exist: an error for grant, nothing left to do for revoke. */
class MissingAccount extends UnknownIdentity {}

function issueOf(result: { error: z.ZodError }): string {
  return result.error.issues[0]?.message ?? 'is not valid';
}

interface ServerError extends Error {
  errno?: number;
  code?: string;
  fatal?: boolean;
}

function errnoOf(error: unknown): number | undefined {
  return error instanceof Error ? (error as ServerError).errno : undefined;
}

/** Server errors worth retrying: too many connections, shutdown, lock waits, deadlocks, lost links. */
const RETRYABLE_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 2002, 2003, 2006, 2013, 3024, 1969]);
/** Access denied to the provider's account: a setup gap, told with the privilege to add. */
const DENIED_ERRNOS = new Set([1044, 1095, 1142, 1227, 1370, 1698, 3530]);

function toProviderError(error: unknown, role: string): Error {
  if (error instanceof AppError) return withoutPasswords(error);
  const errno = errnoOf(error);
  const reason = reasonOf(error);
  if (errno === 1045) {
    // The provider's own login was refused: fixed outside the request, so retry and alert.
    return withoutPasswords(
      new ProviderUnavailable(`cannot log in to the database (${reason}); retry later`),
    );
  }
  if (errno === 1133) return new MissingAccount('database account does not exist');
  if (errno === 1959) return new InvalidInput(`database role "${role}" does not exist`);
  if (errno !== undefined && DENIED_ERRNOS.has(errno)) {
    return withoutPasswords(
      new InvalidInput(
        `the provider's database account may not do this (${reason}): it needs ADMIN OPTION on ` +
          `role "${role}", SELECT on the mysql grant tables, and PROCESS and CONNECTION ADMIN`,
      ),
    );
  }
  const fatal = error instanceof Error && (error as ServerError).fatal === true;
  if ((errno !== undefined && RETRYABLE_ERRNOS.has(errno)) || fatal || isSystemConnectionError(error)) {
    return withoutPasswords(new ProviderUnavailable(`database unavailable (${reason}); retry later`));
  }
  if (error instanceof Error && /timeout|connection|closed state/i.test(error.message)) {
    return withoutPasswords(new ProviderUnavailable(`database connection failed (${reason}); retry later`));
  }
  // A bug, logged not shown: keep the stack but never a connection URL's password.
  return withoutPasswords(error instanceof Error ? error : new Error(String(error)));
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const { errno, code } = error as ServerError;
  return errno !== undefined ? `${errno}: ${error.message}` : (code ?? error.message);
}
