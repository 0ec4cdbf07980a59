import pLimit from 'p-limit';
import { appendAuditEvents } from '../audit/chain.js';
import { auditActionFor, mayHoldAccess, transition } from '../domain/lifecycle.js';
import type { AccessRequest } from '../generated/prisma/client.js';
import { isSystemActor } from './admins.js';
import { afterCommit } from './after-commit.js';
import { isAdmin } from './approvers.js';
import type { Deps } from './deps.js';
import { Conflict, NotAllowed, NotFound, ProviderUnavailable } from './errors.js';
import { followUps } from './follow-ups.js';
import { grantTargetFor } from './grant-target.js';
import type { GrantTarget, Provider } from './provider.js';
import { applyTransition, lockRequest, StaleVersion, transitionAtOnce } from './transition.js';

export type EndEvent = 'expire' | 'release' | 'revoke';

export interface EndGrantInput {
  requestId: string;
  event: EndEvent;
  /** Slack user id, or `system` for expiry. */
  actorId: string;
  reason?: string | null;
}

export type EndGrantResult =
  | { outcome: 'ended'; request: AccessRequest }
  /** Expiry fired before `expiresAt` (the grant was extended); the caller reschedules. */
  | { outcome: 'not-due'; request: AccessRequest };

/**
 * Takes access back on the target, then records the end. Revoking first means a crash in between
 * leaves the request `active` with nothing on the target, and the retry (or the sweep) revokes
 * again, which providers treat as a no-op, and records it. If the request changed while the
 * provider was working (e.g. a grant landed), the revoke is repeated against the new version.
 * A `ProviderUnavailable` error propagates so the caller can retry.
 */
export async function endGrant(
  deps: Deps,
  input: EndGrantInput,
  /** The request as the caller just read it, to start from instead of reading it again. */
  known?: AccessRequest,
): Promise<EndGrantResult> {
  for (let attempt = 0; ; attempt++) {
    const request =
      attempt === 0 && known?.id === input.requestId
        ? known
        : await deps.db.accessRequest.findUnique({ where: { id: input.requestId } });
    if (!request) throw new NotFound(`No request ${input.requestId}.`);
    await checkActor(deps, request, input);
    const step = transition(request.state, input.event);
    if (!step.ok) throw new Conflict(`${request.id}: ${step.reason}; nothing to take back.`);
    const now = deps.clock.now();
    if (input.event === 'expire' && request.expiresAt && request.expiresAt > now) {
      return { outcome: 'not-due', request };
    }
    try {
      const { provider, target } = grantTargetFor(deps, request, request.expiresAt ?? now);
      await provider.revoke(target);
    } catch (error) {
      deps.metrics.revokeFailed(request.resource);
      throw error;
    }
    try {
      return { outcome: 'ended', request: await recordEnd(deps, request, input) };
    } catch (error) {
      if (!(error instanceof StaleVersion) || attempt >= 5) throw error;
    }
  }
}

async function recordEnd(deps: Deps, seen: AccessRequest, input: EndGrantInput): Promise<AccessRequest> {
  const reason = input.reason?.trim() || null;
  const { request, auditId } = await transitionAtOnce(deps, seen, {
    event: input.event,
    actor: input.actorId,
    data: { endedAt: deps.clock.now(), endReason: reason },
    details: reason ? { reason } : {},
  });
  deps.logger.info({ requestId: request.id, state: request.state }, 'access ended');
  if (input.event === 'expire' && seen.expiresAt) {
    deps.metrics.expiryLateness((deps.clock.now().getTime() - seen.expiresAt.getTime()) / 1000);
  }
  await afterCommit(deps, request.id, [() => deps.jobs.notify(request, followUps(request.state), [auditId])]);
  return request;
}

async function checkActor(deps: Deps, request: AccessRequest, input: EndGrantInput): Promise<void> {
  if (input.event === 'release' && input.actorId !== request.requesterId) {
    throw new NotAllowed(`Only the requester can release ${request.id}.`);
  }
  // System actors (expiry, freezes, signed hooks, idle recall) come from verified code paths.
  if (input.event === 'revoke' && !isSystemActor(input.actorId) && !(await isAdmin(deps, input.actorId))) {
    throw new NotAllowed('Only the security team (admins in the policy file) can revoke.');
  }
}

