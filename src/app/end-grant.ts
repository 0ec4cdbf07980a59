import { transition } from '../domain/lifecycle.js';
import type { AccessRequest } from '../generated/prisma/client.js';
import { isSystemActor } from './admins.js';
import { afterCommit } from './after-commit.js';
import { isAdmin } from './approvers.js';
import type { Deps } from './deps.js';
import { Conflict, NotAllowed, NotFound } from './errors.js';
import { grantTargetFor } from './grant-target.js';
import { applyTransition, lockRequest, StaleVersion } from './transition.js';

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
export async function endGrant(deps: Deps, input: EndGrantInput): Promise<EndGrantResult> {
  for (let attempt = 0; ; attempt++) {
    const request = await deps.db.accessRequest.findUnique({ where: { id: input.requestId } });
    if (!request) throw new NotFound(`No request ${input.requestId}.`);
    await checkActor(deps, request, input);
    const step = transition(request.state, input.event);
    if (!step.ok) throw new Conflict(`${request.id}: ${step.reason}; nothing to take back.`);
    const now = deps.clock.now();
    if (input.event === 'expire' && request.expiresAt && request.expiresAt > now) {
      return { outcome: 'not-due', request };
    }
    const { provider, target } = grantTargetFor(deps, request, request.expiresAt ?? now);
    await provider.revoke(target);
    try {
      return { outcome: 'ended', request: await recordEnd(deps, request, input) };
    } catch (error) {
      if (!(error instanceof StaleVersion) || attempt >= 5) throw error;
    }
  }
}

async function recordEnd(deps: Deps, seen: AccessRequest, input: EndGrantInput): Promise<AccessRequest> {
  const reason = input.reason?.trim() || null;
  const { request, auditId } = await deps.db.$transaction(async (tx) =>
    applyTransition(deps, tx, await lockRequest(tx, seen.id), {
      event: input.event,
      actor: input.actorId,
      data: { endedAt: deps.clock.now(), endReason: reason },
      details: reason ? { reason } : {},
      expectVersion: seen.version,
    }),
  );
  deps.logger.info({ requestId: request.id, state: request.state }, 'access ended');
  await afterCommit(deps, request.id, [
    () => deps.jobs.postAudit([auditId]),
    () => deps.jobs.notify(request, 'refresh'),
    () => deps.jobs.notify(request, 'tell-requester'),
  ]);
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
    return (await endGrant(deps, { requestId, event: 'release', actorId })).request;
  }
  const { request, auditId } = await deps.db.$transaction(async (tx) =>
    applyTransition(deps, tx, await lockRequest(tx, requestId), {
      event: 'cancel',
      actor: actorId,
      data: { endedAt: deps.clock.now() },
    }),
  );
  await afterCommit(deps, requestId, [
    () => deps.jobs.postAudit([auditId]),
    () => deps.jobs.notify(request, 'refresh'),
  ]);
  return request;
}
