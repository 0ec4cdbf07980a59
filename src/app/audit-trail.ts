import { type ChainedFields, hashAuditEvent } from '../audit/chain.js';
import { type AuditFilter, recentAuditEvents } from '../audit/export.js';
import { requireAdmin } from './admins.js';
import type { Deps } from './deps.js';
import { InvalidInput } from './errors.js';

/**
 * `/jit audit [id|@user]`: the latest events for the security team, in Slack. Checking every
 * link of a long chain takes a while, so this shows the chain's size and newest hash (which match
 * what the security channel received) and checks only the shown events against their own hashes;
 * `jit audit verify` checks the whole chain.
 */

export type AuditSubject =
  | { kind: 'request'; requestId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'all' }
  | { kind: 'resource'; resource: string };

export interface AuditTrailEvent extends ChainedFields {
  id: bigint;
  hash: string;
  /** The stored hash is the hash of the stored contents (false: the row was edited). */
  intact: boolean;
}

export interface AuditTrail {
  subject: AuditSubject;
  events: AuditTrailEvent[];
  chain: { count: number; newest: { id: bigint; hash: string } | null };
}

export const auditTrailLimit = 20;

export async function readAuditTrail(
  deps: Deps,
  actorId: string,
  subject: AuditSubject | null,
  limit = auditTrailLimit,
): Promise<AuditTrail> {
  const scope = subject ?? { kind: 'all' };
  const requestId = scope.kind === 'request' ? scope.requestId : null;
  await requireAdmin(deps, actorId, `audit ${describeSubject(scope)}`, requestId);
  const [rows, count, newest] = await Promise.all([
    recentAuditEvents(deps.db, filterFor(scope), limit),
    deps.db.auditEvent.count(),
    deps.db.auditEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true, hash: true } }),
  ]);
  const events = rows.map(({ prevHash, ...row }) => ({
    ...row,
    intact: hashAuditEvent(prevHash, row) === row.hash,
  }));
  return { subject: scope, events, chain: { count, newest } };
}

function filterFor(subject: AuditSubject): AuditFilter {
  switch (subject.kind) {
    case 'request':
      return { requestId: subject.requestId };
    case 'user':
      return { user: subject.userId };
    case 'all':
      return {};
    case 'resource':
      throw new InvalidInput('`/jit audit` takes a request id or a @user, or nothing for everything.');
  }
}

function describeSubject(subject: AuditSubject): string {
  if (subject.kind === 'request') return subject.requestId;
  if (subject.kind === 'user') return subject.userId;
  if (subject.kind === 'resource') return subject.resource;
  return 'all';
}
