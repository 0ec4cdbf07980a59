import { DatabaseError, escapeIdentifier, Pool, type PoolClient } from 'pg';
import { z } from 'zod';
import { AppError, InvalidInput, ProviderUnavailable, UnknownIdentity } from '../app/errors.js';
import type { GrantTarget, Provider } from '../app/provider.js';
import { behindPgBouncer } from '../db/statement-names.js';
import { isSystemConnectionError, TARGET_POOL_SIZE, withoutPasswords } from './connection-errors.js';
import {
  createPerRequestLogin,
  dropPerRequestLogin,
  extendPerRequestLogin,
  listPerRequestLogins,
  loginOfRef,
  perRequestLoginName,
  setPerRequestPassword,
  verifyPerRequestLogin,
} from './postgres-logins.js';
import {
  catalogQueriesUnnamed,
  catalogQuery,
  countSessionsOf,
  endSessionsOf,
  isMember,
} from './postgres-sessions.js';

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
export const postgresGrantSchema = z.strictObject({
  role: identifierSchema,
  /**
   * `own` (the default): the role goes to the requester's own login. `per-request`: to a login
   * made for the request, with VALID UNTIL at the grant's end, whose password the requester picks
   * up from the bot's credential page (needs CREATEROLE on the provider's login).
   */
  login: z.enum(['own', 'per-request']).optional(),
});
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
    max: TARGET_POOL_SIZE,
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
  if (behindPgBouncer(config.url)) catalogQueriesUnnamed(pool);
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

  const provider: Provider = {
    type: 'postgres',

    async checkIdentity(target) {
      const { login, role, perRequest } = namesOf(target);
      await run(role, async (client) => {
        if (perRequest) refuseReservedLogin(client, login, protectedLogins);
        else await refuseUnfitLogin(client, login, protectedLogins);
      });
    },

    async probe(target) {
      const { login, role, perRequest } = namesOf(target);
      return run(role, async (client) => {
        if (perRequest) refuseReservedLogin(client, login, protectedLogins);
        else await refuseUnfitLogin(client, login, protectedLogins);
        const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        if (!rowCount) throw new InvalidInput(`database role "${role}" does not exist`);
        if (perRequest) return probePerRequest(client, login, role);
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
      const { login, role, perRequest } = namesOf(target);
      if (perRequest) {
        await run(role, async (client) => {
          refuseReservedLogin(client, login, protectedLogins);
          await asCreateRoleFailure(role, () =>
            createPerRequestLogin(client, { login, role }, target.requestId, target.expiresAt),
          );
        });
        return;
      }
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
      const { login, role, perRequest } = namesOf(target);
      if (perRequest) {
        await run(role, (client) =>
          asCreateRoleFailure(role, () =>
            dropPerRequestLogin(client, login, target.requestId, sessionEndWaitMs),
          ),
        );
        return;
      }
      await run(role, async (client) => {
        refuseProviderLogin(client, login);
        try {
          // Revoking a membership that is not there is a WARNING, not an error: already idempotent.
          await onceMoreIfConcurrent(() =>
            client.query(`REVOKE ${escapeIdentifier(role)} FROM ${escapeIdentifier(login)}`),
          );
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
      // Logins made per request are dropped one by one; memberships go in one round trip.
      const [perRequest, own] = partition(targets, (target) => namesOf(target).perRequest);
      for (const target of perRequest) await provider.revoke(target);
      if (own.length === 0) return;
      const byRole = new Map<string, string[]>();
      for (const target of own) {
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
      const { login, role, perRequest } = namesOf(target);
      if (perRequest) {
        return run(role, (client) => verifyPerRequestLogin(client, { login, role }, target.requestId));
      }
      return run(role, (client) => isMember(client, login, role));
    },

    loginFor(target) {
      const { login, perRequest } = namesOf(target);
      return perRequest ? login : null;
    },

    async issueCredential(target) {
      const { login, role, perRequest } = namesOf(target);
      if (!perRequest)
        throw new InvalidInput("this grant uses the requester's own login: it has no password to issue");
      return run(role, (client) =>
        asCreateRoleFailure(role, () =>
          setPerRequestPassword(client, login, target.requestId, target.expiresAt),
        ),
      );
    },

    async extend(target) {
      const { login, role, perRequest } = namesOf(target);
      if (!perRequest) return;
      await run(role, (client) =>
        asCreateRoleFailure(role, () =>
          extendPerRequestLogin(client, login, target.requestId, target.expiresAt),
        ),
      );
    },

    async listManaged() {
      return run('(per-request logins)', (client) => listPerRequestLogins(client));
    },

    async removeManaged(grant) {
      const login = loginOfRef(grant.ref);
      if (!login) throw new InvalidInput(`not a per-request login: ${grant.ref}`);
      await run('(per-request logins)', (client) =>
        dropPerRequestLogin(client, login, grant.requestId, sessionEndWaitMs),
      );
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
  return provider;
}

/** A login that does not exist: an error for grant, nothing left to do for revoke. */
class MissingLogin extends UnknownIdentity {}

/**
 * The login the grant goes to (the requester's own, or the one made for the request) and the
 * role. The request id only matters for per-request logins.
 */
function namesOf(target: Pick<GrantTarget, 'requestId' | 'identity' | 'grant'>): {
  login: string;
  role: string;
  perRequest: boolean;
} {
  const login = identifierSchema.safeParse(target.identity);
  if (!login.success) {
    throw new InvalidInput(`database login ${JSON.stringify(target.identity)} ${issueOf(login)}`);
  }
  const grant = postgresGrantSchema.safeParse(target.grant);
  if (!grant.success)
    throw new InvalidInput(
      `grant block: ${grant.error.issues[0]?.path.join('.') || 'role'} ${issueOf(grant)}`,
    );
  const perRequest = grant.data.login === 'per-request';
  return {
    login: perRequest ? perRequestLoginName(login.data, target.requestId) : login.data,
    role: grant.data.role,
    perRequest,
  };
}

/**
 * Two revokes of the same membership at once (a double submit, an expiry meeting a revoke): the
 * one that loses the race fails with "tuple concurrently deleted/updated" (XX000). Run again, the
 * membership is gone and the REVOKE is the usual warning.
 */
async function onceMoreIfConcurrent<T>(statement: () => Promise<T>): Promise<T> {
  try {
    return await statement();
  } catch (error) {
    const raced =
      error instanceof DatabaseError && error.code === 'XX000' && /concurrently/.test(error.message);
    if (!raced) throw error;
    return statement();
  }
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}

/** A per-request login's name must not be the provider's own or a protected one. */
function refuseReservedLogin(client: PoolClient, login: string, protectedLogins: ReadonlySet<string>) {
  refuseProviderLogin(client, login);
  if (protectedLogins.has(login)) {
    throw new InvalidInput(
      `database login "${login}" is protected: the policy file lists it in protectedLogins`,
    );
  }
}

async function probePerRequest(client: PoolClient, login: string, role: string): Promise<string[]> {
  const { rows } = await client.query<{ createrole: boolean; taken: boolean }>(
    `SELECT rolcreaterole AS createrole,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS taken
       FROM pg_roles WHERE rolname = current_user`,
    [login],
  );
  const found = rows[0];
  return [
    `PostgreSQL login "${login}": ${found?.taken ? "exists already (the grant refuses it unless it is this request's)" : 'would be created for this request'}, LOGIN with VALID UNTIL at the grant's end, no password until the requester picks one up`,
    `role "${role}": would be granted to "${login}"`,
    `the provider's login ${found?.createrole ? 'has' : 'LACKS'} CREATEROLE (needed to create and drop per-request logins)`,
  ];
}

/** Permission trouble while making or dropping a per-request login, in words that say the fix. */
async function asCreateRoleFailure<T>(role: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DatabaseError && error.code === '42501') {
      throw new InvalidInput(
        `the provider's database login may not manage per-request logins for role "${role}": it ` +
          `needs CREATEROLE and ADMIN OPTION on the role (${error.message})`,
      );
    }
    if (error instanceof DatabaseError && error.code === '42704') {
      throw new InvalidInput(`database role "${role}" does not exist`);
    }
    throw error;
  }
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
    catalogQuery(
      client,
      'login_fitness',
      `SELECT r.rolcanlogin AS canlogin, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
              (SELECT count(*)::int FROM pg_auth_members m WHERE m.roleid = r.oid) AS members
         FROM pg_roles r WHERE r.rolname = $1`,
      [login],
    ),
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
