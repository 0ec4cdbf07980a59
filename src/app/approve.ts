import type { ResourcePolicy } from '../config/policy.js';
import { describeState } from '../domain/lifecycle.js';
import { type ApprovalRefusal, currentLevel, decideApproval } from '../domain/policy.js';
import { type AccessRequest, type Approval, Prisma } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { approvalLevelsFor, resourcePolicy } from './approvers.js';
import type { Deps } from './deps.js';
import { Conflict, NotAllowed, NotFound, sentence } from './errors.js';
import { approvedFollowUpDelayMs, followUps } from './follow-ups.js';
import { freezeNaming, noFreezeNamesSql } from './freeze.js';
import { snapshotOf } from './grant-snapshot.js';
import { checkApproverAccount, identityOn } from './identity.js';
import { type ReauthProof, ReauthRequired } from './reauth.js';
import { auditRefusal } from './refusal-audit.js';
import { changeAtOnce, StaleVersion, transitionAtOnce } from './transition.js';

export interface ApprovalResult {
  request: AccessRequest;
  /** `approved` when this approval completed the last level. */
  outcome: 'recorded' | 'approved';
  level: number;
}

/**
 * Records one approver's approval. Safe to run twice and concurrently: the row lock orders
 * approvers, the unique (request, approver) pair counts a person once, and a request that is no
 * longer pending refuses with `Conflict`. On a resource with `approverReauth: oidc` it needs
 * `reauth`, the approver's fresh sign-in (`src/app/reauth.ts`); without it, an approval that
 * would otherwise count throws `ReauthRequired`.
 */
export async function approveRequest(
  deps: Deps,
  requestId: string,
  approverId: string,
  reauth?: ReauthProof,
): Promise<ApprovalResult> {
  const found = await readWithApprovals(deps, requestId);
  const resource = resourcePolicy(deps, found.resource);
  const levels = await approvalLevelsFor(deps, resource, found.escalatedLevels);
  const signsInFirst = resource.approverReauth === 'oidc' && !reauth;
  // An approval recorded now asks for no freeze on the approver in the statement that records it;
  // one that waits for a sign-in is told of a freeze before the sign-in.
  if (found.state === 'pending')
    await checkApprover(deps, found, resource, approverId, { freeze: signsInFirst ? 'now' : 'in-write' });
  if (found.state === 'pending' && signsInFirst) {
    // Refusals (not an approver, own request, already approved) are told now, not after a sign-in.
    const decision = decideApproval(levels, found.approvals, approverId, found.requesterId);
    if (!decision.ok) {
      if (!unremarkable.has(decision.code))
        await auditApprovalRefusal(deps, found, approverId, decision.reason);
      throw new NotAllowed(sentence(decision.reason));
    }
    throw new ReauthRequired(requestId);
  }
  const signedIn = reauth ? { reauth } : {};

  const result = await recordApproval(deps, found, { resource, levels }, approverId, signedIn);

  if (result.kind === 'refused') {
    if (!unremarkable.has(result.refusal.code)) {
      await auditApprovalRefusal(deps, result.request, approverId, result.refusal.reason);
    }
    throw new NotAllowed(sentence(result.refusal.reason));
  }

  const { request } = result;
  const nextLevelWaiting =
    result.outcome === 'recorded' &&
    currentLevel(result.levels, await deps.db.approval.findMany({ where: { requestId } })) !== result.level;
  await afterCommit(deps, requestId, [
    ...(result.outcome === 'approved' ? [() => deps.jobs.grant(requestId)] : []),
    () =>
      deps.jobs.notify(
        request,
        followUps(request.state, { approversWaiting: nextLevelWaiting }),
        result.auditIds,
        result.outcome === 'approved' ? { delayMs: approvedFollowUpDelayMs } : {},
      ),
  ]);
  return { request, outcome: result.outcome, level: result.level };
}

/** How many times an approval is decided again after the request changed under it. */
const maxApprovalAttempts = 20;

/**
 * Records the approval, optimistically: decided on the request and its approvals as read, and
 * written in one statement (the approval, the request's new version or state, the audit event)
 * that only applies at the version read. Every approval moves the version, so a concurrent one
 * (another approver, the same one clicking twice, a timeout, a release) makes this one read and
 * decide again: approvers are applied one after the other, and a person counts once.
 */
