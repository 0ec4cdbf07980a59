import { DatabaseError, escapeIdentifier, Pool, type PoolClient } from 'pg';
import { z } from 'zod';
import { AppError, InvalidInput, ProviderUnavailable, UnknownIdentity } from '../app/errors.js';
import type { GrantTarget, Provider } from '../app/provider.js';
import { isSystemConnectionError, withoutPasswords } from './connection-errors.js';

/**
 * Grants a PostgreSQL role to the requester's database login and takes it back on expiry.
 *
 * The provider logs in as a low-privilege role (not a superuser) that holds ADMIN OPTION on every
 * role it hands out (required from PostgreSQL 16 on, and sufficient on 15) and is a member of
 * `pg_signal_backend`, so it can end the sessions of a login whose access was revoked.
 */

/**
 * Names the provider accepts for logins and roles. Narrower than what PostgreSQL allows on
 * purpose: names are quoted with `escapeIdentifier` as well, but no text outside this pattern is
 * ever put into SQL. 63 characters is PostgreSQL's limit; longer names are silently truncated.
 */
const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_.$-]{0,62}$/;

/** Even quoted, these mean something else where a role name is expected (`TO "public"`). */
const RESERVED_ROLE_NAMES = new Set(['public', 'none']);

const identifierSchema = z
  .string()
  .regex(IDENTIFIER_PATTERN, 'must be a PostgreSQL name of letters, digits and _ . $ - (max 63)')
  .refine((name) => !RESERVED_ROLE_NAMES.has(name), 'is reserved in PostgreSQL');

/** The provider's block under `providers:` in the policy file. */
export const postgresProviderConfigSchema = z.strictObject({
  type: z.literal('postgres'),
  url: z.string().min(1),
  /** Slack user id → database login, for users whose email local part is not their login. */
  identities: z.record(z.string(), identifierSchema).optional(),
  /**
   * Logins nobody is ever granted to through the bot, whoever asks: service accounts, replication
   * and migration logins. The provider's own login is always protected.
   */
  protectedLogins: z.array(identifierSchema).optional(),
});
export type PostgresProviderConfig = z.infer<typeof postgresProviderConfigSchema>;

/** A resource's `grant:` block for this provider. */
export const postgresGrantSchema = z.strictObject({ role: identifierSchema });
export type PostgresGrant = z.infer<typeof postgresGrantSchema>;

export interface PostgresProviderOptions {
  /** How long to wait for a connection, from the pool or from the server. */
  connectTimeoutMs?: number;
  /** Server-side limit on every statement, so a lock queue cannot hold a grant or revoke. */
  statementTimeoutMs?: number;
}

