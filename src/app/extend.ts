import { appendAuditEvent } from '../audit/chain.js';
import type { ResourcePolicy } from '../config/policy.js';
import { formatDuration, parseDuration } from '../domain/duration.js';
import { newExtensionId } from '../domain/ids.js';
import { describeState } from '../domain/lifecycle.js';
import {
  checkApprovable,
  checkReason,
  currentLevel,
  decideExtension,
  type PolicyDecision,
  type RequesterContext,
} from '../domain/policy.js';
import { type AccessRequest, type Extension, Prisma } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { approvalLevelsFor, resourcePolicy } from './approvers.js';
import type { Deps } from './deps.js';
import { Conflict, checked, InvalidInput, NotAllowed, NotFound } from './errors.js';
import {
  applyExtension,
  type ExtensionNotices,
  type ExtensionSubject,
  extensionLevels,
  settleExtension,
  waitingApprovers,
} from './extension-record.js';
import { freezesCovering } from './freeze.js';
import { onCallAnswers } from './on-call.js';
import { moveExpiryOnTarget } from './target-expiry.js';
import { lockRequest, type Tx } from './transition.js';

export type { ExtensionNotices, ExtensionSubject } from './extension-record.js';

export interface ExtensionInput {
  requestId: string;
  requesterId: string;
  /** As typed (`30m`): the time to add. */
  duration: string;
  /** Optional; the request's own reason still stands when none is given. */
  reason?: string | null;
}

export type ExtensionResult = ExtensionSubject & {
  /**
   * `extended`: auto-approved and applied, `request.expiresAt` is the new end; `pending`: the
   * approvers have been asked; `denied`: refused by a rule, `extension.endReason` says why.
   */
  outcome: 'extended' | 'pending' | 'denied';
};

/** The actor of decisions made by the policy file's rules rather than by a person. */
const policyActor = 'policy';

/**
 * `/jit extend <id> <duration>` and the Extend button: asks for more time on an active grant.
 * The resource's policy decides as it does for a request: a rule denies it (recorded, nobody
 * asked), auto-approves it (applied at once), or sends it to the approval levels it names.
 * At most one extension per grant waits at a time.
 */
export async function requestExtension(
  deps: Deps,
  notices: ExtensionNotices,
  input: ExtensionInput,
): Promise<ExtensionResult> {
  const extraSec = parseExtra(input.duration);
  const reason = input.reason?.trim() ? checked(checkReason(input.reason), 'reason') : '';
  const seen = await deps.db.accessRequest.findUnique({ where: { id: input.requestId } });
  if (!seen) throw new NotFound(`No request ${input.requestId}.`);
  if (seen.requesterId !== input.requesterId) {
    throw new NotAllowed(`Only the requester can extend ${seen.id}.`);
  }
  checkExtendable(seen, deps.clock.now());
  const resource = resourcePolicy(deps, seen.resource);
  const allLevels = await approvalLevelsFor(deps, resource);
  const context = await requesterContext(deps, resource, seen);
  const decision = decideExtension(
    resource,
    { timezone: deps.policy.timezone, businessHours: deps.policy.businessHours },
    { grantedSec: grantedSec(seen), extraSec },
    context,
  );
  const levels = extensionLevels(allLevels, decision.outcome === 'approval' ? decision.levels : []);
  // Only an extension that waits for people needs people able to approve it.
  if (decision.outcome === 'approval') checked(checkApprovable(levels, seen.requesterId));

  const log = deps.logger.child({ requestId: seen.id });
  const written = await createWithFreshId(deps, seen, (tx, request, id) =>
    writeDecision(deps, tx, request, { id, extraSec, reason, decision }),
  );
  const { extension, request, auditIds } = written;
  log.info({ extensionId: extension.id, state: extension.state }, 'extension asked');
  const subject: ExtensionSubject = { extension, request, reasons: decision.reasons };
  if (extension.state === 'approved') {
    await afterCommit(deps, request.id, [
      () => deps.jobs.expireAt(request.id, request.expiresAt as Date),
      () => moveExpiryOnTarget(deps, request),
      () => deps.jobs.postAudit(auditIds),
      () => deps.jobs.notify(request, 'refresh'),
      () => notices.tellRequester(subject),
    ]);
    return { ...subject, outcome: 'extended' };
  }
  if (extension.state === 'denied') {
    await afterCommit(deps, request.id, [() => deps.jobs.postAudit(auditIds)]);
    return { ...subject, outcome: 'denied' };
  }
  const first = currentLevel(levels, []);
  await afterCommit(deps, request.id, [
    () => deps.jobs.postAudit(auditIds),
    () =>
      first === null
        ? Promise.resolve()
        : notices.askApprovers(subject, waitingApprovers(levels, [], first, request.requesterId)),
  ]);
  return { ...subject, outcome: 'pending' };
}

function parseExtra(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === null) {
    throw new InvalidInput(`"${text}" is not a duration. Say how much time to add, e.g. 30m, 2h or 1h30m.`, {
      field: 'duration',
    });
  }
  return seconds;
}

/**
 * Only a grant that is active and not yet due can be extended. Refusing a due one keeps an
 * extension from landing while the expiry is already taking the access back on the target.
 */
export function checkExtendable(request: AccessRequest, now: Date): void {
  if (request.state !== 'active' || !request.expiresAt) {
    throw new Conflict(
      `${request.id} cannot be extended: it is ${describeState(request.state)}, and only an active grant can be.`,
    );
  }
  if (request.expiresAt <= now) {
    throw new Conflict(`${request.id} has just expired; request the access again if you still need it.`);
  }
}

