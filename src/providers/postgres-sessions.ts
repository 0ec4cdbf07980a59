import { DatabaseError, type Pool, type PoolClient, type QueryConfig } from 'pg';
import { InvalidInput, ProviderUnavailable } from '../app/errors.js';

/** What the PostgreSQL provider asks the catalog about logins, for own and per-request logins alike. */

/** Connections of pools whose URL says `pgbouncer=true` (see src/db/statement-names.ts). */
const unnamedOn = new WeakSet<PoolClient>();

/** The pool's connections run the catalog queries unnamed: the target sits behind PgBouncer. */
export function catalogQueriesUnnamed(pool: Pool): void {
  pool.on('connect', (client) => unnamedOn.add(client as PoolClient));
}

/**
 * A catalog query the provider asks at every grant, revoke or sweep: named, so each connection
 * has the target parse and plan it once (planning the session query took longer than running it).
 */
export function catalogQuery(client: PoolClient, name: string, text: string, values: unknown[]): QueryConfig {
  return unnamedOn.has(client) ? { text, values } : { name: `jit_${name}`, text, values };
}

/** Whether the login is a direct member of the role, as the catalog says. */
export async function isMember(client: PoolClient, login: string, role: string): Promise<boolean> {
  const { rows } = await client.query<{ member: boolean }>(
    catalogQuery(
      client,
      'is_member',
      `SELECT EXISTS (
       SELECT 1 FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.roleid
         JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = $1 AND u.rolname = $2
     ) AS member`,
      [role, login],
    ),
  );
  return rows[0]?.member === true;
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
export async function endSessionsOf(client: PoolClient, logins: string[], waitMs: number): Promise<void> {
  const who = logins.length === 1 ? `"${logins[0]}"` : `${logins.length} logins`;
  try {
    // With a timeout, pg_terminate_backend (PostgreSQL 14+) waits until the backend has exited.
    const { rows } = await client.query<{ pid: number; ended: boolean }>(
      catalogQuery(
        client,
        'end_sessions',
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
      ),
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
export async function countSessionsOf(client: PoolClient, login: string): Promise<number> {
  const { rows } = await client.query<{ sessions: number }>(
    catalogQuery(
      client,
      'count_sessions',
      `SELECT count(*)::int AS sessions
         FROM pg_stat_activity
        WHERE usename = $1 AND pid <> pg_backend_pid()`,
      [login],
    ),
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
