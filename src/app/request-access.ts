import { appendAuditEvent, appendAuditSql } from '../audit/chain.js';
import type { ResourcePolicy } from '../config/policy.js';
import { formatDuration, parseDuration } from '../domain/duration.js';
import type { FrozenSubject } from '../domain/freeze.js';
import { newRequestId } from '../domain/ids.js';
import type { OptOutRuleId } from '../domain/opt-out.js';
import {
  checkApprovable,
  checkDuration,
  checkReason,
  type DurationLimits,
  decideRequest,
  type OnCallAnswer,
  type PolicyDecision,
} from '../domain/policy.js';
import { type AccessRequest, type Freeze, Prisma } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { approvalLevelsFor, knownResource } from './approvers.js';
import { requestColumns } from './columns.js';
import type { Deps, SlackUser } from './deps.js';
import { checked, InvalidInput, NotAllowed, ProviderUnavailable, UnknownIdentity } from './errors.js';
import { approvedFollowUpDelayMs, followUps } from './follow-ups.js';
import { freezesCovering, noFreezeCoversSql } from './freeze.js';
import { type GrantSnapshot, snapshotFromPolicy } from './grant-snapshot.js';
import { auditIdentityRefusal, requesterIdentity } from './identity.js';
import { onCallAnswers } from './on-call.js';
import { applyTransition, type TransitionInput, type Tx } from './transition.js';

export interface AccessRequestInput {
  requesterId: string;
  resource: string;
  /** As typed (`1h30m`); empty or null means the resource's default. */
  duration: string | null;
  reason: string;
  channelId?: string | null;
}

/** The actor of decisions made by the policy file's rules rather than by a person. */
const policyActor = 'policy';

const rateRule: OptOutRuleId = 'optOut.maxRequestsPerHour';
const hourMs = 60 * 60 * 1000;

/**
 * Validates a request, decides it by the policy (`decideRequest`), records it, and acts on the
 * decision. Nothing is written unless the input is valid. A request that a freeze or an opt-out
 * rule refuses is recorded already denied, and one an `autoApprove` rule grants is recorded
 * already approved (so either is on the audit trail and in the security channel), and no
 * approver is asked; any other goes to the first approval level.
 */
export async function requestAccess(deps: Deps, input: AccessRequestInput): Promise<AccessRequest> {
  const resource = knownResource(deps, input.resource, 'resource');
  const { durationSec, reason, user, snapshot, identity } = await checkAsk(deps, input, resource.duration);
  const approvable = checkApprovable(await approvalLevelsFor(deps, resource), user.id);
  const [groups, onCall] = await Promise.all([
    autoApproveGroupsOf(deps, resource, user.id),
    onCallAnswers(deps, resource, user),
  ]);

  const now = deps.clock.now();
  const subject = { resource: input.resource, requesterId: user.id };
  const decideWith =
    (freezes: Freeze[]): Decide =>
    async (tx) => {
      const recentRequests =
        resource.optOut?.maxRequestsPerHour === undefined
          ? 0
          : await countRecentRequests(tx, { user, resourceName: input.resource, now });
      const decision = decideRequest(
        resource,
        deps.policy,
        { durationSec },
        { userId: user.id, groups, isGuest: user.isGuest, at: now, recentRequests, freezes, onCall },
      );
      // Only a request that waits for people needs people able to approve it; refusing it here
      // rolls the transaction back, so nothing is written.
      if (decision.outcome === 'approval') checked(approvable);
      return decision;
    };

  const row = newRequest(input, { durationSec, reason, user, snapshot, identity }, now);
  const details = onCallDetails(onCall);
  // Without the hourly rate, deciding reads nothing in the transaction. Decided first as if no
  // freeze stood, a request that waits for people is written with its event in one statement that
  // also asks for no standing freeze; under a freeze (nothing written) it is decided with them.
  const alone = resource.optOut?.maxRequestsPerHour === undefined ? await decideWith([])(deps.db) : null;
  const waiting =
    alone?.outcome === 'approval' ? await createWaitingAtOnce(deps, now, row, alone, details, subject) : null;
  const { request, auditIds } =
    waiting ??
    (await createWithFreshId(deps, now, decideWith(await freezesCovering(deps, subject)), row, { details }));
  deps.metrics.requestCreated();
  const log = deps.logger.child({ requestId: request.id, resource: request.resource });
  if (request.state === 'denied') {
    log.warn({ rule: request.decisionRule }, 'request denied by policy');
    await afterCommit(deps, request.id, [
      () => deps.jobs.notify(request, followUps(request.state, { requesterAnswered: true }), auditIds),
    ]);
    return request;
  }
  if (request.state === 'approved') {
    log.info({ rule: request.decisionRule }, 'request approved by policy');
    await afterCommit(deps, request.id, [
      () => deps.jobs.grant(request.id),
      () =>
        deps.jobs.notify(request, followUps(request.state, { requesterAnswered: true }), auditIds, {
          delayMs: approvedFollowUpDelayMs,
        }),
    ]);
    return request;
  }
  log.info({ reviewRule: request.reviewRule }, 'request created');
  await afterCommit(deps, request.id, [
    () => deps.jobs.notify(request, followUps(request.state, { approversWaiting: true }), auditIds),
    () => deps.jobs.approvalDeadlines(request),
  ]);
  return request;
}