export function createPostgresProvider(
  config: { url: string; identities?: Record<string, string>; protectedLogins?: string[] },
  options: PostgresProviderOptions = {},
): Provider {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  const pool = new Pool({
    connectionString: config.url,
    max: 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    // statement_timeout needs a live server; this backstop covers one that stopped answering.
    query_timeout: statementTimeoutMs + connectTimeoutMs,
    application_name: 'jit-bot',
  });
  // A pooled idle connection that the server drops (restart, admin shutdown) emits 'error' on the
  // pool, which would crash the process without a listener; the next checkout reports it instead.
  pool.on('error', () => {});
  // Leave part of the statement budget for the queries after the wait.
  const sessionEndWaitMs = Math.max(1, Math.floor(statementTimeoutMs / 2));

  async function run<T>(role: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await withClient(pool, work);
    } catch (error) {
      throw toProviderError(error, role);
    }
  }

  const protectedLogins = new Set(config.protectedLogins ?? []);

  return {
    type: 'postgres',

    async checkIdentity(target) {
      const { login, role } = namesOf(target);
      await run(role, (client) => refuseUnfitLogin(client, login, protectedLogins));
    },

    async probe(target) {
      const { login, role } = namesOf(target);
      return run(role, async (client) => {
        await refuseUnfitLogin(client, login, protectedLogins);
        const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        if (!rowCount) throw new InvalidInput(`database role "${role}" does not exist`);
        const member = await isMember(client, login, role);
        const sessions = await countSessionsOf(client, login);
        return [
          `PostgreSQL login "${login}": exists, can log in, not a superuser, no CREATEROLE, no members`,
          `role "${role}": ${member ? 'already granted (the grant would change nothing)' : 'would be granted'}`,
          `open sessions of "${login}" now: ${sessions} (the revoke ends them all)`,
        ];
      });
    },

    async grant(target) {
      const { login, role } = namesOf(target);
      await run(role, async (client) => {
        // Asked again here, on the connection that grants: the login may have changed since.
        await refuseUnfitLogin(client, login, protectedLogins);
        try {
          // Granting a membership that exists is a NOTICE, not an error: idempotent as it is.
          await client.query(`GRANT ${escapeIdentifier(role)} TO ${escapeIdentifier(login)}`);
        } catch (error) {
          throw await explainMembershipFailure(client, error, login, role);
        }
      });
    },

    async revoke(target) {
      const { login, role } = namesOf(target);
      await run(role, async (client) => {
        refuseProviderLogin(client, login);
        try {
          // Revoking a membership that is not there is a WARNING, not an error: already idempotent.
          await client.query(`REVOKE ${escapeIdentifier(role)} FROM ${escapeIdentifier(login)}`);
        } catch (error) {
          const failure = await explainMembershipFailure(client, error, login, role);
          // A login that no longer exists holds nothing and has no sessions: the revoke is done.
          if (failure instanceof MissingLogin) return;
          throw failure;
        }
        await endSessionsOf(client, [login], sessionEndWaitMs);
      });
    },

    async revokeAll(targets) {
      const byRole = new Map<string, string[]>();
      for (const target of targets) {
        const { login, role } = namesOf(target);
        const logins = byRole.get(role) ?? [];
        logins.push(login);
        byRole.set(role, logins);
      }
      const everyLogin = [...new Set([...byRole.values()].flat())];
      await run([...byRole.keys()].join(', '), async (client) => {
        for (const login of everyLogin) refuseProviderLogin(client, login);
        // One statement per role, many grantees each, sent as one query: a multi-statement query
        // runs as one transaction, so it fails as a whole (e.g. a login was dropped) and the
        // caller then revokes one by one, where a missing login is handled. One round trip for
        // a whole batch of expiries or a freeze, however many roles it touches.
        await client.query(
          [...byRole]
            .map(
              ([role, logins]) =>
                `REVOKE ${escapeIdentifier(role)} FROM ${logins.map(escapeIdentifier).join(', ')};`,
            )
            .join('\n'),
        );
        await endSessionsOf(client, everyLogin, sessionEndWaitMs);
      });
    },

    async verify(target) {
      const { login, role } = namesOf(target);
      return run(role, (client) => isMember(client, login, role));
    },

    async activeSessions(target) {
      const { login, role } = namesOf(target);
      return run(role, async (client) => {
        // The provider's own pool would always count as activity.
        refuseProviderLogin(client, login);
        return countSessionsOf(client, login);
      });
    },

    async close() {
      await pool.end();
    },
  };
}

/** Whether the login is a direct member of the role, as the catalog says. */
async function isMember(client: PoolClient, login: string, role: string): Promise<boolean> {
  const { rows } = await client.query<{ member: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.roleid
         JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = $1 AND u.rolname = $2
     ) AS member`,
    [role, login],
  );
  return rows[0]?.member === true;
}

/** A login that does not exist: an error for grant, nothing left to do for revoke. */
class MissingLogin extends UnknownIdentity {}

function namesOf(target: GrantTarget): { login: string; role: string } {
  const login = identifierSchema.safeParse(target.identity);
  if (!login.success) {
    throw new InvalidInput(`database login ${JSON.stringify(target.identity)} ${issueOf(login)}`);
  }
  const grant = postgresGrantSchema.safeParse(target.grant);
  if (!grant.success) throw new InvalidInput(`grant block: role ${issueOf(grant)}`);
  return { login: login.data, role: grant.data.role };
}

function issueOf(result: { error: z.ZodError }): string {
  return result.error.issues[0]?.message ?? 'is not valid';
}

async function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw asConnectionFailure(error);
  }
  let healthy = true;
  try {
    return await work(client);
  } catch (error) {
    // Server errors leave the connection usable; anything else (timeouts, drops) does not.
    healthy = error instanceof AppError || error instanceof DatabaseError;
    throw error;
  } finally {
    client.release(!healthy);
  }
}

/** Revoking from the provider's own login would take away its ADMIN OPTION on the role. */
function refuseProviderLogin(client: PoolClient, login: string): void {
  if (login === client.user) {
    throw new InvalidInput(`database login "${login}" is the provider's own login`);
  }
}

