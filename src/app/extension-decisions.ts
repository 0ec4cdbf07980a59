import { appendAuditEvent } from '../audit/chain.js';
import { describeState } from '../domain/lifecycle.js';
import {
  type ApprovalRecord,
  checkDenier,
  checkReason,
  currentLevel,
  decideApproval,
} from '../domain/policy.js';
import type { AccessRequest, Extension } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { checkApprover } from './approve.js';
import { approvalLevelsFor, resourcePolicy } from './approvers.js';
import type { Deps } from './deps.js';
import { Conflict, checked, NotAllowed, NotFound, sentence } from './errors.js';
import {
  applyExtension,
  type ExtensionNotices,
  type ExtensionSubject,
  extensionLevels,
  lockExtension,
  recordedPlan,
  settleExtension,
  waitingApprovers,
} from './extension-record.js';
import { type ReauthProof, ReauthRequired } from './reauth.js';
import { auditRefusal } from './refusal-audit.js';
import { moveExpiryOnTarget } from './target-expiry.js';
import { lockRequest } from './transition.js';

export interface ExtensionApprovalResult {
  subject: ExtensionSubject;
  /** `extended` when this approval completed the last level and the grant's end moved. */
  outcome: 'recorded' | 'extended';
  /** The level (index in the policy file) this approval counted for. */
  level: number;
}

/**
 * One approver's approval of a pending extension; the last one needed applies it. Safe to run
 * twice and concurrently: the grant's and the extension's row locks order the clicks, a person
 * counts once (unique per extension), and the extension's version makes the apply happen once.
 */
export async function approveExtension(
  deps: Deps,
  notices: ExtensionNotices,
  extensionId: string,
  approverId: string,
  reauth?: ReauthProof,
): Promise<ExtensionApprovalResult> {
  const { found, levels, reasons } = await loadForDecision(deps, extensionId);
  const resource = resourcePolicy(deps, found.request.resource);
  // More time is more access: the same people are refused as for the request itself, and a
  // resource whose approvers sign in again asks that for its extensions too.
  if (found.state === 'pending') await checkApprover(deps, found.request, resource, approverId);
  if (found.state === 'pending' && resource.approverReauth === 'oidc' && !reauth) {
    const approvals = await deps.db.extensionApproval.findMany({ where: { extensionId } });
    const decision = decideApproval(levels, approvals, approverId, found.requesterId);
    if (!decision.ok) throw new NotAllowed(sentence(decision.reason));
    throw new ReauthRequired(found.requestId, extensionId);
  }
  const signedIn = reauth ? { reauth } : {};
  const now = deps.clock.now();

  const result = await deps.db.$transaction(async (tx) => {
    const request = await lockRequest(tx, found.requestId);
    const extension = await lockExtension(tx, extensionId);
    if (extension.state !== 'pending') return { kind: 'decided' as const, extension };
    if (request.state !== 'active' || !request.expiresAt || request.expiresAt <= now) {
      // The grant ended while the extension waited: it can never apply now.
      const why = `The grant ended (${describeState(request.state)}) before the extension was decided.`;
      const cancelled = await settleExtension(tx, extension, 'cancelled', { decidedAt: now, endReason: why });
      const auditId = await appendAuditEvent(
        tx,
        {
          requestId: request.id,
          actor: 'system',
          action: 'extension.cancelled',
          details: { extensionId, reason: why },
        },
        now,
      );
      return { kind: 'ended' as const, extension: cancelled, request, auditIds: [auditId] };
    }
    const approvals = await tx.extensionApproval.findMany({ where: { extensionId } });
    const decision = decideApproval(levels, approvals, approverId, extension.requesterId);
    if (!decision.ok) return { kind: 'refused' as const, refusal: decision, request };

    const { level, complete } = decision.value;
    await tx.extensionApproval.create({ data: { extensionId, approverId, level } });
    const after: ApprovalRecord[] = [...approvals, { approverId, level }];
    if (complete) {
      const approvers = after.map((a) => a.approverId);
      const applied = await applyExtension(deps, tx, request, extension, {
        actor: approverId,
        approvers,
        ...signedIn,
      });
      return { kind: 'done' as const, outcome: 'extended' as const, level, after, ...applied };
    }
    // Progress within `pending`, on the trail like a request's; the version bump orders clicks.
    const progressed = await tx.extension.update({
      where: { id: extensionId },
      data: { version: { increment: 1 } },
    });
    const auditId = await appendAuditEvent(
      tx,
      {
        requestId: request.id,
        actor: approverId,
        action: 'extension.approval_recorded',
        details: { extensionId, level: level + 1, ...signedIn },
      },
      now,
    );
    return {
      kind: 'done' as const,
      outcome: 'recorded' as const,
      level,
      after,
      request,
      extension: progressed,
      auditIds: [auditId],
    };
  });

  if (result.kind === 'decided') throw alreadyDecided(result.extension);
  if (result.kind === 'ended') {
    await afterCommit(deps, found.requestId, [() => deps.jobs.postAudit(result.auditIds)]);
    throw new Conflict(
      `${result.request.id} is ${describeState(result.request.state)}; the extension ${extensionId} no longer applies.`,
    );
  }
  if (result.kind === 'refused') {
    // As for requests: a repeat click, or an approver asked to wait for a later level, is routine.
    if (result.refusal.code !== 'repeat' && result.refusal.code !== 'needed-later') {
      await auditExtensionRefusal(deps, result.request, {
        extensionId,
        actorId: approverId,
        reason: result.refusal.reason,
      });
    }
    throw new NotAllowed(sentence(result.refusal.reason.replace('request', 'extension')));
  }

  const subject: ExtensionSubject = { extension: result.extension, request: result.request, reasons };
  const next = currentLevel(levels, result.after);
  const nextLevelWaiting = result.outcome === 'recorded' && next !== null && next !== result.level;
  await afterCommit(deps, found.requestId, [
    () => deps.jobs.postAudit(result.auditIds),
    ...(result.outcome === 'extended'
      ? [
          () => deps.jobs.expireAt(result.request.id, result.request.expiresAt as Date),
          () => moveExpiryOnTarget(deps, result.request),
          () => deps.jobs.notify(result.request, 'refresh'),
          () => notices.tellRequester(subject),
        ]
      : []),
    ...(nextLevelWaiting
      ? [
          () =>
            notices.askApprovers(
              subject,
              waitingApprovers(levels, result.after, next, result.extension.requesterId),
            ),
        ]
      : []),
  ]);
  return { subject, outcome: result.outcome, level: result.level };
}