/**
 * What every way of asking for access checks before anything is written: the duration within
 * `limits` and the reason, then the requester, their identity on the resource's provider, and
 * whether the target will grant to it.
 */
export async function checkAsk(
  deps: Deps,
  input: AccessRequestInput,
  limits: DurationLimits,
): Promise<{
  durationSec: number;
  reason: string;
  user: SlackUser;
  snapshot: GrantSnapshot;
  identity: string;
}> {
  const durationSec = checked(
    checkDuration(parseRequestedDuration(input.duration), limits, formatDuration),
    'duration',
  );
  const reason = checked(checkReason(input.reason), 'reason');
  const user = await deps.directory.user(input.requesterId);
  const snapshot = snapshotFromPolicy(deps.policy, input.resource);
  if (!snapshot) throw new InvalidInput(`Resource ${input.resource} has no provider configured.`);
  const identity = await requesterIdentity(deps, user, {
    resource: input.resource,
    provider: snapshot.provider,
  });
  await checkTargetIdentity(deps, user.id, input.resource, snapshot, identity);
  return { durationSec, reason, user, snapshot, identity };
}

/** The row of a new request, from what `checkAsk` found. */
export function newRequest(
  input: AccessRequestInput,
  ask: Awaited<ReturnType<typeof checkAsk>>,
  now: Date,
): AskedRow {
  return {
    requesterId: ask.user.id,
    resource: input.resource,
    reason: ask.reason,
    durationSec: ask.durationSec,
    identity: ask.identity,
    grantSnapshot: ask.snapshot as Prisma.InputJsonObject,
    channelId: input.channelId ?? null,
    createdAt: now,
  };
}

/**
 * Asks the provider whether it may grant to this identity at all (a superuser, a group role, a
 * service account may not be), so such a request is refused now rather than failing after
 * approval. When the target cannot be asked right now the request goes ahead: the grant asks
 * again before it touches anything.
 */
async function checkTargetIdentity(
  deps: Deps,
  requesterId: string,
  resourceName: string,
  snapshot: GrantSnapshot,
  identity: string,
): Promise<void> {
  const provider = deps.providers.get(snapshot.provider);
  if (!provider?.checkIdentity) return;
  try {
    await provider.checkIdentity({
      requestId: '-',
      identity,
      userId: requesterId,
      resource: resourceName,
      grant: snapshot.grant,
      expiresAt: deps.clock.now(),
    });
  } catch (error) {
    if (error instanceof ProviderUnavailable) {
      deps.logger.warn({ err: error, resource: resourceName }, 'identity not checked at request time');
      return;
    }
    if (!(error instanceof InvalidInput)) throw error;
    const reason = `${snapshot.provider} will not grant to ${identity}: ${error.message}.`;
    if (error instanceof UnknownIdentity) throw new NotAllowed(reason);
    await auditIdentityRefusal(deps, requesterId, 'request', {
      resource: resourceName,
      code: 'target',
      reason,
    });
    throw new NotAllowed(reason);
  }
}

/**
 * What the on-call schedules said, for the `request.created` event: the security team sees who was
 * on call, who was not, and which schedule could not be asked. Nothing for resources without.
 */