/**
 * Refuses a login the grant could not be taken back from, or should never go to: one that does
 * not exist or cannot log in (a group role: its members would get the access), a superuser (it
 * needs no grant, and its sessions cannot be ended), a login with CREATEROLE (it could grant the
 * role to itself again after the revoke), a login with members of its own (each member could
 * `SET ROLE` through it), a protected login, and the provider's own.
 */
async function refuseUnfitLogin(client: PoolClient, login: string, protectedLogins: ReadonlySet<string>) {
  refuseProviderLogin(client, login);
  if (protectedLogins.has(login)) {
    throw new InvalidInput(
      `database login "${login}" is protected: the policy file lists it in protectedLogins`,
    );
  }
  const { rows } = await client.query<{
    canlogin: boolean;
    superuser: boolean;
    createrole: boolean;
    members: number;
  }>(
    `SELECT r.rolcanlogin AS canlogin, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
            (SELECT count(*)::int FROM pg_auth_members m WHERE m.roleid = r.oid) AS members
       FROM pg_roles r WHERE r.rolname = $1`,
    [login],
  );
  const found = rows[0];
  const refuse = (why: string) => new InvalidInput(`database login "${login}" ${why}`);
  if (!found) throw new MissingLogin(`database login "${login}" does not exist`);
  if (!found.canlogin) throw refuse('cannot log in (NOLOGIN): it is a group role, not a person');
  if (found.superuser) throw refuse('is a superuser: its sessions could not be ended at the revoke');
  if (found.createrole)
    throw refuse('has CREATEROLE: it could grant the role back to itself after the revoke');
  if (found.members > 0) {
    throw refuse(`has ${found.members} member role(s) that could SET ROLE through it: it is shared`);
  }
}

/**
 * Turns a failed GRANT/REVOKE into the error to report. PostgreSQL says "role … does not exist"
 * (42704) for the login and the role alike, so look up which one is missing.
 */
async function explainMembershipFailure(
  client: PoolClient,
  error: unknown,
  login: string,
  role: string,
): Promise<unknown> {
  if (!(error instanceof DatabaseError) || error.code !== '42704') return error;
  const { rows } = await client.query<{ rolname: string }>(
    'SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])',
    [[login, role]],
  );
  const existing = new Set(rows.map((row) => row.rolname));
  if (!existing.has(login)) return new MissingLogin(`database login "${login}" does not exist`);
  if (!existing.has(role)) return new InvalidInput(`database role "${role}" does not exist`);
  return error;
}

/**
 * Ends every open session of the login, and of every role that is (directly or through others) a
 * member of it: a revoked membership stops new privilege checks, but a session that already ran
 * `SET ROLE` keeps acting as the role until it disconnects, and a member of the login could have
 * gone `SET ROLE login; SET ROLE role` (a login is refused a grant while it has members, but they
 * can be added during the grant). Superuser members are left alone: they need no membership, and
 * their sessions cannot be ended. Roles are cluster-wide and so is pg_stat_activity: sessions in
 * every database of the cluster are ended, not only in the one the provider is connected to.
 */
async function endSessionsOf(client: PoolClient, logins: string[], waitMs: number): Promise<void> {
  const who = logins.length === 1 ? `"${logins[0]}"` : `${logins.length} logins`;
  try {
    // With a timeout, pg_terminate_backend (PostgreSQL 14+) waits until the backend has exited.
    const { rows } = await client.query<{ pid: number; ended: boolean }>(
      `WITH RECURSIVE through(oid) AS (
         SELECT oid FROM pg_roles WHERE rolname = ANY($1::text[])
         UNION
         SELECT m.member FROM pg_auth_members m JOIN through t ON m.roleid = t.oid
       )
       SELECT a.pid, pg_terminate_backend(a.pid, $2) AS ended
         FROM pg_stat_activity a
         JOIN pg_roles r ON r.oid = a.usesysid
        WHERE a.usesysid IN (SELECT oid FROM through) AND NOT r.rolsuper
          AND a.usename <> session_user`,
      [logins, waitMs],
    );
    // false also means the session ended on its own before the signal; look whether it did.
    const unconfirmed = rows.filter((row) => !row.ended).map((row) => row.pid);
    if (unconfirmed.length > 0) await expectSessionsGone(client, who, unconfirmed);
  } catch (error) {
    if (error instanceof DatabaseError && error.code === '42501') {
      throw new InvalidInput(
        `the role was revoked but the sessions of ${who} could not be ended: the provider's ` +
          'login needs membership in pg_signal_backend, and superuser sessions cannot be ended',
      );
    }
    throw error;
  }
}

