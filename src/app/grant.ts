import { isFinal } from '../domain/lifecycle.js';
import type { AccessRequest, Freeze } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { requestColumns } from './columns.js';
import type { Deps } from './deps.js';
import { endGrant } from './end-grant.js';
import { InvalidInput } from './errors.js';
import { followUps } from './follow-ups.js';
import { freezesCovering, frozenReason, noFreezeCoversSql } from './freeze.js';
import { grantSnapshotSchema, policyChange, recordPrepared } from './grant-snapshot.js';
import { grantTargetFor } from './grant-target.js';
import { applyTransition, lockRequest, StaleVersion, transitionAtOnce } from './transition.js';

export type GrantOutcome = 'granted' | 'failed' | 'skipped' | 'frozen';

/**
 * Grants an approved request on its target and makes it active. Runs in the grant job: a
 * passing provider failure (`ProviderUnavailable`) is thrown so the job retries; a permanent one
 * ends the request in `grant_failed`. Idempotent: a request that is not `approved` is skipped.
 *
 * What is granted is the request's snapshot, which approvers saw. If the policy file has since
 * changed that resource's grant (or dropped it), nothing is granted: the request fails and has to
 * be asked for again, so neither the old grant nor an unapproved new one goes out.
 */
export async function grantAccess(deps: Deps, requestId: string): Promise<GrantOutcome> {
  const request = await deps.db.accessRequest.findUnique({ where: { id: requestId } });
  if (!request) return 'skipped';
  if (request.state !== 'approved') {
    // A run of this job that died after the target granted: the request ended meanwhile.
    if (isFinal(request.state) && request.cleanupNeeded) await deps.jobs.cleanupRevoke(requestId);
    return 'skipped';
  }
  const changed = policyChange(deps.policy, request);
  if (changed) {
    await failGrant(deps, requestId, `Not granted: since it was approved, ${changed}. Ask again.`);
    return 'failed';
  }
  const expiresAt = new Date(deps.clock.now().getTime() + request.durationSec * 1000);
  const log = deps.logger.child({ requestId });

  let started: Awaited<ReturnType<typeof recordGrantStart>>;
  let granting: ReturnType<typeof grantTargetFor>;
  try {
    granting = grantTargetFor(deps, request, expiresAt);
    if (granting.provider.checkIdentity) await granting.provider.checkIdentity(granting.target);
    started = await recordGrantStart(deps, request, granting);
  } catch (error) {
    if (!(error instanceof InvalidInput)) throw error;
    await failGrant(deps, requestId, error.message);
    return 'failed';
  }
  if (started === null) return 'skipped';
  if (!('id' in started)) {
    // Approved before the freeze, granted after it: never. approved → revoked, nothing on the target.
    await endGrant(deps, {
      requestId,
      event: 'revoke',
      actorId: 'system',
      reason: frozenReason(started.frozen),
    });
    return 'frozen';
  }
  const { provider } = granting;
  const target = grantTargetFor(deps, started, expiresAt).target;

  try {
    await provider.grant(target);
  } catch (error) {
    if (!(error instanceof InvalidInput)) throw error;
    await failGrant(deps, requestId, error.message);
    return 'failed';
  }

  try {
    const { request: active, auditId } = await transitionAtOnce(deps, started, {
      event: 'grant_succeeded',
      actor: 'system',
      data: { grantedAt: deps.clock.now(), expiresAt },
      details: { identity: request.identity, expiresAt: expiresAt.toISOString() },
    });
    log.info({ expiresAt }, 'access granted');
    await afterCommit(deps, requestId, [
      () => deps.jobs.expireAt(requestId, expiresAt),
      () => deps.jobs.notify(active, followUps(active.state), [auditId]),
    ]);
    return 'granted';
  } catch (error) {
    if (!(error instanceof StaleVersion)) throw error;
    // The request moved on while we were granting (revoked, frozen, or another worker granted
    // it). If it may no longer hold access, what we just gave is taken back by the same durable,
    // retried and alerted path as an expiry.
    const now = await deps.db.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
    if (isFinal(now.state)) await owesCleanup(deps, requestId);
    log.info({ state: now.state }, 'request changed while granting');
    return 'skipped';
  }
}

/**
 * Before the provider is called: the start of the attempt and what the provider says it will
 * create (`prepare`), merged over earlier attempts, written to the request. A crash after the
 * target acted cannot lose what has to be taken back. Null when the request is no longer
 * approved; `frozen` (and nothing written) when a standing freeze covers it.
 */
async function recordGrantStart(
  deps: Deps,
  request: AccessRequest,
  { provider, target }: ReturnType<typeof grantTargetFor>,
): Promise<AccessRequest | { frozen: Freeze } | null> {
  const frozen = async () => {
    const [freeze] = await freezesCovering(deps, request);
    return freeze ? { frozen: freeze } : null;
  };
  if (!provider.prepare && grantSnapshotSchema.safeParse(request.grantSnapshot).success) {
    // Nothing to add to a stored snapshot: the start alone, one conditional statement that also
    // asks for no standing freeze (only when it writes nothing is the freeze looked up).
    const at = deps.clock.now();
    const [started] = await deps.db.$queryRaw<AccessRequest[]>`
      UPDATE "access_requests" SET "grantStartedAt" = coalesce("grantStartedAt", ${at}), "updatedAt" = ${at}
      WHERE "id" = ${request.id} AND "state" = 'approved'::"RequestState"
        AND ${noFreezeCoversSql(request)}
      RETURNING ${requestColumns()}`;
    if (started) return started;
    const now = await deps.db.accessRequest.findUnique({
      where: { id: request.id },
      select: { state: true },
    });
    return now?.state === 'approved' ? frozen() : null;
  }
  const standing = await frozen();
  if (standing) return standing;
  const created = provider.prepare ? await provider.prepare(target) : {};
  return recordPrepared(deps, request.id, 'approved', created, (current) => ({
    grantStartedAt: current.grantStartedAt ?? deps.clock.now(),
  }));
}

/** Marks the cleanup as owed (so the sweep keeps it alive) and hands it to the revoke queue. */
async function owesCleanup(deps: Deps, requestId: string): Promise<void> {
  await deps.db.accessRequest.update({ where: { id: requestId }, data: { cleanupNeeded: true } });
  await deps.jobs.cleanupRevoke(requestId);
}

/**
 * Ends an approved request in `grant_failed`. Anything a failed attempt may have left on the
 * target is taken back by the cleanup revoke, durable and retried like an expiry.
 */
export async function failGrant(deps: Deps, requestId: string, why: string): Promise<AccessRequest | null> {
  const result = await deps.db.$transaction(async (tx) => {
    const current = await lockRequest(tx, requestId);
    if (current.state !== 'approved') return null;
    return applyTransition(deps, tx, current, {
      event: 'grant_failed',
      actor: 'system',
      data: { endedAt: deps.clock.now(), endReason: why },
      details: { error: why },
    });
  });
  if (!result) return null;
  deps.logger.warn({ requestId, why }, 'grant failed');
  await afterCommit(deps, requestId, [
    ...(result.request.cleanupNeeded ? [() => deps.jobs.cleanupRevoke(requestId)] : []),
    () => deps.jobs.notify(result.request, followUps(result.request.state), [result.auditId]),
  ]);
  return result.request;
}
