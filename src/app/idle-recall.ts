import type { Policy } from '../config/policy.js';
import { formatDuration } from '../domain/duration.js';
import type { AccessRequest } from '../generated/prisma/client.js';
import type { Deps } from './deps.js';
import { InvalidInput, ProviderUnavailable } from './errors.js';
import { snapshotOf } from './grant-snapshot.js';
import { grantTargetFor } from './grant-target.js';
import { revokeGrants } from './revoke.js';

/**
 * Idle recall (`recallAfterIdle` on a resource): a grant whose user has had no session on the
 * target for that long is revoked. Each round asks the provider once per grant. Revocation must
 * never rest on a guess, so a grant whose target cannot answer is left alone this round, and time
 * nobody was watching (the target or the checker was down) never counts as idle.
 */

export const idleRecallActor = 'recall:idle';

/** Remembers, per grant, since when it has been watched without interruption. */
export interface IdleWatch {
  /**
   * Records that the grant was looked at `now` and returns since when it has been looked at
   * without a gap longer than the watch allows; before that, whether it was idle is unknown.
   */
  watched(requestId: string, now: Date): Promise<Date>;
}

export interface IdleRecallReport {
  /** Grants the target answered for. */
  checked: number;
  /** Of those, grants with a session open: their `lastActiveAt` moved to now. */
  inUse: number;
  recalled: string[];
  /** Recalled, but the target refused the revoke for now: the revoke queue keeps retrying. */
  retrying: string[];
  /** The target could not say (unreachable, or the grant is misconfigured): decided next round. */
  skipped: string[];
}

type Verdict = 'in-use' | 'idle' | 'not-yet' | 'skipped';

/** Resources with `recallAfterIdle`, and the limit in seconds. */
export function idleLimits(policy: Policy): Map<string, number> {
  return new Map(
    Object.entries(policy.resources).flatMap(([name, resource]) =>
      resource.recallAfterIdle === undefined ? [] : [[name, resource.recallAfterIdle] as const],
    ),
  );
}

export async function recallIdleGrants(deps: Deps, watch: IdleWatch): Promise<IdleRecallReport> {
  const report: IdleRecallReport = { checked: 0, inUse: 0, recalled: [], retrying: [], skipped: [] };
  const limits = idleLimits(deps.policy);
  if (limits.size === 0) return report;
  const grants = await deps.db.accessRequest.findMany({
    // Grants past their end are the expiry's to take back, as an expiry.
    where: { state: 'active', resource: { in: [...limits.keys()] }, expiresAt: { gt: deps.clock.now() } },
    orderBy: { grantedAt: 'asc' },
  });
  // One unreachable target would otherwise cost a connect timeout per grant on it.
  const unreachable = new Set<string>();
  const idleByLimit = new Map<number, string[]>();
  for (const grant of grants) {
    const limitSec = limits.get(grant.resource) as number;
    const verdict = await judge(deps, watch, grant, limitSec, unreachable);
    if (verdict === 'skipped') {
      report.skipped.push(grant.id);
      continue;
    }
    report.checked++;
    if (verdict === 'in-use') report.inUse++;
    if (verdict === 'idle') idleByLimit.set(limitSec, [...(idleByLimit.get(limitSec) ?? []), grant.id]);
  }
  for (const [limitSec, ids] of idleByLimit) {
    const reason = `no session on the target for ${formatDuration(limitSec)} (recallAfterIdle)`;
    const summary = await revokeGrants(deps, ids, { actorId: idleRecallActor, reason });
    report.recalled.push(...summary.revoked);
    report.retrying.push(...summary.retrying);
  }
  if (report.recalled.length + report.retrying.length > 0) deps.logger.info(report, 'idle grants recalled');
  return report;
}

async function judge(
  deps: Deps,
  watch: IdleWatch,
  grant: AccessRequest,
  limitSec: number,
  unreachable: Set<string>,
): Promise<Verdict> {
  const providerName = snapshotOf(deps.policy, grant)?.provider ?? '?';
  if (unreachable.has(providerName)) return 'skipped';
  let sessions: number;
  try {
    sessions = await sessionsOf(deps, grant);
  } catch (error) {
    if (error instanceof ProviderUnavailable) unreachable.add(providerName);
    deps.logger.warn(
      { requestId: grant.id, provider: providerName, err: error },
      'idle check skipped this round: the target could not say whether the grant is in use',
    );
    return 'skipped';
  }
  const now = deps.clock.now();
  const watchedSince = await watch.watched(grant.id, now);
  if (sessions > 0) {
    // Not a transition: no version bump, no audit event, and nothing if the grant ended meanwhile.
    await deps.db.accessRequest.updateMany({
      where: { id: grant.id, state: 'active' },
      data: { lastActiveAt: now },
    });
    return 'in-use';
  }
  // Read again: a concurrent round may have seen a session after this one loaded the grant.
  const current = await deps.db.accessRequest.findUnique({
    where: { id: grant.id },
    select: { state: true, lastActiveAt: true, grantedAt: true },
  });
  if (current?.state !== 'active') return 'not-yet';
  const lastSeen = current.lastActiveAt ?? current.grantedAt ?? watchedSince;
  const idleSince = Math.max(lastSeen.getTime(), watchedSince.getTime());
  return now.getTime() - idleSince >= limitSec * 1000 ? 'idle' : 'not-yet';
}

async function sessionsOf(deps: Deps, grant: AccessRequest): Promise<number> {
  const { provider, target } = grantTargetFor(deps, grant, grant.expiresAt ?? deps.clock.now());
  if (!provider.activeSessions) {
    throw new InvalidInput(`provider type ${provider.type} cannot count sessions for idle recall`);
  }
  const sessions = await provider.activeSessions(target);
  // Anything but a count is no answer, and no answer must not read as idle.
  if (!Number.isInteger(sessions) || sessions < 0) {
    throw new InvalidInput(`provider type ${provider.type} answered ${String(sessions)} sessions`);
  }
  return sessions;
}