/**
 * The login's sessions in every database of the cluster, as `endSessionsOf` sees them: the role's
 * privileges follow the login into any database, so a session anywhere is use of the access.
 */
async function countSessionsOf(client: PoolClient, login: string): Promise<number> {
  const { rows } = await client.query<{ sessions: number }>(
    `SELECT count(*)::int AS sessions
       FROM pg_stat_activity
      WHERE usename = $1 AND pid <> pg_backend_pid()`,
    [login],
  );
  const sessions = rows[0]?.sessions;
  // Never guess 0: an idle answer leads to a recall.
  if (typeof sessions !== 'number') throw new Error('pg_stat_activity count returned no row');
  return sessions;
}

async function expectSessionsGone(client: PoolClient, who: string, pids: number[]) {
  const { rows } = await client.query<{ alive: number }>(
    'SELECT count(*)::int AS alive FROM pg_stat_activity WHERE pid = ANY($1::int[])',
    [pids],
  );
  if ((rows[0]?.alive ?? 0) > 0) {
    throw new ProviderUnavailable(`sessions of ${who} did not end in time; retry the revoke`);
  }
}

/** SQLSTATEs worth retrying: connection, resources, shutdown, cancel, lock and auth trouble. */
const RETRYABLE_CLASSES = ['08', '28', '53', '58'];
const RETRYABLE_CODES = new Set(['57P01', '57P02', '57P03', '57014', '40001', '40P01', '55P03']);
/** node-postgres reports dropped connections and pool/connect/query timeouts without a code. */
const CONNECTION_MESSAGE = /timeout|terminated|connection|not queryable/i;

function isRetryable(code: string | undefined): boolean {
  if (code === undefined) return false;
  return RETRYABLE_CODES.has(code) || RETRYABLE_CLASSES.some((cls) => code.startsWith(cls));
}

/**
 * Not getting a connection (server down, bad password, missing database, pool exhausted) is worth
 * a retry: each is fixed outside the request, and the retries' alerts are what gets it fixed.
 */
function asConnectionFailure(error: unknown): ProviderUnavailable {
  return new ProviderUnavailable(`cannot connect to PostgreSQL (${reasonOf(error)}); retry later`);
}

function toProviderError(error: unknown, role: string): Error {
  if (error instanceof AppError) return withoutPasswords(error);
  if (error instanceof DatabaseError) return withoutPasswords(fromDatabaseError(error, role));
  if (isConnectionFailure(error)) {
    const reason = reasonOf(error);
    return withoutPasswords(new ProviderUnavailable(`PostgreSQL connection failed (${reason})`));
  }
  // A bug, logged not shown: keep the stack but never a connection URL's password.
  return withoutPasswords(error instanceof Error ? error : new Error(String(error)));
}

function fromDatabaseError(error: DatabaseError, role: string): Error {
  if (error.code === '42501') {
    return new InvalidInput(
      `the provider's database login may not grant or revoke role "${role}": it needs ADMIN ` +
        `OPTION on it (GRANT ${escapeIdentifier(role)} TO <provider login> WITH ADMIN OPTION)`,
    );
  }
  // 42704 whose subject the lookup could not pin down (dropped meanwhile); 0LP01 e.g. circular.
  if (error.code === '42704' || error.code === '0LP01') return new InvalidInput(error.message);
  if (isRetryable(error.code)) {
    return new ProviderUnavailable(`PostgreSQL refused for now (${reasonOf(error)}); retry later`);
  }
  return error;
}

function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (isSystemConnectionError(error)) return true;
  return CONNECTION_MESSAGE.test(error.message);
}

/** A short reason: the SQLSTATE or system error code, plus node-postgres' message. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof DatabaseError) return `${code}: ${error.message}`;
  return code ?? error.message;
}
