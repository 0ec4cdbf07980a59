import { appendAuditEvent } from '../audit/chain.js';
import { principalsSchema } from '../config/policy-schema.js';
import { breakGlassRule, decideBreakGlass } from '../domain/break-glass.js';
import type { AccessRequest, BreakGlassReview } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import type { DeadlineOutcome } from './approval-timeout.js';
import { knownResource, resolvePrincipals } from './approvers.js';
import type { Deps } from './deps.js';
import { Conflict, InvalidInput, NotAllowed, NotFound } from './errors.js';
import { followUps } from './follow-ups.js';
import { applyFreeze, freezesCovering } from './freeze.js';
import {
  type AccessRequestInput,
  checkAsk,
  createWithFreshId,
  newRequest,
  rateLockClass,
} from './request-access.js';
import { revokeGrants } from './revoke.js';
import type { Tx } from './transition.js';

/**
 * Break-glass (`/jit break-glass <resource> <duration> <reason…>`, on resources with
 * `breakGlass:`): the requester grants themself at once, the security channel gets a top-level
 * alert, and the grant waits for a review. A reviewer acknowledges it, or flags it, which revokes
 * it now (and freezes the requester under `freezeOnFlag`); one nobody reviewed within
 * `reviewWithin` is alerted again. The review is a row of its own, so the grant's lifecycle is
 * the usual one (approved → active → ended) and revocation works as for any grant.
 */

export type ReviewVerdict = 'acknowledged' | 'flagged';

/** The request as recorded (denied by a rule, or approved), and when its review is due. */
export type BrokenGlass = AccessRequest & { reviewDueAt: Date | null };

export async function breakGlass(deps: Deps, input: AccessRequestInput): Promise<BrokenGlass> {
  const resource = knownResource(deps, input.resource, 'resource');
  const rules = resource.breakGlass;
  if (!rules) {
    const allowing = Object.entries(deps.policy.resources)
      .filter(([, r]) => r.breakGlass)
      .map(([name]) => name)
      .sort();
    throw new InvalidInput(
      `${input.resource} does not allow break-glass; ask with \`/jit request\`. ` +
        (allowing.length > 0
          ? `Break-glass is allowed on: ${allowing.join(', ')}.`
          : 'No resource allows it.'),
      { field: 'resource' },
    );
  }
  const limits = {
    default: Math.min(resource.duration.default, rules.maxDuration),
    max: rules.maxDuration,
    min: resource.duration.min,
  };
  const ask = await checkAsk(deps, input, limits);
  const { durationSec, reason, user, identity } = ask;

  const now = deps.clock.now();
  const freezes = await freezesCovering(deps, { resource: input.resource, requesterId: user.id });
  const { users, groups } = rules.reviewers ?? deps.policy.admins;
  const reviewers = { users, groups };
  const dueAt = new Date(now.getTime() + rules.reviewWithin * 1000);
  let usedEvent: bigint | null = null;

  const { request, auditIds } = await createWithFreshId(
    deps,
    now,
    async (tx) =>
      decideBreakGlass(
        rules,
        resource.duration,
        { durationSec },
        {
          userId: user.id,
          isGuest: user.isGuest,
          freezes,
          recentBreakGlass: await countRecentBreakGlass(tx, user.id, now, rules.limit.per),
          blockedUsers: resource.optOut?.blockedUsers ?? [],
        },
      ),
    newRequest(input, ask, now),
    {
      details: { breakGlass: true },
      decider: user.id,
      onApproved: async (tx, approved) => {
        await tx.breakGlassReview.create({
          data: {
            requestId: approved.id,
            reviewers,
            freezeOnFlag: rules.freezeOnFlag,
            dueAt,
          },
        });
        usedEvent = await appendAuditEvent(
          tx,
          {
            requestId: approved.id,
            actor: user.id,
            action: 'break_glass.used',
            fromState: 'approved',
            toState: 'approved',
            details: {
              resource: input.resource,
              identity,
              durationSec,
              reason,
              reviewers,
              reviewBy: dueAt.toISOString(),
            },
          },
          now,
        );
        return [];
      },
    },
  );
  deps.metrics.requestCreated();
  const log = deps.logger.child({ requestId: request.id, resource: request.resource });
  if (request.state === 'denied') {
    log.warn({ rule: request.decisionRule }, 'break-glass refused');
    await afterCommit(deps, request.id, [
      () => deps.jobs.notify(request, followUps(request.state, { requesterAnswered: true }), auditIds),
    ]);
    return { ...request, reviewDueAt: null };
  }
  log.warn({ identity, durationSec }, 'break-glass used');
  const alert = usedEvent as bigint | null;
  await afterCommit(deps, request.id, [
    () => deps.jobs.grant(request.id),
    ...(alert === null ? [] : [() => deps.jobs.postAudit([alert], { urgent: true })]),
    () => deps.jobs.notify(request, ['refresh', 'ask-reviewers'], auditIds),
    () => deps.jobs.reviewDeadline(request.id, dueAt),
  ]);
  return { ...request, reviewDueAt: dueAt };
}