/**
 * `/jit release <id>` by the requester: ends an active grant, or withdraws a request that is
 * still waiting for approval.
 */
export async function releaseRequest(deps: Deps, requestId: string, actorId: string): Promise<AccessRequest> {
  const found = await deps.db.accessRequest.findUnique({ where: { id: requestId } });
  if (!found) throw new NotFound(`No request ${requestId}.`);
  if (found.requesterId !== actorId) throw new NotAllowed(`Only the requester can release ${requestId}.`);
  if (found.state !== 'pending') {
    const guarded = mayHoldAccess(found.state);
    if (guarded) await guardEnds(deps, [requestId], 'release', actorId, null);
    try {
      const { request } = await endGrant(deps, { requestId, event: 'release', actorId }, found);
      if (guarded) {
        await deps.jobs
          .dropGuard(requestId, 'release')
          .catch((err) => deps.logger.warn({ requestId, err }, 'release guard left to run (a no-op)'));
      }
      return request;
    } catch (error) {
      // As with an expiry: the release is repeated until the target answers.
      if (error instanceof ProviderUnavailable) {
        await deps.jobs
          .retryRevoke(requestId, 'release', actorId, null)
          .catch((err) => deps.logger.error({ requestId, err }, 'release retry could not be enqueued'));
      }
      throw error;
    }
  }
  const { request, auditId } = await deps.db.$transaction(async (tx) =>
    applyTransition(deps, tx, await lockRequest(tx, requestId), {
      event: 'cancel',
      actor: actorId,
      data: { endedAt: deps.clock.now() },
    }),
  );
  await afterCommit(deps, requestId, [
    () => deps.jobs.notify(request, followUps(request.state, { requesterAnswered: true }), [auditId]),
  ]);
  return request;
}

/**
 * Called before taking access back outside a job (a click, a command, a hook), where nothing
 * would repeat the attempt if this process died between the target and the record: the guard
 * jobs finish it then. Without Redis the attempt goes ahead unguarded.
 */
export async function guardEnds(
  deps: Deps,
  requestIds: readonly string[],
  event: 'release' | 'revoke',
  actorId: string,
  reason: string | null,
): Promise<void> {
  await deps.jobs
    .guardRevokes(requestIds, event, actorId, reason)
    .catch((err) => deps.logger.warn({ err, count: requestIds.length }, 'ending without a guard job'));
}

export interface BulkEndResult {
  ended: AccessRequest[];
  /** Expiries not due yet (the grant was extended meanwhile): the caller reschedules them. */
  notDue: AccessRequest[];
  /** Nothing to take back (already ended): why. */
  unchanged: Array<{ id: string; why: string }>;
  /** The target refused or did not answer: the caller hands these to the retry queue. */
  failed: Array<{ id: string; error: unknown }>;
}

/** Grants revoked on their targets at once; each provider's pool bounds the real parallelism. */
const BULK_TARGET_CONCURRENCY = 16;
/** Ends recorded per transaction (and per hold of the audit chain's lock). */
const BULK_RECORD_BATCH = 200;

/**
 * Revokes many grants (a freeze, a revoke by user or resource) the way `endGrant` revokes one —
 * on the target first, then the record — but records them in batches: one transaction, one row
 * lock statement and one audit-chain lock per batch instead of per grant. A grant that changed
 * between the two steps goes through `endGrant` on its own. The caller checks authority.
 */
export async function revokeMany(
  deps: Deps,
  requestIds: readonly string[],
  input: { actorId: string; reason: string | null },
): Promise<BulkEndResult> {
  return endMany(deps, requestIds, { ...input, event: 'revoke' });
}

/**
 * Expiries that fall due together, ended the same way (the revoke worker hands over the expiry
 * jobs running at the same moment): one bulk REVOKE per role and one transaction instead of one
 * of each per grant, so a burst of expiries does not queue up behind the audit chain's lock.
 */
