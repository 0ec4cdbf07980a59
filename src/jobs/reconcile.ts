import type { Queue } from 'bullmq';
import type { Deps } from '../app/deps.js';
import { freezeFilter, frozenReason, standingFreezes } from '../app/freeze.js';
import { urgentAuditActions } from '../audit/urgency.js';
import { ensureApprovalDeadlines, ensureReviewDeadlines } from './approval-timeout.js';
import { scheduleDriftCheck } from './drift.js';
import { scheduleIdleRecall } from './idle-recall.js';
import { jobIds, jobQueueFor, type Queues } from './queues.js';

/**
 * The database is the truth and BullMQ the fast path. This sweep makes the queues agree with the
 * database again after Redis lost data, a process died between commit and enqueue, or a job
 * ran out of attempts: every active grant has an expiry job (due now if overdue), every approved
 * request a grant job, every pending request whose approvers were never asked a notify job, every active grant under a
 * standing freeze a revoke job, every pending request its approval reminder and timeout jobs, and
 * every unposted audit event a post job. Runs at start-up and on a timer
 * (not a BullMQ repeatable job, which would vanish with Redis); each replica may run it, since
 * every job id is deterministic.
 */
export async function reconcileQueues(
  deps: Deps,
  queues: Queues,
  options: SweepOptions = {},
): Promise<ReconcileReport> {
  const { signal } = options;
  const jobs = jobQueueFor(queues, () => deps.clock.now(), deps.policy);
  const report: ReconcileReport = {
    expiries: 0,
    grants: 0,
    approverAsks: 0,
    reviewerAsks: 0,
    frozenRevokes: 0,
    auditPosts: 0,
    approvalDeadlines: 0,
    reviewDeadlines: 0,
    cleanups: 0,
  };
  const now = deps.clock.now();
  const settled = new Date(now.getTime() - 10_000);

  const active = await deps.db.accessRequest.findMany({
    where: { state: 'active', expiresAt: { not: null } },
    select: { id: true, expiresAt: true },
  });
  // Thousands of active grants are checked a chunk at a time, the chunk's lookups in flight
  // together. A grant may end while the sweep runs; its job is then gone for a good reason, so
  // the missing ones are read again and only those still active with the same expiry get a job.
  for (let start = 0; start < active.length; start += EXPIRY_CHECK_CHUNK) {
    await options.beforeChunk?.();
    if (signal?.aborted) return report;
    const chunk = active.slice(start, start + EXPIRY_CHECK_CHUNK);
    const missing = (
      await Promise.all(
        chunk.map(async (grant) =>
          (await jobMissing(queues.revoke, jobIds.expire(grant.id, grant.expiresAt as Date))) ? grant : null,
        ),
      )
    ).filter((grant) => grant !== null);
    if (missing.length === 0) continue;
    const still = await deps.db.accessRequest.findMany({
      where: { id: { in: missing.map((grant) => grant.id) }, state: 'active' },
      select: { id: true, expiresAt: true },
    });
    const seenExpiry = new Map(missing.map((grant) => [grant.id, grant.expiresAt?.getTime()]));
    for (const { id, expiresAt } of still) {
      // Extended meanwhile: the extension added the job for its new expiry.
      if (!expiresAt || seenExpiry.get(id) !== expiresAt.getTime()) continue;
      await jobs.expireAt(id, expiresAt);
      report.expiries++;
    }
  }

  if (signal?.aborted) return report;
  const approved = await deps.db.accessRequest.findMany({
    where: { state: 'approved', updatedAt: { lt: settled } },
    select: { id: true },
  });
  for (const { id } of approved) {
    if (await ensureJob(queues.grant, jobIds.grant(id), () => jobs.grant(id))) report.grants++;
  }

  // Approvers never asked (Redis was away when the request was made, or Slack for longer than
  // the notify job's retries).
  const unasked = await deps.db.accessRequest.findMany({
    where: { state: 'pending', createdAt: { lt: settled }, messages: { none: { purpose: 'approver' } } },
    select: { id: true, version: true, state: true },
  });
  for (const request of unasked) {
    const id = jobIds.notify(request.id, 'ask-approvers', request.version);
    if (await ensureJob(queues.notify, id, () => jobs.notify(request, 'ask-approvers')))
      report.approverAsks++;
  }

  // Break-glass reviewers never asked (the follow-up was lost with Redis, or Slack was away).
  const unreviewed = await deps.db.accessRequest.findMany({
    where: {
      createdAt: { lt: settled },
      breakGlassReview: { is: { outcome: null } },
      messages: { none: { purpose: 'reviewer' } },
    },
    select: { id: true, version: true, state: true },
  });
  for (const request of unreviewed) {
    const id = jobIds.notify(request.id, 'ask-reviewers', request.version);
    if (await ensureJob(queues.notify, id, () => jobs.notify(request, 'ask-reviewers')))
      report.reviewerAsks++;
  }

  // Grants a freeze should have revoked (the process doing it died, or the target was down).
  for (const standing of await standingFreezes(deps)) {
    const covered = await deps.db.accessRequest.findMany({
      where: { state: 'active', ...freezeFilter(standing) },
      select: { id: true },
    });
    for (const { id } of covered) {
      const add = () => jobs.retryRevoke(id, 'revoke', 'system', frozenReason(standing));
      if (await ensureJob(queues.revoke, jobIds.revoke(id, 'revoke'), add)) report.frozenRevokes++;
    }
  }

  // Cleanup revokes still owed (the job was lost with Redis, or its process died first).
  const owing = await deps.db.accessRequest.findMany({
    where: { cleanupNeeded: true, updatedAt: { lt: settled } },
    select: { id: true },
  });
  for (const { id } of owing) {
    const add = () => jobs.cleanupRevoke(id);
    if (await ensureJob(queues.revoke, jobIds.revoke(id, 'cleanup'), add)) report.cleanups++;
  }

  const unposted = await deps.db.auditEvent.findMany({
    where: { postedAt: null, at: { lt: settled } },
    select: { id: true, action: true },
    orderBy: { id: 'asc' },
    take: 1_000,
  });
  for (const { id, action } of unposted) {
    if (signal?.aborted) return report;
    const post = () => jobs.postAudit([id], { urgent: urgentAuditActions.has(action) });
    if (await ensureJob(queues.audit, jobIds.audit(id), post)) report.auditPosts++;
  }

  if (signal?.aborted) return report;
  // Reminders and timeouts of requests still waiting for approval.
  report.approvalDeadlines = await ensureApprovalDeadlines(deps, queues, settled);
  // Break-glass reviews still open: their deadline alerts.
  report.reviewDeadlines = await ensureReviewDeadlines(deps, queues);

  // The idle check's scheduler lives only in Redis; upserting it is idempotent.
  await scheduleIdleRecall(deps, queues);
  await scheduleDriftCheck(queues);

  if (Object.values(report).some((n) => n > 0)) {
    deps.logger.warn(report, 'reconcile re-created missing jobs');
  }
  return report;
}