/**
 * The person's break-glass grants in the window, over all resources; refusals do not count. The
 * lock makes two at the same moment count one after the other.
 */
async function countRecentBreakGlass(tx: Tx, userId: string, now: Date, perSec: number): Promise<number> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${rateLockClass}::int, hashtext(${`break-glass:${userId}`}))`;
  return tx.accessRequest.count({
    where: {
      requesterId: userId,
      decisionRule: breakGlassRule,
      createdAt: { gt: new Date(now.getTime() - perSec * 1000) },
    },
  });
}

/** The reviewers a review row names, as the policy said when the glass was broken. */
export function reviewersOf(review: Pick<BreakGlassReview, 'reviewers'>) {
  const parsed = principalsSchema.safeParse(review.reviewers);
  return parsed.success ? parsed.data : { users: [], groups: [] };
}

export interface ReviewResult {
  request: AccessRequest;
  verdict: ReviewVerdict;
  /** For a flag: whether the grant was taken back now, or is being retried. */
  revoked: 'revoked' | 'retrying' | 'already-ended' | null;
  froze: boolean;
}

/**
 * A reviewer's verdict on a break-glass grant. Recorded once (a conditional update: two
 * reviewers at the same moment, or a double click, record the first); a flag then revokes the
 * grant if it may still hold access, and freezes the requester when the review says so.
 */
export async function reviewBreakGlass(
  deps: Deps,
  requestId: string,
  reviewerId: string,
  verdict: ReviewVerdict,
): Promise<ReviewResult> {
  const review = await deps.db.breakGlassReview.findUnique({
    where: { requestId },
    include: { request: true },
  });
  if (!review) throw new NotFound(`${requestId} is not a break-glass grant.`);
  if (review.request.requesterId === reviewerId) {
    throw new NotAllowed('You cannot review your own break-glass grant.');
  }
  if (!(await resolvePrincipals(deps, reviewersOf(review))).has(reviewerId)) {
    throw new NotAllowed(`You are not a reviewer of ${requestId}.`);
  }
  if (review.outcome) throw alreadyReviewed(review);

  const now = deps.clock.now();
  const auditId = await deps.db.$transaction(async (tx) => {
    const { count } = await tx.breakGlassReview.updateMany({
      where: { requestId, outcome: null },
      data: { outcome: verdict, decidedBy: reviewerId, decidedAt: now },
    });
    if (count !== 1) return null;
    return appendAuditEvent(
      tx,
      {
        requestId,
        actor: reviewerId,
        action: `break_glass.${verdict}`,
        fromState: review.request.state,
        toState: review.request.state,
        details: {
          resource: review.request.resource,
          requester: review.request.requesterId,
          ...(verdict === 'flagged' ? { freezeRequester: review.freezeOnFlag } : {}),
        },
      },
      now,
    );
  });
  if (auditId === null) {
    const settled = await deps.db.breakGlassReview.findUniqueOrThrow({ where: { requestId } });
    throw alreadyReviewed(settled);
  }
  const log = deps.logger.child({ requestId, reviewerId });
  log.info({ verdict }, 'break-glass reviewed');

  let revoked: ReviewResult['revoked'] = null;
  if (verdict === 'flagged') {
    const reason = `break-glass flagged by its reviewer <@${reviewerId}>`;
    // A freeze of the requester revokes every grant of theirs, this one among them.
    const summary = review.freezeOnFlag
      ? (
          await applyFreeze(deps, {
            actorId: reviewerId,
            scope: { scope: 'user', userId: review.request.requesterId },
            reason,
          })
        ).revocation
      : await revokeGrants(deps, [requestId], { actorId: reviewerId, reason });
    revoked = summary.retrying.includes(requestId)
      ? 'retrying'
      : summary.revoked.includes(requestId)
        ? 'revoked'
        : 'already-ended';
  }
  const request = await deps.db.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
  await afterCommit(deps, requestId, [
    () => deps.jobs.postAudit([auditId], { urgent: verdict === 'flagged' }),
    () => deps.jobs.notify(request, ['reviewed'], []),
  ]);
  return { request, verdict, revoked, froze: verdict === 'flagged' && review.freezeOnFlag };
}

function alreadyReviewed(review: Pick<BreakGlassReview, 'requestId' | 'outcome' | 'decidedBy'>): Conflict {
  return new Conflict(
    `${review.requestId} was already ${review.outcome}${review.decidedBy ? ` by <@${review.decidedBy}>` : ''}; nothing changed.`,
  );
}

/**
 * The review's deadline (a delayed job, re-created by the sweep): a break-glass grant nobody
 * reviewed in time is alerted to the security channel once, top-level, naming its reviewers.
 */
export async function alertOverdueReview(deps: Deps, requestId: string): Promise<DeadlineOutcome> {
  const review = await deps.db.breakGlassReview.findUnique({ where: { requestId } });
  if (!review || review.outcome || review.overdueAt) return { outcome: 'nothing-to-do' };
  const now = deps.clock.now();
  if (review.dueAt > now) return { outcome: 'not-due', dueAt: review.dueAt };
  const auditId = await deps.db.$transaction(async (tx) => {
    const { count } = await tx.breakGlassReview.updateMany({
      where: { requestId, outcome: null, overdueAt: null },
      data: { overdueAt: now },
    });
    if (count !== 1) return null;
    return appendAuditEvent(
      tx,
      {
        requestId,
        actor: 'system',
        action: 'break_glass.review_overdue',
        details: {
          reviewers: reviewersOf(review),
          dueAt: review.dueAt.toISOString(),
          waitedMinutes: Math.round((now.getTime() - review.createdAt.getTime()) / 60_000),
        },
      },
      now,
    );
  });
  if (auditId === null) return { outcome: 'nothing-to-do' };
  deps.logger.warn({ requestId }, 'break-glass review overdue');
  const request = await deps.db.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
  await afterCommit(deps, requestId, [
    () => deps.jobs.postAudit([auditId], { urgent: true }),
    () => deps.jobs.notify(request, ['review-overdue'], []),
  ]);
  return { outcome: 'alerted' };
}

/** Break-glass grants nobody has reviewed yet, oldest first: for the admins' App Home. */
export async function unreviewedBreakGlass(deps: Pick<Deps, 'db'>, limit: number) {
  const [rows, count] = await Promise.all([
    deps.db.breakGlassReview.findMany({
      where: { outcome: null },
      orderBy: { createdAt: 'asc' },
      take: limit,
      include: { request: true },
    }),
    deps.db.breakGlassReview.count({ where: { outcome: null } }),
  ]);
  return { rows, count };
}
