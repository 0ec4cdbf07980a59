import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { DatabaseError, escapeIdentifier, escapeLiteral, type PoolClient } from 'pg';
import { InvalidInput } from '../app/errors.js';
import type { IssuedCredential, ManagedGrant } from '../app/provider.js';
import { endSessionsOf, isMember } from './postgres-sessions.js';

/**
 * Per-request logins (`login: per-request` on a resource): instead of a membership on the
 * requester's own login, the grant is a login of its own, made for the request, member of the
 * role, with `VALID UNTIL` at the grant's end, so PostgreSQL itself refuses it past its expiry
 * even if the bot is down then. It has no password until the requester picks one up from the
 * bot's own page (never through Slack); each pickup sets a fresh one. The revoke makes it NOLOGIN,
 * ends its sessions and drops it.
 *
 * The login carries the bot's mark as its comment (`jit-bot: request <id> until <ISO time>`):
 * the provider never touches a role of that name without it, and drift finds leftovers by it.
 * Creating, commenting on and dropping roles needs CREATEROLE on the provider's login.
 */

const MARK_PREFIX = 'jit-bot: request ';
const MARK = /^jit-bot: request (\S+) until (\S+)$/;
/** The comment left on a login that could not be dropped: no longer a grant, not touched again. */
const ENDED_MARK = (requestId: string) => `jit-bot: request ${requestId} ended; kept because it owns objects`;

/** The login made for a request: `<identity>_jit_<request id>`, lower case, at most 63 bytes. */
export function perRequestLoginName(identity: string, requestId: string): string {
  const tail = requestId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .replace(/^jit/, '')
    .slice(-12);
  const head = identity.toLowerCase().slice(0, 63 - '_jit_'.length - tail.length);
  return `${head}_jit_${tail}`;
}

const markFor = (requestId: string, until: Date) => `${MARK_PREFIX}${requestId} until ${until.toISOString()}`;

interface LoginRow {
  canlogin: boolean;
  mark: string | null;
}

async function findLogin(client: PoolClient, login: string): Promise<LoginRow | null> {
  const { rows } = await client.query<LoginRow>(
    `SELECT rolcanlogin AS canlogin, shobj_description(oid, 'pg_authid') AS mark
       FROM pg_roles WHERE rolname = $1`,
    [login],
  );
  return rows[0] ?? null;
}

/** Whether the role's comment is this request's mark (any expiry: extensions move it). */
function isMarkOf(mark: string | null, requestId: string): boolean {
  return MARK.exec(mark ?? '')?.[1] === requestId;
}

function notOurs(login: string, requestId: string): InvalidInput {
  return new InvalidInput(
    `a role named "${login}" exists and is not the login made for ${requestId}: it is left alone`,
  );
}

/**
 * Makes the login (or brings the one an earlier attempt made up to date): LOGIN, no password,
 * VALID UNTIL the grant's end, member of the role, marked. One transaction.
 */
export async function createPerRequestLogin(
  client: PoolClient,
  names: { login: string; role: string },
  requestId: string,
  until: Date,
): Promise<void> {
  const { login, role } = names;
  const existing = await findLogin(client, login);
  if (existing && !isMarkOf(existing.mark, requestId)) throw notOurs(login, requestId);
  const id = escapeIdentifier(login);
  const validUntil = escapeLiteral(until.toISOString());
  await inTransaction(client, async () => {
    if (existing) {
      await client.query(`ALTER ROLE ${id} LOGIN VALID UNTIL ${validUntil}`);
      await client.query(`GRANT ${escapeIdentifier(role)} TO ${id}`);
    } else {
      await client.query(
        `CREATE ROLE ${id} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS ` +
          `PASSWORD NULL VALID UNTIL ${validUntil} IN ROLE ${escapeIdentifier(role)}`,
      );
    }
    await client.query(`COMMENT ON ROLE ${id} IS ${escapeLiteral(markFor(requestId, until))}`);
  });
}

/**
 * Takes the login away: NOLOGIN first (no new session can start), its sessions ended, then
 * dropped, which ends its memberships too. A login that came to own objects cannot be dropped:
 * it is left NOLOGIN without any membership, its mark saying so, for a DBA to look at.
 * A login that is gone is revoked already.
 */