function onCallDetails(answers: ReadonlyMap<number, OnCallAnswer>): Record<string, unknown> {
  if (answers.size === 0) return {};
  return {
    onCall: [...answers].map(([index, answer]) => ({
      rule: `autoApprove[${index}]`,
      schedule: answer.where,
      ...('unknown' in answer ? { unknown: answer.unknown } : { onCall: answer.onCall }),
    })),
  };
}

/** The user groups named by the resource's autoApprove rules that the requester is in. */
async function autoApproveGroupsOf(
  deps: Pick<Deps, 'directory'>,
  resource: ResourcePolicy,
  userId: string,
): Promise<Set<string>> {
  const named = [...new Set(resource.autoApprove.flatMap((rule) => rule.requesterIn?.groups ?? []))];
  const members = await Promise.all(named.map((group) => deps.directory.groupMembers(group)));
  return new Set(named.filter((_, i) => members[i]?.includes(userId)));
}

function parseRequestedDuration(text: string | null): number | null {
  if (text === null || text.trim() === '') return null;
  const seconds = parseDuration(text);
  if (seconds === null) {
    throw new InvalidInput(`"${text}" is not a duration. Use e.g. 90s, 30m, 2h, 1d or 1h30m.`, {
      field: 'duration',
    });
  }
  return seconds;
}

export type Decide = (tx: Tx) => Promise<PolicyDecision>;

/**
 * The requester's requests for the resource in the last hour. Ones the rate rule itself refused
 * do not count, so retrying while refused does not push the end of the refusal further out. The
 * lock makes concurrent requests by one person count one after the other.
 */