export async function expireMany(deps: Deps, requestIds: readonly string[]): Promise<BulkEndResult> {
  return endMany(deps, requestIds, { event: 'expire', actorId: 'system', reason: null });
}

/** How many request ids a bulk revoke's summary names; the audit trail has every one. */
const bulkListed = 20;

type BulkEndInput = { event: 'expire' | 'revoke'; actorId: string; reason: string | null };

const endStates = { expire: 'expired', revoke: 'revoked' } as const;

/** A batch slower than this is logged with where its time went. */
const SLOW_BATCH_MS = 1_000;

async function endMany(
  deps: Deps,
  requestIds: readonly string[],
  input: BulkEndInput,
): Promise<BulkEndResult> {
  const result: BulkEndResult = { ended: [], notDue: [], unchanged: [], failed: [] };
  for (let start = 0; start < requestIds.length; start += BULK_RECORD_BATCH) {
    const ids = requestIds.slice(start, start + BULK_RECORD_BATCH);
    const rows = await deps.db.accessRequest.findMany({ where: { id: { in: [...ids] } } });
    const found = new Set(rows.map((row) => row.id));
    for (const id of ids) if (!found.has(id)) result.unchanged.push({ id, why: `No request ${id}.` });
    const now = deps.clock.now();
    const due: AccessRequest[] = [];
    for (const row of rows) {
      const step = transition(row.state, input.event);
      if (!step.ok) {
        result.unchanged.push({ id: row.id, why: `${row.id}: ${step.reason}; nothing to take back.` });
      } else if (input.event === 'expire' && row.expiresAt && row.expiresAt > now) {
        result.notDue.push(row);
      } else {
        due.push(row);
      }
    }
    const started = performance.now();
    const { revoked, failed } = await revokeOnTargets(deps, due);
    result.failed.push(...failed);
    const targetsDone = performance.now();
    const { ended, stale } = await recordEnds(deps, revoked, input);
    const recorded = performance.now();
    if (recorded - started > SLOW_BATCH_MS) {
      deps.logger.warn(
        {
          grants: due.length,
          targetMs: Math.round(targetsDone - started),
          recordMs: Math.round(recorded - targetsDone),
        },
        'slow revocation batch',
      );
    }
    result.ended.push(...ended);
    for (const request of stale) {
      try {
        const again = await endGrant(deps, { requestId: request.id, ...input });
        (again.outcome === 'not-due' ? result.notDue : result.ended).push(again.request);
      } catch (error) {
        if (error instanceof Conflict || error instanceof NotFound) {
          result.unchanged.push({ id: request.id, why: error.message });
        } else {
          result.failed.push({ id: request.id, error });
        }
      }
    }
  }
  return result;
}

/**
 * Takes the grants back on their targets: per provider in one call where it can (`revokeAll`),
 * and one by one, a few at a time, where it cannot or where that call failed.
 */
async function revokeOnTargets(
  deps: Deps,
  requests: readonly AccessRequest[],
): Promise<{ revoked: AccessRequest[]; failed: BulkEndResult['failed'] }> {
  const revoked: AccessRequest[] = [];
  const failed: BulkEndResult['failed'] = [];
  const byProvider = new Map<Provider, Array<{ request: AccessRequest; target: GrantTarget }>>();
  for (const request of requests) {
    try {
      const { provider, target } = grantTargetFor(deps, request, request.expiresAt ?? deps.clock.now());
      byProvider.set(provider, [...(byProvider.get(provider) ?? []), { request, target }]);
    } catch (error) {
      failed.push({ id: request.id, error });
    }
  }
  const limit = pLimit(BULK_TARGET_CONCURRENCY);
  for (const [provider, grants] of byProvider) {
    if (provider.revokeAll && grants.length > 1) {
      try {
        await provider.revokeAll(grants.map((grant) => grant.target));
        revoked.push(...grants.map((grant) => grant.request));
        continue;
      } catch (error) {
        deps.logger.info({ err: error, count: grants.length }, 'bulk revoke failed; revoking one by one');
      }
    }
    await Promise.all(
      grants.map(({ request, target }) =>
        limit(async () => {
          try {
            await provider.revoke(target);
            revoked.push(request);
          } catch (error) {
            failed.push({ id: request.id, error });
          }
        }),
      ),
    );
  }
  const resourceOf = new Map(requests.map((request) => [request.id, request.resource]));
  for (const { id } of failed) deps.metrics.revokeFailed(resourceOf.get(id) ?? 'unknown');
  return { revoked, failed };
}