async function recordApproval(
  deps: Deps,
  found: AccessRequest & { approvals: Approval[] },
  /** The resource's policy, and its levels as `found` has them (escalated or not). */
  policy: { resource: ResourcePolicy; levels: Awaited<ReturnType<typeof approvalLevelsFor>> },
  approverId: string,
  signedIn: { reauth?: ReauthProof },
) {
  let request = found;
  const onlyIf = noFreezeNamesSql(approverId);
  for (let attempt = 0; ; attempt++) {
    if (request.state !== 'pending') {
      throw new Conflict(`${request.id} is already ${describeState(request.state)}.`);
    }
    const levels =
      request === found
        ? policy.levels
        : await approvalLevelsFor(deps, policy.resource, request.escalatedLevels);
    const decision = decideApproval(levels, request.approvals, approverId, request.requesterId);
    if (!decision.ok) return { kind: 'refused' as const, refusal: decision, request };
    const { level, complete } = decision.value;
    const now = deps.clock.now();
    const approval = Prisma.sql`"approval" AS (
      INSERT INTO "approvals" ("requestId", "approverId", "level", "createdAt")
      SELECT "id", ${approverId}, ${level}, ${now} FROM "moved")`;
    const details = { level: level + 1, ...signedIn };
    try {
      // Progress within `pending` is not a state change, but it is still part of the trail; the
      // version bump makes the approvers' messages refresh.
      const done = complete
        ? await transitionAtOnce(
            deps,
            request,
            { event: 'approve', actor: approverId, data: { decidedAt: now, decidedBy: approverId }, details },
            { also: approval, onlyIf },
          )
        : await changeAtOnce(deps, request, {
            to: 'pending',
            audit: { actor: approverId, action: 'request.approval_recorded', details },
            also: approval,
            onlyIf,
          });
      const outcome = complete ? ('approved' as const) : ('recorded' as const);
      return {
        kind: 'done' as const,
        request: done.request,
        auditIds: [done.auditId],
        outcome,
        level,
        levels,
      };
    } catch (error) {
      if (!(error instanceof StaleVersion) || attempt + 1 >= maxApprovalAttempts) throw error;
    }
    // Not written: the request changed, or a freeze now names the approver.
    await refuseIfFrozen(deps, request, approverId);
    request = await readWithApprovals(deps, request.id);
  }
}

/** The request and its approvals, in one statement, so the two agree. */
async function readWithApprovals(deps: Deps, requestId: string) {
  const request = await deps.db.accessRequest.findUnique({
    where: { id: requestId },
    relationLoadStrategy: 'join',
    include: { approvals: true },
  });
  if (!request) throw new NotFound(`No request ${requestId}.`);
  return request;
}

/**
 * Who may not approve even when listed as an approver: an account that may not act here at all
 * (Slack Connect external, bot, deactivated), a user a freeze or `optOut.blockedUsers` names, and
 * a second Slack account of the requester, i.e. one whose own identity on the request's provider
 * is the identity the access would go to. Each refusal is audited. Extensions ask the same.
 */
export async function checkApprover(
  deps: Deps,
  request: AccessRequest,
  resource: ResourcePolicy,
  approverId: string,
  /** `in-write`: the caller's statement that records the approval asks for no freeze itself. */
  options: { freeze: 'now' | 'in-write' } = { freeze: 'now' },
): Promise<void> {
  const approver = await deps.directory.user(approverId);
  await checkApproverAccount(deps, approver, request.id);
  const refuse = async (reason: string): Promise<never> => {
    await auditApprovalRefusal(deps, request, approverId, reason);
    throw new NotAllowed(reason);
  };
  if (resource.optOut?.blockedUsers.includes(approverId)) {
    await refuse(
      'You are blocked from this resource by the policy file, so you cannot approve its requests.',
    );
  }
  if (options.freeze === 'now') await refuseIfFrozen(deps, request, approverId);
  const snapshot = snapshotOf(deps.policy, request);
  // The requester themselves is refused with the plainer self-approval message further on.
  if (snapshot && approverId !== request.requesterId) {
    const own = await identityOn(deps, approver, snapshot.provider);
    if (own.ok && own.identity === request.identity) {
      await refuse(
        `The access would go to ${request.identity}, which is your own identity on ${snapshot.provider}: ` +
          'nobody approves access for themselves, from any Slack account.',
      );
    }
  }
}

/** A user a standing freeze names approves nothing; the refusal is audited. */
async function refuseIfFrozen(deps: Deps, request: AccessRequest, approverId: string): Promise<void> {
  const frozen = await freezeNaming(deps, approverId);
  if (!frozen) return;
  const reason = `You are frozen (${frozen.reason}), so you cannot approve requests until it is lifted.`;
  await auditApprovalRefusal(deps, request, approverId, reason);
  throw new NotAllowed(reason);
}

/**
 * Refusals not worth the security team's attention: a repeat click by someone who already
 * approved, and an approver asked to wait for a later level. Self-approval and approvals by
 * non-approvers are audited.
 */
const unremarkable: ReadonlySet<ApprovalRefusal | undefined> = new Set(['repeat', 'needed-later']);

function auditApprovalRefusal(
  deps: Deps,
  request: AccessRequest,
  actorId: string,
  reason: string,
): Promise<void> {
  return auditRefusal(deps, {
    requestId: request.id,
    actor: actorId,
    action: 'approval.refused',
    fromState: request.state,
    toState: request.state,
    details: { reason },
  });
}
