import { checkReason } from '../domain/policy.js';
import { requireAdmin } from './admins.js';
import { knownOrHeldResource } from './approvers.js';
import { recordDenial } from './deny.js';
import type { Deps } from './deps.js';
import { guardEnds, revokeMany } from './end-grant.js';
import { Conflict, checked, NotFound } from './errors.js';

/**
 * Taking access back before it expires: `/jit revoke`, the Revoke button, freezes and recall
 * hooks all end here. Each grant goes through `endGrant` (revoke on the target, then record), so
 * a revoke is as reliable as an expiry: if the target is down, a job keeps retrying and alerting.
 */

export type RevokeSubject =
  | { kind: 'request'; requestId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'resource'; resource: string };

export interface RevokeSummary {
  /** Grants taken back now. */
  revoked: string[];
  /** Pending requests denied instead (revoking one by id before it was granted). */
  denied: string[];
  /** The target could not be reached: a job keeps retrying, and the security channel is told. */
  retrying: string[];
  /** Nothing to take back (already ended meanwhile), with why. */
  unchanged: Array<{ id: string; why: string }>;
}

export interface RevokeOptions {
  /** Slack user id, or a system actor (`hook:recall`, `recall:idle`, `system`). */
  actorId: string;
  reason: string;
}

/** `/jit revoke <id|@user|resource> <reason…>` and the Revoke button: admins only. */
export async function revokeAsAdmin(
  deps: Deps,
  subject: RevokeSubject,
  options: RevokeOptions,
): Promise<RevokeSummary> {
  const requestId = subject.kind === 'request' ? subject.requestId : null;
  await requireAdmin(deps, options.actorId, `revoke ${describeSubject(subject)}`, requestId);
  const reason = checked(checkReason(options.reason), 'reason');
  if (subject.kind === 'request') return revokeOrDeny(deps, subject.requestId, { ...options, reason });
  if (subject.kind === 'resource') await knownOrHeldResource(deps, subject.resource);
  const ids = await grantsOf(deps, subject);
  return revokeGrants(deps, ids, { ...options, reason });
}

/**
 * One request by id: a grant is revoked; a request still waiting for approval is denied, so it
 * cannot be granted later; one already ended is left alone, and the answer says so.
 */
export async function revokeOrDeny(
  deps: Deps,
  requestId: string,
  options: RevokeOptions & { rule?: string },
): Promise<RevokeSummary> {
  const request = await deps.db.accessRequest.findUnique({ where: { id: requestId } });
  if (!request) throw new NotFound(`No request ${requestId}.`);
  if (request.state === 'pending') {
    try {
      await recordDenial(deps, requestId, options);
      return { ...emptySummary(), denied: [requestId] };
    } catch (error) {
      // Approved (or decided) meanwhile: fall through to revoking what it is now.
      if (!(error instanceof Conflict)) throw error;
    }
  }
  return revokeGrants(deps, [requestId], options);
}

export type GrantScope = Exclude<RevokeSubject, { kind: 'request' }> | { kind: 'all' };

/** The requests of a user, of a resource, or all of them, as a query filter. */
export function scopeFilter(scope: GrantScope): { requesterId?: string; resource?: string } {
  if (scope.kind === 'user') return { requesterId: scope.userId };
  if (scope.kind === 'resource') return { resource: scope.resource };
  return {};
}

/** Approved or active requests in scope: what may hold access on a target right now. */
export async function grantsOf(deps: Pick<Deps, 'db'>, scope: GrantScope): Promise<string[]> {
  const rows = await deps.db.accessRequest.findMany({
    where: { ...scopeFilter(scope), state: { in: ['approved', 'active'] } },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map((row) => row.id);
}

/**
 * Revokes each grant (several at once, recorded in batches). A grant the target cannot take back
 * now is handed to the revoke queue, which retries until it succeeds; one that ended meanwhile is
 * reported unchanged. Callers have checked the actor's authority.
 */
export async function revokeGrants(
  deps: Deps,
  requestIds: readonly string[],
  options: RevokeOptions,
): Promise<RevokeSummary> {
  await guardEnds(deps, requestIds, 'revoke', options.actorId, options.reason);
  const result = await revokeMany(deps, requestIds, options);
  const retrying: string[] = [];
  for (const { id, error } of result.failed) {
    deps.logger.warn({ requestId: id, err: error }, 'revoke failed; handing it to the retry queue');
    await deps.jobs
      .retryRevoke(id, 'revoke', options.actorId, options.reason)
      .catch((err) => deps.logger.error({ requestId: id, err }, 'revoke retry could not be enqueued'));
    retrying.push(id);
  }
  return {
    revoked: result.ended.map((request) => request.id).sort(),
    denied: [],
    retrying: retrying.sort(),
    unchanged: result.unchanged,
  };
}

function emptySummary(): RevokeSummary {
  return { revoked: [], denied: [], retrying: [], unchanged: [] };
}

function describeSubject(subject: RevokeSubject): string {
  if (subject.kind === 'request') return subject.requestId;
  if (subject.kind === 'user') return `<@${subject.userId}>`;
  return subject.resource;
}
