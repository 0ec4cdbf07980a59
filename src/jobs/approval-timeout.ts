import { DelayedError, type Job } from 'bullmq';
import {
  approvalDeadlinesFor,
  type DeadlineOutcome,
  escalateRequest,
  escalationDueAt,
  remindApprovers,
  timeOutRequest,
} from '../app/approval-timeout.js';
import { alertOverdueReview } from '../app/break-glass.js';
import type { Deps } from '../app/deps.js';
import {
  type ApprovalJob,
  type ApprovalStep,
  type ApprovalSubject,
  addApprovalStep,
  jobIds,
  type Queues,
} from './queues.js';
import { startWorker, type WorkerSettings } from './workers.js';

/**
 * Reminds approvers at half the approval timeout, escalates a level not decided within its
 * `escalateAfter`, and times out what nobody decided, as delayed jobs `remind-<id>`,
 * `escalate-<id>` and `timeout-<id>`; and alerts a break-glass grant nobody reviewed in time,
 * as `review-<id>`. An extension's deadlines need only a row in this table
 * (and a sweep over pending extensions, like the one over requests below).
 */
const steps: Record<
  ApprovalSubject,
  Record<ApprovalStep, (deps: Deps, id: string) => Promise<DeadlineOutcome>>
> = {
  request: {
    remind: remindApprovers,
    timeout: timeOutRequest,
    escalate: escalateRequest,
    review: alertOverdueReview,
  },
};

export function startApprovalTimeoutWorker(deps: Deps, settings: WorkerSettings) {
  return startWorker<ApprovalJob>('approval', settings, async (job: Job<ApprovalJob>, token?: string) => {
    const { subject, id, step } = job.data;
    const result = await steps[subject][step](deps, id);
    if (result.outcome !== 'not-due') return result.outcome;
    // Early: another replica's clock, or a longer `approvalTimeout` since the job was added. The
    // delay is measured with our clock, the due time in Redis with the server's.
    const wait = Math.max(0, result.dueAt.getTime() - deps.clock.now().getTime());
    await job.moveToDelayed(Date.now() + wait, token);
    throw new DelayedError();
  });
}

/**
 * For the reconcile sweep: every pending request has its timeout job, and its reminder job until
 * the reminder went out. A job lost with Redis, or failed for good, is added again; a delayed
 * one whose time has come (a shortened `approvalTimeout`) is run now. Returns how many it added
 * or brought forward.
 */
export async function ensureApprovalDeadlines(deps: Deps, queues: Queues, settled: Date): Promise<number> {
  const pending = await deps.db.accessRequest.findMany({
    where: { state: 'pending', createdAt: { lt: settled } },
    select: {
      id: true,
      resource: true,
      createdAt: true,
      remindedAt: true,
      escalatedLevels: true,
      approvals: { select: { level: true, createdAt: true } },
    },
  });
  const now = deps.clock.now();
  let changed = 0;
  for (const request of pending) {
    const { remindAt, timeoutAt } = approvalDeadlinesFor(deps.policy, request);
    const due: Array<[ApprovalStep, Date]> = [['timeout', timeoutAt]];
    if (!request.remindedAt) due.push(['remind', remindAt]);
    // The level now waiting, if it escalates and has not: one job per request, re-added per level.
    const escalation = escalationDueAt(deps.policy, request);
    if (escalation) due.push(['escalate', escalation.dueAt]);
    for (const [step, at] of due) {
      if (await ensureStep(queues, { subject: 'request', id: request.id, step }, at, now)) changed++;
    }
  }
  return changed;
}

/**
 * For the reconcile sweep: every break-glass grant not reviewed and not yet alerted as overdue
 * has its review deadline job. Returns how many it added or brought forward.
 */
export async function ensureReviewDeadlines(deps: Deps, queues: Queues): Promise<number> {
  const open = await deps.db.breakGlassReview.findMany({
    where: { outcome: null, overdueAt: null },
    select: { requestId: true, dueAt: true },
  });
  const now = deps.clock.now();
  let changed = 0;
  for (const review of open) {
    const job = { subject: 'request', id: review.requestId, step: 'review' } as const;
    if (await ensureStep(queues, job, review.dueAt, now)) changed++;
  }
  return changed;
}

async function ensureStep(queues: Queues, job: ApprovalJob, dueAt: Date, now: Date): Promise<boolean> {
  const existing = await queues.approval.getJob(jobIds.approval(job.step, job.id));
  if (existing) {
    const state = await existing.getState();
    if (state === 'delayed' && dueAt <= now) {
      await existing.promote();
      return true;
    }
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
    // Finished while the request still waits (failed for good, or raced with this sweep): the
    // step decides again from the database, so running it once more is safe.
    await existing.remove();
  }
  await addApprovalStep(queues, job, dueAt, now);
  return true;
}
