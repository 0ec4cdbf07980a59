import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { approvalDeadlinesFor, escalationDueAt } from '../app/approval-timeout.js';
import type { JobQueue, NotificationKind, NotifySubject } from '../app/deps.js';
import type { Policy } from '../config/policy.js';

/**
 * One BullMQ queue per kind of work. Job ids are derived from what the job is about, so adding
 * the same job twice (a retried click, the sweep re-creating a lost job) runs it once.
 */
export const queueNames = {
  grant: 'jit-grant',
  revoke: 'jit-revoke',
  notify: 'jit-notify',
  audit: 'jit-audit',
  recall: 'jit-recall',
  drift: 'jit-drift',
  approval: 'jit-approval',
} as const;
export type QueueKind = keyof typeof queueNames;

export type GrantJob = { requestId: string };
export type RevokeJob = {
  requestId: string;
  /** `cleanup`: the revoke a request that ended mid-grant owes (no state change). */
  event: 'expire' | 'release' | 'revoke' | 'cleanup';
  actorId: string;
  reason: string | null;
};
/**
 * The follow-up of one transition. `auditIds` are its audit events (as strings: BigInt is not
 * JSON). Jobs queued before `kinds` existed carry one `kind`.
 */
export type NotifyJob = {
  requestId: string;
  kinds: NotificationKind[];
  auditIds?: string[];
  version: number;
  state: string;
  kind?: NotificationKind;
};
export type AuditJob = { eventId: string };
/** A round of the idle check; everything it needs is in the database. */
export type RecallJob = Record<string, never>;
/** A round of drift detection; everything it needs is in the database. */
export type DriftJob = Record<string, never>;
/** What waits for approval; extensions are meant to join as a second subject. */
export type ApprovalSubject = 'request';
/** `review`: the deadline of a break-glass grant's review (the request is active, not pending). */
export type ApprovalStep = 'remind' | 'timeout' | 'escalate' | 'review';
export type ApprovalJob = { subject: ApprovalSubject; id: string; step: ApprovalStep };

export interface Queues {
  grant: Queue<GrantJob>;
  revoke: Queue<RevokeJob>;
  notify: Queue<NotifyJob>;
  audit: Queue<AuditJob>;
  recall: Queue<RecallJob>;
  drift: Queue<DriftJob>;
  approval: Queue<ApprovalJob>;
  /** How often the idle check runs; the sweep (re-)creates its job scheduler with it. */
  idleCheckIntervalMs: number;
  /** How often drift detection runs; the sweep (re-)creates its job scheduler with it. */
  driftCheckIntervalMs: number;
  /** How long a release or revoke tried outside a job has before its guard job finishes it. */
  revokeGuardMs: number;
  close(): Promise<void>;
}

/** Keep finished jobs long enough for duplicate adds to be recognised, then let Redis forget. */
const keep = { removeOnComplete: { age: 24 * 3600, count: 50_000 }, removeOnFail: { age: 7 * 24 * 3600 } };

export const jobOptions = {
  grant: { ...keep, attempts: 8, backoff: { type: 'exponential', delay: 2_000 } },
  // Revocation never gives up; the worker caps the backoff and alerts the security channel.
  revoke: { ...keep, attempts: 100_000, backoff: { type: 'capped' } },
  notify: { ...keep, attempts: 10, backoff: { type: 'exponential', delay: 1_000 } },
  audit: { ...keep, attempts: 50, backoff: { type: 'exponential', delay: 1_000 } },
  // A failed round is not retried: the next one comes at the next interval anyway.
  recall: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 }, attempts: 1 },
  drift: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 }, attempts: 1 },
  approval: { ...keep, attempts: 10, backoff: { type: 'exponential', delay: 1_000 } },
} satisfies Record<QueueKind, JobsOptions>;

