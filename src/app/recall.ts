import { type PullRequestRef, reasonNamesPullRequest } from '../domain/recall.js';
import { knownOrHeldResource } from './approvers.js';
import type { Deps } from './deps.js';
import { type RevokeOptions, type RevokeSummary, revokeGrants, revokeOrDeny } from './revoke.js';

/**
 * Recalls: an outside system (a signed hook, a closed pull request) says the reason for some
 * access is gone. They revoke like an admin would, through `revokeGrants`, as a system actor —
 * the hook's signature is the authority — so each revocation is audited with the reason, and a
 * recall repeated or raced is a no-op for the grants already ended.
 */

export const recallActors = { recall: 'hook:recall', github: 'hook:github' } as const;

const holdingAccess = ['approved', 'active'] as const;

/**
 * One request by id. A request still waiting for approval is denied, so it cannot be granted
 * after its reason was recalled; one already ended is reported unchanged.
 */
export function recallByRequest(
  deps: Deps,
  requestId: string,
  options: RevokeOptions,
): Promise<RevokeSummary> {
  return revokeOrDeny(deps, requestId, { ...options, rule: 'recall' });
}

/** Every grant one user holds on one resource. */
export async function recallByUserAndResource(
  deps: Deps,
  subject: { userId: string; resource: string },
  options: RevokeOptions,
): Promise<RevokeSummary> {
  await knownOrHeldResource(deps, subject.resource);
  const rows = await deps.db.accessRequest.findMany({
    where: { requesterId: subject.userId, resource: subject.resource, state: { in: [...holdingAccess] } },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
  });
  return revokeGrants(
    deps,
    rows.map((row) => row.id),
    options,
  );
}

/** The grants whose reason names a pull request that was just closed. */
export async function recallForPullRequest(
  deps: Deps,
  pr: PullRequestRef,
  options: RevokeOptions,
): Promise<RevokeSummary> {
  // The number must appear in the reason in either form; the database narrows, the domain decides.
  const candidates = await deps.db.accessRequest.findMany({
    where: { state: { in: [...holdingAccess] }, reason: { contains: String(pr.number) } },
    select: { id: true, reason: true },
    orderBy: { createdAt: 'asc' },
  });
  const named = candidates.filter((row) => reasonNamesPullRequest(row.reason, pr)).map((row) => row.id);
  return revokeGrants(deps, named, options);
}