export async function dropPerRequestLogin(
  client: PoolClient,
  login: string,
  requestId: string,
  sessionEndWaitMs: number,
): Promise<void> {
  const existing = await findLogin(client, login);
  if (!existing) return;
  if (!isMarkOf(existing.mark, requestId)) throw notOurs(login, requestId);
  const id = escapeIdentifier(login);
  await client.query(`ALTER ROLE ${id} NOLOGIN PASSWORD NULL VALID UNTIL 'epoch'`);
  await endSessionsOf(client, [login], sessionEndWaitMs);
  try {
    await client.query(`DROP ROLE ${id}`);
  } catch (error) {
    // 2BP01: it owns objects or holds privileges of its own.
    if (!(error instanceof DatabaseError) || error.code !== '2BP01') throw error;
    await inTransaction(client, async () => {
      const { rows } = await client.query<{ rolname: string }>(
        `SELECT r.rolname FROM pg_auth_members m
           JOIN pg_roles r ON r.oid = m.roleid
           JOIN pg_roles u ON u.oid = m.member
          WHERE u.rolname = $1`,
        [login],
      );
      for (const { rolname } of rows) await client.query(`REVOKE ${escapeIdentifier(rolname)} FROM ${id}`);
      await client.query(`COMMENT ON ROLE ${id} IS ${escapeLiteral(ENDED_MARK(requestId))}`);
    });
  }
}

/** The login exists, is this request's, can log in, holds the role and expires by itself. */
export async function verifyPerRequestLogin(
  client: PoolClient,
  names: { login: string; role: string },
  requestId: string,
): Promise<boolean> {
  const existing = await findLogin(client, names.login);
  if (!existing?.canlogin || !isMarkOf(existing.mark, requestId)) return false;
  const { rows } = await client.query<{ until: Date | null }>(
    'SELECT rolvaliduntil AS until FROM pg_roles WHERE rolname = $1',
    [names.login],
  );
  if (!rows[0]?.until) return false;
  return isMember(client, names.login, names.role);
}

/** Moves VALID UNTIL (and the mark) to the grant's new end, after an extension. */
export async function extendPerRequestLogin(
  client: PoolClient,
  login: string,
  requestId: string,
  until: Date,
): Promise<void> {
  const existing = await findLogin(client, login);
  if (!existing || !isMarkOf(existing.mark, requestId)) throw notOurs(login, requestId);
  const id = escapeIdentifier(login);
  await inTransaction(client, async () => {
    await client.query(`ALTER ROLE ${id} VALID UNTIL ${escapeLiteral(until.toISOString())}`);
    await client.query(`COMMENT ON ROLE ${id} IS ${escapeLiteral(markFor(requestId, until))}`);
  });
}

/**
 * A fresh password on the login, valid until the grant's end. The server is sent its SCRAM
 * verifier, never the password: it cannot show up in the server's statement log.
 */
export async function setPerRequestPassword(
  client: PoolClient,
  login: string,
  requestId: string,
  until: Date,
): Promise<IssuedCredential> {
  const existing = await findLogin(client, login);
  if (!existing?.canlogin || !isMarkOf(existing.mark, requestId)) {
    throw new InvalidInput(`the login made for ${requestId} is not there (any more): nothing to issue`);
  }
  const password = randomBytes(24).toString('base64url');
  await client.query(
    `ALTER ROLE ${escapeIdentifier(login)} PASSWORD ${escapeLiteral(scramVerifier(password))} ` +
      `VALID UNTIL ${escapeLiteral(until.toISOString())}`,
  );
  return { login, password, validUntil: until };
}

/**
 * Every login carrying the bot's mark that holds a role this provider hands out (one it has ADMIN
 * OPTION on), for drift: another bot's logins on the same cluster, for other roles, are not its own.
 */
export async function listPerRequestLogins(client: PoolClient): Promise<ManagedGrant[]> {
  const { rows } = await client.query<{ rolname: string; mark: string }>(
    `SELECT r.rolname, shobj_description(r.oid, 'pg_authid') AS mark
       FROM pg_roles r
      WHERE shobj_description(r.oid, 'pg_authid') LIKE $1
        AND EXISTS (SELECT 1 FROM pg_auth_members m
                     WHERE m.member = r.oid AND pg_has_role(current_user, m.roleid, 'MEMBER WITH ADMIN OPTION'))`,
    [`${MARK_PREFIX}%`],
  );
  return rows.flatMap(({ rolname, mark }) => {
    const match = MARK.exec(mark);
    if (!match?.[1] || !match[2]) return [];
    const expiresAt = new Date(match[2]);
    return [
      {
        requestId: match[1],
        expiresAt: Number.isNaN(expiresAt.getTime()) ? null : expiresAt,
        ref: `login/${rolname}`,
      },
    ];
  });
}

/** The login name in a `listPerRequestLogins` ref. */
export function loginOfRef(ref: string): string | null {
  return ref.startsWith('login/') ? ref.slice('login/'.length) : null;
}

/**
 * PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677, as `\password` sends it):
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. The password is base64url, so it
 * needs no SASLprep.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const b64 = (bytes: Buffer) => bytes.toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

async function inTransaction(client: PoolClient, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