export function createQueues(
  connection: Redis,
  prefix: string,
  idleCheckIntervalMs = 60_000,
  driftCheckIntervalMs = 5 * 60_000,
  // Longer than a target normally takes to answer (the webhook provider waits 10 s by default).
  revokeGuardMs = 60_000,
): Queues {
  const options = { connection, prefix };
  const queues = {
    grant: new Queue<GrantJob>(queueNames.grant, { ...options, defaultJobOptions: jobOptions.grant }),
    revoke: new Queue<RevokeJob>(queueNames.revoke, { ...options, defaultJobOptions: jobOptions.revoke }),
    notify: new Queue<NotifyJob>(queueNames.notify, { ...options, defaultJobOptions: jobOptions.notify }),
    audit: new Queue<AuditJob>(queueNames.audit, { ...options, defaultJobOptions: jobOptions.audit }),
    recall: new Queue<RecallJob>(queueNames.recall, { ...options, defaultJobOptions: jobOptions.recall }),
    drift: new Queue<DriftJob>(queueNames.drift, { ...options, defaultJobOptions: jobOptions.drift }),
    approval: new Queue<ApprovalJob>(queueNames.approval, {
      ...options,
      defaultJobOptions: jobOptions.approval,
    }),
  };
  return {
    ...queues,
    idleCheckIntervalMs,
    driftCheckIntervalMs,
    revokeGuardMs,
    close: async () => {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}

/** Routine audit posts wait behind alerts, which carry no priority (BullMQ's highest). */
const routineAuditPriority = 10;

export const jobIds = {
  grant: (requestId: string) => `grant-${requestId}`,
  // The due time is part of the id: an extended grant gets a new expiry job, and the old one
  // finds the grant not yet due.
  expire: (requestId: string, at: Date) => `expire-${requestId}-${at.getTime()}`,
  revoke: (requestId: string, event: string) => `${event}-${requestId}`,
  notify: (requestId: string, kinds: string | readonly string[], version: number) =>
    `notify-${requestId}-${typeof kinds === 'string' ? kinds : kinds.join('+')}-${version}`,
  audit: (eventId: bigint | string) => `audit-${eventId}`,
  // One of each per request (or extension: their ids differ in prefix); a job that finds itself
  // early is delayed again under the same id rather than replaced.
  approval: (step: ApprovalStep, id: string) => `${step}-${id}`,
};

/** Adds one step of an approval's deadlines, due at `dueAt` (at once if that has passed). */
export async function addApprovalStep(
  queues: Pick<Queues, 'approval'>,
  job: ApprovalJob,
  dueAt: Date,
  now: Date,
): Promise<void> {
  await queues.approval.add(job.step, job, {
    jobId: jobIds.approval(job.step, job.id),
    delay: Math.max(0, dueAt.getTime() - now.getTime()),
  });
}

function notifyJob(
  request: NotifySubject,
  kinds: NotificationKind[],
  auditIds: readonly bigint[],
): NotifyJob {
  const data: NotifyJob = { requestId: request.id, kinds, version: request.version, state: request.state };
  if (auditIds.length > 0) data.auditIds = auditIds.map(String);
  return data;
}

/** The app's view of the queues. */
export function jobQueueFor(queues: Queues, now: () => Date, policy: Pick<Policy, 'resources'>): JobQueue {
  return {
    async grant(requestId) {
      await queues.grant.add('grant', { requestId }, { jobId: jobIds.grant(requestId) });
    },
    async expireAt(requestId, at) {
      await queues.revoke.add(
        'expire',
        { requestId, event: 'expire', actorId: 'system', reason: null },
        { jobId: jobIds.expire(requestId, at), delay: Math.max(0, at.getTime() - now().getTime()) },
      );
    },
    async retryRevoke(requestId, event, actorId, reason) {
      const job = await queues.revoke.add(
        event,
        { requestId, event, actorId, reason },
        { jobId: jobIds.revoke(requestId, event) },
      );
      // The attempt's guard (same id) is still waiting out its grace period: retry now instead.
      if (await job.isDelayed()) await job.promote().catch(() => undefined);
    },
    async cleanupRevoke(requestId) {
      await queues.revoke.add(
        'cleanup',
        { requestId, event: 'cleanup', actorId: 'system', reason: null },
        { jobId: jobIds.revoke(requestId, 'cleanup') },
      );
    },
    async guardRevokes(requestIds, event, actorId, reason) {
      if (requestIds.length === 0) return;
      await queues.revoke.addBulk(
        requestIds.map((requestId) => ({
          name: event,
          data: { requestId, event, actorId, reason },
          opts: { ...jobOptions.revoke, jobId: jobIds.revoke(requestId, event), delay: queues.revokeGuardMs },
        })),
      );
    },
    async dropGuard(requestId, event) {
      const job = await queues.revoke.getJob(jobIds.revoke(requestId, event));
      // A delayed job (the guard in its grace period, or a retry waiting out its backoff) has
      // nothing left to do now that the end is recorded; one waiting or running is left to finish.
      if (job && (await job.isDelayed())) await job.remove();
    },
    async notify(request, kind, auditIds = [], options = {}) {
      const kinds = typeof kind === 'string' ? [kind] : [...kind];
      await queues.notify.add(kinds.join('+'), notifyJob(request, kinds, auditIds), {
        jobId: jobIds.notify(request.id, kinds, request.version),
        ...(options.delayMs ? { delay: options.delayMs } : {}),
      });
    },
    async notifyMany(requests, kind) {
      if (requests.length === 0) return;
      const kinds = [...kind];
      await queues.notify.addBulk(
        requests.map((request) => ({
          name: kinds.join('+'),
          data: notifyJob(request, kinds, []),
          opts: { ...jobOptions.notify, jobId: jobIds.notify(request.id, kinds, request.version) },
        })),
      );
    },
    async postAudit(eventIds, options = {}) {
      if (eventIds.length === 0) return;
      // BullMQ takes jobs without a priority before any prioritized one: alerts carry none.
      const priority = options.urgent ? {} : { priority: routineAuditPriority };
      await queues.audit.addBulk(
        eventIds.map((id) => ({
          name: 'post',
          data: { eventId: String(id) },
          opts: { ...jobOptions.audit, ...priority, jobId: jobIds.audit(id) },
        })),
      );
    },
    async reviewDeadline(requestId, dueAt) {
      await addApprovalStep(queues, { subject: 'request', id: requestId, step: 'review' }, dueAt, now());
    },
    async approvalDeadlines(request) {
      const { remindAt, timeoutAt } = approvalDeadlinesFor(policy, request);
      // A new request waits on its first level; later levels' escalations come from the sweep.
      const escalation = escalationDueAt(policy, { ...request, approvals: [], escalatedLevels: [] });
      const at = now();
      await Promise.all([
        addApprovalStep(queues, { subject: 'request', id: request.id, step: 'remind' }, remindAt, at),
        addApprovalStep(queues, { subject: 'request', id: request.id, step: 'timeout' }, timeoutAt, at),
        ...(escalation
          ? [
              addApprovalStep(
                queues,
                { subject: 'request', id: request.id, step: 'escalate' },
                escalation.dueAt,
                at,
              ),
            ]
          : []),
      ]);
    },
  };
}
