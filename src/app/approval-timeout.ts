import { appendAuditEvent } from '../audit/chain.js';
import type { Policy } from '../config/policy.js';
import { formatDuration } from '../domain/duration.js';
import { currentLevel } from '../domain/policy.js';
import { afterCommit } from './after-commit.js';
import { approvalLevelsFor } from './approvers.js';
import type { Deps } from './deps.js';
import { followUps } from './follow-ups.js';
import type { RequestWithApprovals } from './queries.js';
import { applyTransition, lockRequest } from './transition.js';

/**
 * Something waiting for approval times out when nobody decides it within its resource's
 * `approvalTimeout`, and its approvers are reminded once at half of that. Both steps run as
 * delayed jobs (jobs/approval-timeout.ts); each re-reads the database and the clock, so a job that
 * runs early, late, twice or concurrently does the right thing once.
 *
 * Requests are the only subject so far. Extensions are meant to follow the same shape: compute
 * their deadlines with `approvalDeadlinesFor` (from the extension's own `createdAt`), and give the
 * worker a time-out and a remind function that return a `DeadlineOutcome`.
 */

export const defaultApprovalTimeoutSec = 60 * 60;

export interface ApprovalDeadlines {
  timeoutSec: number;
  /** When the approvers are reminded: half-way. */
  remindAt: Date;
  timeoutAt: Date;
}

/** From the policy as it is now, so a changed `approvalTimeout` applies to what is still waiting. */
export function approvalDeadlinesFor(
  policy: Pick<Policy, 'resources'>,
  subject: { resource: string; createdAt: Date },
): ApprovalDeadlines {
  const timeoutSec = policy.resources[subject.resource]?.approvalTimeout ?? defaultApprovalTimeoutSec;
  const start = subject.createdAt.getTime();
  return {
    timeoutSec,
    remindAt: new Date(start + (timeoutSec * 1000) / 2),
    timeoutAt: new Date(start + timeoutSec * 1000),
  };
}

/** What a deadline job did; `not-due` asks the job to come back at `dueAt`. */
export type DeadlineOutcome =
  | { outcome: 'timed-out' | 'reminded' | 'escalated' | 'alerted' | 'nothing-to-do' }
  | { outcome: 'not-due'; dueAt: Date };

const nothingToDo: DeadlineOutcome = { outcome: 'nothing-to-do' };

/** The actor of what happens because time passed. */
const systemActor = 'system';

/**
 * Moves a request nobody decided in time to `timed_out`, refreshes the approvers' messages (their
 * buttons go) and tells the requester. A request already decided, or gone, is left alone.
 */
export async function timeOutRequest(deps: Deps, requestId: string): Promise<DeadlineOutcome> {
  // Most requests are decided long before their timeout job runs: skip the row lock for those.
  if ((await deps.db.accessRequest.count({ where: { id: requestId, state: 'pending' } })) === 0) {
    return nothingToDo;
  }
  const result = await deps.db.$transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request.state !== 'pending') return nothingToDo;
    const { timeoutAt, timeoutSec } = approvalDeadlinesFor(deps.policy, request);
    const now = deps.clock.now();
    if (timeoutAt > now) return { outcome: 'not-due' as const, dueAt: timeoutAt };
    const limit = formatDuration(timeoutSec);
    return applyTransition(deps, tx, request, {
      event: 'time_out',
      actor: systemActor,
      data: { endedAt: now, endReason: `nobody approved within ${limit}` },
      details: { approvalTimeout: limit },
    });
  });
  if ('outcome' in result) return result;

  const { request, auditId } = result;
  deps.logger.info({ requestId, resource: request.resource }, 'request timed out waiting for approval');
  await afterCommit(deps, requestId, [() => deps.jobs.notify(request, followUps(request.state), [auditId])]);
  return { outcome: 'timed-out' };
}

/**
 * Reminds the approvers still waited on, once per request. The reminder job is enqueued before
 * `remindedAt` is claimed, so a failure in between means a retry rather than a lost reminder;
 * concurrent runs enqueue the same job id (BullMQ keeps one), and the notifier records each
 * reminder it posts and never posts a second to the same approver. The claim is an audit event
 * too, so the security channel sees requests that are being left to wait.
 */
