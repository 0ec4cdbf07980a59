import { mayHoldAccess } from '../domain/lifecycle.js';
import type { AccessRequest } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import type { Deps } from './deps.js';
import { endGrant } from './end-grant.js';
import { InvalidInput } from './errors.js';
import { freezesCovering, frozenReason } from './freeze.js';
import { grantTargetFor } from './grant-target.js';
import { applyTransition, lockRequest, StaleVersion } from './transition.js';

export type GrantOutcome = 'granted' | 'failed' | 'skipped' | 'frozen';

/**
 * Grants an approved request on its target and makes it active. Runs in the grant job: a
 * passing provider failure (`ProviderUnavailable`) is thrown so the job retries; a permanent one
 * ends the request in `grant_failed`. Idempotent: a request that is not `approved` is skipped.
 */
export async function grantAccess(deps: Deps, requestId: string): Promise<GrantOutcome> {
  const request = await deps.db.accessRequest.findUnique({ where: { id: requestId } });
  if (request?.state !== 'approved') return 'skipped';
  const [frozen] = await freezesCovering(deps, request);
  if (frozen) {
    // Approved before the freeze, granted after it: never. approved → revoked, nothing on the target.
    await endGrant(deps, { requestId, event: 'revoke', actorId: 'system', reason: frozenReason(frozen) });
    return 'frozen';
  }
  const expiresAt = new Date(deps.clock.now().getTime() + request.durationSec * 1000);
  const { provider, target } = grantTargetFor(deps, request, expiresAt);
  const log = deps.logger.child({ requestId });

  try {
    await provider.grant(target);
  } catch (error) {
    if (!(error instanceof InvalidInput)) throw error;
    await failGrant(deps, requestId, error.message);
    return 'failed';
  }

  try {
    const { request: active, auditId } = await deps.db.$transaction(async (tx) =>
      applyTransition(deps, tx, await lockRequest(tx, requestId), {
        event: 'grant_succeeded',
        actor: 'system',
        data: { grantedAt: deps.clock.now(), expiresAt },
        details: { identity: request.identity, expiresAt: expiresAt.toISOString() },
        expectVersion: request.version,
      }),
    );
    log.info({ expiresAt }, 'access granted');
    await afterCommit(deps, requestId, [
      () => deps.jobs.expireAt(requestId, expiresAt),
      () => deps.jobs.postAudit([auditId]),
      () => deps.jobs.notify(active, 'refresh'),
      () => deps.jobs.notify(active, 'tell-requester'),
      () => deps.jobs.notify(active, 'announce-grant'),
    ]);
    return 'granted';
  } catch (error) {
    if (!(error instanceof StaleVersion)) throw error;
    // The request moved on while we were granting (revoked, or another worker granted it). If it
    // may no longer hold access, take back what we just gave.
    const now = await deps.db.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
    if (!mayHoldAccess(now.state)) await provider.revoke(target);
    log.info({ state: now.state }, 'request changed while granting');
    return 'skipped';
  }
}

/**
 * Ends an approved request in `grant_failed`. The provider is asked to revoke as well, in case
 * the failed attempt left anything behind; that cleanup is best effort.
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
  try {
    const { provider, target } = grantTargetFor(deps, result.request, deps.clock.now());
    await provider.revoke(target);
  } catch (error) {
    deps.logger.warn({ requestId, err: error }, 'cleanup revoke after a failed grant did not succeed');
  }
  await afterCommit(deps, requestId, [
    () => deps.jobs.postAudit([result.auditId]),
    () => deps.jobs.notify(result.request, 'refresh'),
    () => deps.jobs.notify(result.request, 'tell-requester'),
  ]);
  return result.request;
}
