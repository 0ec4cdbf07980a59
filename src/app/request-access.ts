import { appendAuditEvent } from '../audit/chain.js';
import { formatDuration, parseDuration } from '../domain/duration.js';
import { resolveIdentity } from '../domain/identity.js';
import { newRequestId } from '../domain/ids.js';
import { checkApprovable, checkDuration, checkReason } from '../domain/policy.js';
import { type AccessRequest, Prisma } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import { approvalLevelsFor } from './approvers.js';
import type { Deps } from './deps.js';
import { checked, InvalidInput, NotAllowed } from './errors.js';

export interface AccessRequestInput {
  requesterId: string;
  resource: string;
  /** As typed (`1h30m`); empty or null means the resource's default. */
  duration: string | null;
  reason: string;
  channelId?: string | null;
}

/**
 * Validates a request against the policy, records it, and asks the first approval level.
 * Nothing is written unless every check passes.
 */
export async function requestAccess(deps: Deps, input: AccessRequestInput): Promise<AccessRequest> {
  const resource = deps.policy.resources[input.resource];
  if (!resource) {
    const known = Object.keys(deps.policy.resources).sort().join(', ');
    throw new InvalidInput(`Unknown resource "${input.resource}". Available: ${known}.`, {
      field: 'resource',
    });
  }
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

  const { request, auditId } = await createWithFreshId(deps, {
    requesterId: user.id,
    resource: input.resource,
    reason,
    durationSec,
    identity,
    channelId: input.channelId ?? null,
  });
  deps.logger.info({ requestId: request.id, resource: request.resource }, 'request created');
  await afterCommit(deps, request.id, [
    () => deps.jobs.notify(request, 'ask-approvers'),
    () => deps.jobs.postAudit([auditId]),
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

type NewRequest = Omit<Prisma.AccessRequestCreateInput, 'id'>;

/** Ids are short, so a collision is possible (if rare): try again with a new one. */
async function createWithFreshId(deps: Deps, data: NewRequest) {
  for (let attempt = 0; ; attempt++) {
    const id = newRequestId(deps.randomBytes);
    try {
      return await deps.db.$transaction(async (tx) => {
        const request = await tx.accessRequest.create({ data: { ...data, id } });
        const auditId = await appendAuditEvent(
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
            },
          },
          deps.clock.now(),
        );
        return { request, auditId };
      });
    } catch (error) {
      const duplicate = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
      if (!duplicate || attempt >= 4) throw error;
    }
  }
}