export interface SweepOptions {
  /** Aborted when the bot stops: the sweep ends early and leaves the rest to the next run. */
  signal?: AbortSignal;
  /**
   * Awaited before each chunk of lookups: the sweep is upkeep, and a burst of expiries must not
   * wait behind the thousands of Redis lookups a sweep makes when thousands of grants are active.
   */
  beforeChunk?: () => Promise<void>;
}

export interface ReconcileReport {
  expiries: number;
  grants: number;
  approverAsks: number;
  reviewerAsks: number;
  frozenRevokes: number;
  auditPosts: number;
  approvalDeadlines: number;
  reviewDeadlines: number;
  cleanups: number;
}

/**
 * Adds the job unless one with its id is waiting, delayed or running. A finished job with the
 * same id (completed while the database still needs it, or failed for good) is removed first,
 * since BullMQ would otherwise treat the add as a duplicate.
 */
async function ensureJob(queue: Queue, jobId: string, add: () => Promise<void>): Promise<boolean> {
  if (!(await jobMissing(queue, jobId))) return false;
  await add();
  return true;
}

/** True unless the job is waiting, delayed or running; a finished one is removed to make room. */
async function jobMissing(queue: Queue, jobId: string): Promise<boolean> {
  const existing = await queue.getJob(jobId);
  if (!existing) return true;
  const state = await existing.getState();
  if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
  await existing.remove();
  return true;
}

/** Active grants whose expiry jobs are looked up at once. */
const EXPIRY_CHECK_CHUNK = 50;

/**
 * Runs the sweep now and then every `intervalMs` (a round still running when the next is due is
 * not doubled); failures are logged and retried next time.
 */
export function startReconcileLoop(
  deps: Deps,
  queues: Queues,
  intervalMs: number,
  beforeChunk?: () => Promise<void>,
): { stop(): Promise<void>; done: Promise<void> } {
  const stopping = new AbortController();
  let running: Promise<unknown> | undefined;
  const run = () => {
    running ??= reconcileQueues(deps, queues, {
      signal: stopping.signal,
      ...(beforeChunk ? { beforeChunk } : {}),
    })
      .catch((err) => deps.logger.error({ err }, 'reconcile failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const first = run();
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    /** Stops the timer and waits for a sweep in progress, so it does not outlive the connections. */
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await running;
    },
    done: first.then(() => undefined),
  };
}