/** The grant's total so far, from when it was granted to when it ends now. */
function grantedSec(request: AccessRequest): number {
  const from = request.grantedAt ?? request.createdAt;
  return Math.round(((request.expiresAt as Date).getTime() - from.getTime()) / 1000);
}

/** The facts about the requester the policy looks at, gathered as `requestAccess` does. */
async function requesterContext(
  deps: Deps,
  resource: ResourcePolicy,
  request: AccessRequest,
): Promise<RequesterContext> {
  const userId = request.requesterId;
  const groupIds = [...new Set(resource.autoApprove.flatMap((entry) => entry.requesterIn?.groups ?? []))];
  const [user, memberships, freezes] = await Promise.all([
    deps.directory.user(userId),
    Promise.all(
      groupIds.map(async (groupId) =>
        (await deps.directory.groupMembers(groupId)).includes(userId) ? groupId : null,
      ),
    ),
    freezesCovering(deps, { resource: request.resource, requesterId: userId }),
  ]);
  return {
    userId,
    groups: new Set(memberships.filter((id): id is string => id !== null)),
    isGuest: user.isGuest,
    at: deps.clock.now(),
    // The hourly request limit counts requests; asking for more time is not a new request.
    recentRequests: 0,
    freezes: freezes.map((f) => ({ scope: f.scope, target: f.target, reason: f.reason })),
    onCall: await onCallAnswers(deps, resource, user),
  };
}

interface Written {
  extension: Extension;
  request: AccessRequest;
  auditIds: bigint[];
}

/**
 * Writes the extension and what the policy decided about it, in one transaction with the grant's
 * row lock held, so it cannot race an approval, an expiry or a second ask.
 */
async function writeDecision(
  deps: Deps,
  tx: Tx,
  request: AccessRequest,
  ask: { id: string; extraSec: number; reason: string; decision: PolicyDecision },
): Promise<Written> {
  const { decision } = ask;
  const now = deps.clock.now();
  const extension = await tx.extension.create({
    data: {
      id: ask.id,
      requestId: request.id,
      requesterId: request.requesterId,
      extraSec: ask.extraSec,
      reason: ask.reason,
    },
  });
  const created = await appendAuditEvent(
    tx,
    {
      requestId: request.id,
      actor: request.requesterId,
      action: 'extension.created',
      details: {
        extensionId: extension.id,
        extraSec: ask.extraSec,
        ...(ask.reason ? { reason: ask.reason } : {}),
        // The levels asked for are kept here, so approvals later follow this decision even if
        // the clock or the policy's answer has moved on since.
        ...(decision.outcome === 'approval' ? { levels: decision.levels, review: decision.review } : {}),
        reasons: decision.reasons,
      },
    },
    now,
  );
  if (decision.outcome === 'approval') return { extension, request, auditIds: [created] };
  if (decision.outcome === 'auto-approve') {
    const applied = await applyExtension(deps, tx, request, extension, {
      actor: policyActor,
      rule: decision.rule,
    });
    return { ...applied, auditIds: [created, ...applied.auditIds] };
  }
  const why = `${decision.reasons.join(' ')} ${decision.instead}`.trim();
  const denied = await settleExtension(tx, extension, 'denied', {
    decidedBy: policyActor,
    decidedAt: now,
    decisionRule: decision.rule,
    endReason: why,
  });
  const deniedAudit = await appendAuditEvent(
    tx,
    {
      requestId: request.id,
      actor: policyActor,
      action: 'extension.denied',
      details: { extensionId: extension.id, rule: decision.rule, reason: why },
    },
    now,
  );
  return { extension: denied, request, auditIds: [created, deniedAudit] };
}

/**
 * Locks the grant, checks it is still the one the decision was made about, and refuses a second
 * ask while one waits. Ids are short, so a collision is possible (if rare): try a new one.
 */
async function createWithFreshId(
  deps: Deps,
  seen: AccessRequest,
  write: (tx: Tx, request: AccessRequest, id: string) => Promise<Written>,
): Promise<Written> {
  for (let attempt = 0; ; attempt++) {
    const id = newExtensionId(deps.randomBytes);
    try {
      return await deps.db.$transaction(async (tx) => {
        const request = await lockRequest(tx, seen.id);
        checkExtendable(request, deps.clock.now());
        const waiting = await tx.extension.findFirst({ where: { requestId: seen.id, state: 'pending' } });
        if (waiting) throw alreadyAsked(waiting);
        if (request.expiresAt?.getTime() !== seen.expiresAt?.getTime()) {
          // Another extension was applied after the policy looked: its answer may no longer hold.
          throw new Conflict(`${seen.id} was just extended; ask again if you need more time.`);
        }
        return write(tx, request, id);
      });
    } catch (error) {
      const duplicate = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
      if (!duplicate || attempt >= 4) throw error;
      const waiting = await deps.db.extension.findFirst({ where: { requestId: seen.id, state: 'pending' } });
      if (waiting) throw alreadyAsked(waiting);
    }
  }
}

function alreadyAsked(waiting: Extension): Conflict {
  return new Conflict(
    `You already asked for ${formatDuration(waiting.extraSec)} more on ${waiting.requestId} ` +
      `(${waiting.id}), and it is waiting for approval. Ask again once it is decided.`,
  );
}