/** An approver of any of the extension's levels denies it, with a reason the requester is shown. */
export async function denyExtension(
  deps: Deps,
  notices: ExtensionNotices,
  input: { extensionId: string; approverId: string; reason: string },
): Promise<ExtensionSubject> {
  const reason = checked(checkReason(input.reason), 'reason');
  const { found, levels, reasons } = await loadForDecision(deps, input.extensionId);
  const allowed = checkDenier(levels, input.approverId, found.requesterId);
  if (!allowed.ok) throw new NotAllowed(sentence(allowed.reason.replace('request', 'extension')));
  const now = deps.clock.now();

  const { request, extension, auditId } = await deps.db.$transaction(async (tx) => {
    const request = await lockRequest(tx, found.requestId);
    const current = await lockExtension(tx, input.extensionId);
    if (current.state !== 'pending') throw alreadyDecided(current);
    const extension = await settleExtension(tx, current, 'denied', {
      decidedAt: now,
      decidedBy: input.approverId,
      endReason: reason,
    });
    const auditId = await appendAuditEvent(
      tx,
      {
        requestId: request.id,
        actor: input.approverId,
        action: 'extension.denied',
        details: { extensionId: extension.id, reason },
      },
      now,
    );
    return { request, extension, auditId };
  });
  const subject = { extension, request, reasons };
  await afterCommit(deps, request.id, [
    () => deps.jobs.postAudit([auditId]),
    () => notices.tellRequester(subject),
  ]);
  return subject;
}

async function loadForDecision(deps: Deps, extensionId: string) {
  const found = await deps.db.extension.findUnique({
    where: { id: extensionId },
    include: { request: true },
  });
  if (!found) throw new NotFound(`No extension ${extensionId}.`);
  const plan = await recordedPlan(deps, found);
  const all = await approvalLevelsFor(deps, resourcePolicy(deps, found.request.resource));
  return { found, levels: extensionLevels(all, plan.levels), reasons: plan.reasons };
}

function alreadyDecided(extension: Extension): Conflict {
  return new Conflict(`${extension.id} is already ${extension.state.replace('_', ' ')}.`);
}

/** As for requests: self-approval and approvals by non-approvers go to the security channel. */
function auditExtensionRefusal(
  deps: Deps,
  request: AccessRequest,
  refusal: { extensionId: string; actorId: string; reason: string },
): Promise<void> {
  return auditRefusal(deps, {
    requestId: request.id,
    actor: refusal.actorId,
    action: 'approval.refused',
    details: { extensionId: refusal.extensionId, reason: refusal.reason },
  });
}
