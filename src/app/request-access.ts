import { appendAuditEvent } from '../audit/chain.js';
import type { ResourcePolicy } from '../config/policy.js';
import { formatDuration, parseDuration } from '../domain/duration.js';
import { resolveIdentity } from '../domain/identity.js';
import { newRequestId } from '../domain/ids.js';
import { evaluateOptOut, type OptOutRuleId } from '../domain/opt-out.js';
import { checkApprovable, checkDuration, checkReason } from '../domain/policy.js';
import { type AccessRequest, Prisma } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { approvalLevelsFor, knownResource } from './approvers.js';
import type { Deps, SlackUser } from './deps.js';
import { checked, InvalidInput, NotAllowed } from './errors.js';
import { freezesCovering, frozenReason } from './freeze.js';
import { applyTransition, type Tx } from './transition.js';

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
 * Validates a request against the policy, records it, and asks the first approval level.
 * Nothing is written unless every check passes. A request that a freeze or an opt-out rule
 * refuses is recorded already denied (so it is on the audit trail and in the security channel),
 * and no approver is asked; one that a rule sends to review goes to the approvers marked so.
 */
export async function requestAccess(deps: Deps, input: AccessRequestInput): Promise<AccessRequest> {
  const resource = knownResource(deps, input.resource, 'resource');
  const durationSec = checked(
    checkDuration(parseRequestedDuration(input.duration), resource.duration, formatDuration),
    'duration',
  );
  const reason = checked(checkReason(input.reason), 'reason');

  const user = await deps.directory.user(input.requesterId);
  if (user.isBot || user.deleted) throw new NotAllowed('Only people can request access.');
  const provider = deps.policy.providers[resource.provider];
  const identity = resolveIdentity(user.id, user.email, provider?.identities);
  if (!identity) {
    throw new InvalidInput(
      `Your Slack profile has no email, so there is no ${resource.provider} login to grant to. ` +
        "Ask the security team to map you in the provider's `identities`.",
    );
  }
  const levels = await approvalLevelsFor(deps, resource);
  checked(checkApprovable(levels, user.id));

  const now = deps.clock.now();
  const [frozen] = await freezesCovering(deps, { resource: input.resource, requesterId: user.id });
  const decide: Decide = frozen
    ? async () => ({ kind: 'deny', rule: 'freeze', explanation: freezeExplanation(frozen) })
    : (tx) => screenOptOut(deps, tx, { user, resourceName: input.resource, resource, now });

  const { request, auditIds } = await createWithFreshId(deps, now, decide, {
    requesterId: user.id,
    resource: input.resource,
    reason,
    durationSec,
    identity,
    channelId: input.channelId ?? null,
    createdAt: now,
  });
  const log = deps.logger.child({ requestId: request.id, resource: request.resource });
  if (request.state === 'denied') {
    log.warn({ rule: request.decisionRule }, 'request denied by policy');
    await afterCommit(deps, request.id, [() => deps.jobs.postAudit(auditIds)]);
    return request;
  }
  log.info({ reviewRule: request.reviewRule }, 'request created');
  await afterCommit(deps, request.id, [
    () => deps.jobs.notify(request, 'ask-approvers'),
    () => deps.jobs.postAudit(auditIds),
  ]);
  return request;
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

/** What the rules make of a request before it is written. */
type Screening =
  | { kind: 'allow' }
  | { kind: 'review'; rules: string[] }
  | { kind: 'deny'; rule: string; explanation: string };

type Decide = (tx: Tx) => Promise<Screening>;

function freezeExplanation(freeze: Parameters<typeof frozenReason>[0]): string {
  return `${frozenReason(freeze)} (ask again once the freeze is lifted)`;
}

async function screenOptOut(
  deps: Deps,
  tx: Tx,
  subject: { user: SlackUser; resourceName: string; resource: ResourcePolicy; now: Date },
): Promise<Screening> {
  const rules = subject.resource.optOut;
  if (!rules) return { kind: 'allow' };
  const recentRequests = rules.maxRequestsPerHour === undefined ? 0 : await countRecentRequests(tx, subject);
  const decision = evaluateOptOut(rules, {
    requesterId: subject.user.id,
    isGuest: subject.user.isGuest,
    at: subject.now,
    timezone: deps.policy.timezone,
    businessHours: deps.policy.businessHours,
    recentRequests,
  });
  if (decision.decision === 'allow') return { kind: 'allow' };
  if (decision.decision === 'review') return { kind: 'review', rules: decision.rules };
  return { kind: 'deny', rule: decision.rule, explanation: `${decision.reason} ${decision.instead}` };
}

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

/** First key of the two-key advisory locks for the rate rule (the audit chain uses a one-key lock). */
const rateLockClass = 0x6a17;

type NewRequest = Omit<Prisma.AccessRequestCreateInput, 'id'>;

/**
 * Writes the request and its `request.created` event, and when `decide` refuses it, its denial
 * too: all in one transaction, so a refused request is never seen pending. Ids are short, so a
 * collision is possible (if rare): try again with a new one.
 */
async function createWithFreshId(
  deps: Deps,
  now: Date,
  decide: Decide,
  data: NewRequest,
): Promise<{ request: AccessRequest; auditIds: bigint[] }> {
  for (let attempt = 0; ; attempt++) {
    const id = newRequestId(deps.randomBytes);
    try {
      return await deps.db.$transaction(async (tx) => {
        const screening = await decide(tx);
        const reviewRule = screening.kind === 'review' ? screening.rules.join(',') : null;
        const created = await tx.accessRequest.create({ data: { ...data, id, reviewRule } });
        const createdAudit = await appendAuditEvent(
          tx,
          {
            requestId: id,
            actor: data.requesterId,
            action: 'request.created',
            toState: 'pending',
            details: {
              resource: data.resource,
              durationSec: data.durationSec,
              reason: data.reason,
              identity: data.identity,
              ...(reviewRule ? { reviewRule } : {}),
            },
          },
          now,
        );
        if (screening.kind !== 'deny') return { request: created, auditIds: [createdAudit] };
        const denied = await applyTransition(deps, tx, created, {
          event: 'deny',
          actor: policyActor,
          data: {
            decidedAt: now,
            decidedBy: policyActor,
            endReason: screening.explanation,
            decisionRule: screening.rule,
          },
          details: { rule: screening.rule, reason: screening.explanation },
        });
        return { request: denied.request, auditIds: [createdAudit, denied.auditId] };
      });
    } catch (error) {
      const duplicate = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
      if (!duplicate || attempt >= 4) throw error;
    }
  }
}