async function countRecentRequests(
  tx: Tx,
  subject: { user: SlackUser; resourceName: string; now: Date },
): Promise<number> {
  const key = `${subject.user.id}:${subject.resourceName}`;
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${rateLockClass}::int, hashtext(${key}))`;
  return tx.accessRequest.count({
    where: {
      requesterId: subject.user.id,
      resource: subject.resourceName,
      // No upper bound: a concurrent request may have read the clock later yet committed first.
      createdAt: { gt: new Date(subject.now.getTime() - hourMs) },
      // `not` alone would also drop the rows where the rule is null.
      OR: [{ decisionRule: null }, { decisionRule: { not: rateRule } }],
    },
  });
}

/**
 * First key of the two-key advisory locks for the per-person rates (the rate rule, break-glass's
 * limit); the audit chain uses a one-key lock.
 */
export const rateLockClass = 0x6a17;

export type NewRequest = Omit<Prisma.AccessRequestCreateInput, 'id'>;

/** The columns `newRequest` fills in: what someone asked for, as `checkAsk` found it. */
export interface AskedRow extends NewRequest {
  requesterId: string;
  resource: string;
  reason: string;
  durationSec: number;
  identity: string;
  grantSnapshot: Prisma.InputJsonObject;
  channelId: string | null;
  createdAt: Date;
}

/** The transition a decision by a rule makes, with the rule and its reasons on the trail. */
function decidedByPolicy(
  decision: Exclude<PolicyDecision, { outcome: 'approval' }>,
  now: Date,
  actor: string,
): TransitionInput {
  const decided = { decidedAt: now, decidedBy: actor, decisionRule: decision.rule };
  if (decision.outcome === 'auto-approve') {
    return {
      event: 'approve',
      actor,
      data: decided,
      details: { rule: decision.rule, reasons: decision.reasons },
    };
  }
  const explanation = `${decision.reasons.join(' ')} ${decision.instead}`;
  return {
    event: 'deny',
    actor,
    data: { ...decided, endReason: explanation },
    details: { rule: decision.rule, reason: explanation },
  };
}

export interface CreateOptions {
  /** More for the `request.created` event. */
  details?: Record<string, unknown>;
  /** Who a rule's decision is recorded as (`decidedBy`, the event's actor); `policy` by default. */
  decider?: string;
  /** Writes more in the transaction when a rule approved the request, returning its audit events. */
  onApproved?: (tx: Tx, request: AccessRequest) => Promise<bigint[]>;
}

/**
 * A request that waits for its approvers, written with its `request.created` event in one
 * statement (`createWithFreshId` does the same in a transaction, for a decision that reads or
 * writes more). A new id on the rare collision.
 */
async function createWaitingAtOnce(
  deps: Deps,
  now: Date,
  row: AskedRow,
  decision: Extract<PolicyDecision, { outcome: 'approval' }>,
  moreDetails: Record<string, unknown>,
  subject: FrozenSubject,
): Promise<{ request: AccessRequest; auditIds: bigint[] } | null> {
  const reviewRule = decision.review.length > 0 ? decision.review.join(',') : null;
  for (let attempt = 0; ; attempt++) {
    const id = newRequestId(deps.randomBytes);
    const audit = {
      requestId: id,
      actor: row.requesterId,
      action: 'request.created',
      toState: 'pending',
      details: createdDetails(row, reviewRule, moreDetails),
    };
    try {
      const [created] = await deps.db.$queryRaw<Array<AccessRequest & { auditId: bigint }>>`
        WITH "created" AS (
          INSERT INTO "access_requests" ("id", "requesterId", "resource", "reason", "durationSec",
            "identity", "grantSnapshot", "channelId", "createdAt", "updatedAt", "reviewRule")
          SELECT ${id}, ${row.requesterId}, ${row.resource}, ${row.reason}, ${row.durationSec}::int,
            ${row.identity}, ${JSON.stringify(row.grantSnapshot)}::jsonb, ${row.channelId}, ${now}::timestamptz, ${now}::timestamptz,
            ${reviewRule}
          WHERE ${noFreezeCoversSql(subject)}
          RETURNING ${requestColumns()}),
        ${appendAuditSql(audit, now, Prisma.sql`EXISTS (SELECT 1 FROM "created")`)}
        SELECT ${requestColumns('created')}, (SELECT "id" FROM "event") AS "auditId" FROM "created"`;
      if (!created) return null; // a freeze stands
      const { auditId, ...request } = created;
      return { request, auditIds: [auditId] };
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= 4) throw error;
    }
  }
}

/** What the `request.created` event says about the request. */
function createdDetails(
  data: Pick<NewRequest, 'resource' | 'durationSec' | 'reason' | 'identity'>,
  reviewRule: string | null,
  more: Record<string, unknown>,
): Record<string, unknown> {
  return {
    resource: data.resource,
    durationSec: data.durationSec,
    reason: data.reason,
    identity: data.identity,
    ...(reviewRule ? { reviewRule } : {}),
    ...more,
  };
}

/** A unique violation, from a Prisma query (P2002) or a raw statement (SQLSTATE 23505). */
function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return (
    error.code === 'P2002' || (error.code === 'P2010' && JSON.stringify(error.meta ?? {}).includes('23505'))
  );
}

/**
 * Writes the request and its `request.created` event, and when `decide` refuses or approves it,
 * that decision too: all in one transaction, so a request a rule decided is never seen pending.
 * `options.onApproved` writes more in the same transaction when a rule approved it (break-glass's
 * review). Ids are short, so a collision is possible (if rare): try again
 * with a new one.
 */
export async function createWithFreshId(
  deps: Deps,
  now: Date,
  decide: Decide,
  data: NewRequest,
  options: CreateOptions = {},
): Promise<{ request: AccessRequest; auditIds: bigint[] }> {
  const { details: moreDetails = {}, decider = policyActor, onApproved } = options;
  for (let attempt = 0; ; attempt++) {
    const id = newRequestId(deps.randomBytes);
    try {
      return await deps.db.$transaction(async (tx) => {
        const decision = await decide(tx);
        const reviewRule =
          decision.outcome === 'approval' && decision.review.length > 0 ? decision.review.join(',') : null;
        const created = await tx.accessRequest.create({ data: { ...data, id, reviewRule } });
        const createdAudit = await appendAuditEvent(
          tx,
          {
            requestId: id,
            actor: data.requesterId,
            action: 'request.created',
            toState: 'pending',
            details: createdDetails(data, reviewRule, moreDetails),
          },
          now,
        );
        if (decision.outcome === 'approval') return { request: created, auditIds: [createdAudit] };
        const decided = await applyTransition(deps, tx, created, decidedByPolicy(decision, now, decider));
        const more =
          decision.outcome === 'auto-approve' && onApproved ? await onApproved(tx, decided.request) : [];
        return { request: decided.request, auditIds: [createdAudit, decided.auditId, ...more] };
      });
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= 4) throw error;
    }
  }
}