async function recordEnds(
  deps: Deps,
  seen: readonly AccessRequest[],
  input: BulkEndInput,
): Promise<{ ended: AccessRequest[]; stale: AccessRequest[] }> {
  if (seen.length === 0) return { ended: [], stale: [] };
  const reason = input.reason?.trim() || null;
  const endState = endStates[input.event];
  const now = deps.clock.now();
  const { ended, stale, auditIds, summaryIds } = await deps.db.$transaction(async (tx) => {
    const ids = seen.map((request) => request.id).sort();
    // One statement, in id order: concurrent bulk revokes lock in the same order.
    await tx.$executeRaw`SELECT 1 FROM "access_requests" WHERE "id" = ANY(${ids}) ORDER BY "id" FOR UPDATE`;
    const current = new Map(
      (await tx.accessRequest.findMany({ where: { id: { in: ids } } })).map((row) => [row.id, row]),
    );
    const due = seen.filter((request) => current.get(request.id)?.version === request.version);
    const stale = seen.filter((request) => !due.includes(request));
    if (due.length === 0) return { ended: [], stale, auditIds: [], summaryIds: [] };
    await tx.accessRequest.updateMany({
      where: { id: { in: due.map((request) => request.id) } },
      data: { state: endState, endedAt: now, endReason: reason, version: { increment: 1 } },
    });
    // As in applyTransition: an approved request whose grant attempt had started owes a cleanup.
    const owing = due.filter((request) => {
      const row = current.get(request.id);
      return row?.state === 'approved' && row.grantStartedAt !== null;
    });
    if (owing.length > 0) {
      await tx.accessRequest.updateMany({
        where: { id: { in: owing.map((request) => request.id) } },
        data: { cleanupNeeded: true },
      });
    }
    // A revoke of many grants at once (a freeze, `/jit revoke @user`) is one summary message in
    // the security channel, not one per grant: each grant's event is marked as summarised and its
    // card still shows the end. Expiries stay one event each, in their cards' threads.
    const summarised = input.event === 'revoke' && due.length > 1;
    const appended = await appendAuditEvents(
      tx,
      [
        ...due.map((request) => ({
          requestId: request.id,
          actor: input.actorId,
          action: auditActionFor(endState),
          fromState: request.state,
          toState: endState,
          details: { ...(reason ? { reason } : {}), ...(summarised ? { summarised: true } : {}) },
        })),
        ...(summarised
          ? [
              {
                actor: input.actorId,
                action: 'revoke.bulk',
                details: {
                  count: due.length,
                  ...(reason ? { reason } : {}),
                  requests: due.slice(0, bulkListed).map((request) => request.id),
                },
              },
            ]
          : []),
      ],
      now,
    );
    const ended = await tx.accessRequest.findMany({
      where: { id: { in: due.map((request) => request.id) } },
    });
    // In the order appended: one per grant, then the summary if any.
    return { ended, stale, auditIds: appended.slice(0, due.length), summaryIds: appended.slice(due.length) };
  });
  deps.logger.info({ count: ended.length, actor: input.actorId, state: endState }, 'access ended in bulk');
  deps.metrics.requestEnded(endState, ended.length);
  if (input.event === 'expire') {
    for (const request of ended) {
      if (request.expiresAt)
        deps.metrics.expiryLateness((now.getTime() - request.expiresAt.getTime()) / 1000);
    }
  }
  // The summary of a bulk revoke is an alert; the grants' own events are routine.
  await afterCommit(deps, '-', [
    () => deps.jobs.postAudit(auditIds),
    () => deps.jobs.postAudit(summaryIds, { urgent: true }),
    () => deps.jobs.notifyMany(ended, followUps(endState)),
  ]);
  return { ended, stale };
}