export async function remindApprovers(deps: Deps, requestId: string): Promise<DeadlineOutcome> {
  const request = await deps.db.accessRequest.findUnique({
    where: { id: requestId },
    include: { approvals: true },
  });
  if (request?.state !== 'pending' || request.remindedAt) return nothingToDo;
  const { remindAt, timeoutAt } = approvalDeadlinesFor(deps.policy, request);
  const now = deps.clock.now();
  if (remindAt > now) return { outcome: 'not-due', dueAt: remindAt };

  await deps.jobs.notify(request, 'remind-approvers');
  const waiting = await waitingApprovers(deps, request);
  const auditId = await deps.db.$transaction(async (tx) => {
    const { count } = await tx.accessRequest.updateMany({
      where: { id: requestId, state: 'pending', remindedAt: null },
      data: { remindedAt: now },
    });
    if (count !== 1) return null;
    return appendAuditEvent(
      tx,
      {
        requestId,
        actor: systemActor,
        action: 'request.reminded',
        fromState: 'pending',
        toState: 'pending',
        details: {
          level: waiting ? waiting.level + 1 : null,
          approvers: waiting?.approverIds ?? [],
          timesOutAt: timeoutAt.toISOString(),
        },
      },
      now,
    );
  });
  if (auditId === null) return nothingToDo;
  await afterCommit(deps, requestId, [() => deps.jobs.postAudit([auditId])]);
  return { outcome: 'reminded' };
}

/** The approvers of the level now waiting who have not approved yet (never the requester). */
export async function waitingApprovers(
  deps: Pick<Deps, 'directory' | 'policy'>,
  request: RequestWithApprovals,
): Promise<{ level: number; approverIds: string[] } | null> {
  const resource = deps.policy.resources[request.resource];
  if (!resource) return null;
  const levels = await approvalLevelsFor(deps, resource, request.escalatedLevels);
  const level = currentLevel(levels, request.approvals);
  if (level === null) return null;
  const approved = new Set(request.approvals.map((a) => a.approverId));
  const approverIds = [...(levels[level]?.approvers ?? [])].filter(
    (id) => id !== request.requesterId && !approved.has(id),
  );
  return { level, approverIds };
}

/**
 * When the level now waiting escalates: `escalateAfter` past the moment it started waiting (the
 * request's creation for the first level, the approval that completed the level before for the
 * others). Null when nothing is waiting, the level has no `escalateAfter`, or it escalated already.
 */
export function escalationDueAt(
  policy: Pick<Policy, 'resources'>,
  request: Pick<RequestWithApprovals, 'resource' | 'createdAt' | 'escalatedLevels'> & {
    approvals: ReadonlyArray<{ level: number; createdAt: Date }>;
  },
): { level: number; dueAt: Date } | null {
  const resource = policy.resources[request.resource];
  if (!resource) return null;
  const level = currentLevel(resource.approvals, request.approvals);
  const after = level === null ? undefined : resource.approvals[level]?.escalateAfter;
  if (level === null || after === undefined || request.escalatedLevels.includes(level)) return null;
  const previous = request.approvals.filter((a) => a.level === level - 1).map((a) => a.createdAt.getTime());
  const start = level === 0 || previous.length === 0 ? request.createdAt.getTime() : Math.max(...previous);
  return { level, dueAt: new Date(start + after * 1000) };
}

/**
 * Asks a level's `escalateTo` approvers too, when the level was not decided within its
 * `escalateAfter`: recorded on the request (`escalatedLevels`, which makes them approvers of that
 * level) and audited in one transaction, then the new approvers get the approval DM and the
 * messages already posted show the escalation. The first approvers keep their buttons.
 */
export async function escalateRequest(deps: Deps, requestId: string): Promise<DeadlineOutcome> {
  const result = await deps.db.$transaction(async (tx) => {
    const locked = await lockRequest(tx, requestId);
    if (locked.state !== 'pending') return nothingToDo;
    const approvals = await tx.approval.findMany({ where: { requestId } });
    const due = escalationDueAt(deps.policy, { ...locked, approvals });
    if (!due) return nothingToDo;
    const now = deps.clock.now();
    if (due.dueAt > now) return { outcome: 'not-due' as const, dueAt: due.dueAt };
    const level = deps.policy.resources[locked.resource]?.approvals[due.level];
    const request = await tx.accessRequest.update({
      where: { id: requestId },
      data: { escalatedLevels: { push: due.level }, version: { increment: 1 } },
      include: { approvals: true },
    });
    const auditId = await appendAuditEvent(
      tx,
      {
        requestId,
        actor: systemActor,
        action: 'request.escalated',
        fromState: 'pending',
        toState: 'pending',
        details: {
          level: due.level + 1,
          escalateAfter: formatDuration(level?.escalateAfter ?? 0),
          escalateTo: { users: level?.escalateTo?.users ?? [], groups: level?.escalateTo?.groups ?? [] },
        },
      },
      now,
    );
    return { request, auditId };
  });
  if ('outcome' in result) return result;
  const { request, auditId } = result;
  deps.logger.info({ requestId, level: request.escalatedLevels.at(-1) }, 'approval level escalated');
  await afterCommit(deps, requestId, [
    () => deps.jobs.notify(request, ['ask-approvers', 'refresh'], [auditId]),
  ]);
  return { outcome: 'escalated' };
}
