import { currentLevel } from '../domain/policy.js';
import type { AccessRequest, Approval, BreakGlassReview } from '../generated/prisma/client.js';
import { approvalLevelsFor } from './approvers.js';
import type { Deps } from './deps.js';
import { NotFound } from './errors.js';

export type RequestWithApprovals = AccessRequest & {
  approvals: Approval[];
  /** Present (where read) on break-glass grants: their review. */
  breakGlassReview?: BreakGlassReview | null;
};

const openStates = ['pending', 'approved', 'active'] as const;

export async function findRequest(deps: Pick<Deps, 'db'>, requestId: string): Promise<RequestWithApprovals> {
  const request = await deps.db.accessRequest.findUnique({
    where: { id: requestId },
    relationLoadStrategy: 'join',
    include: { approvals: { orderBy: { createdAt: 'asc' } }, breakGlassReview: true },
  });
  if (!request) throw new NotFound(`No request ${requestId}.`);
  return request;
}

/** A request with its approvals and the Slack messages posted about it, in one query. */
export async function findRequestWithMessages(deps: Pick<Deps, 'db'>, requestId: string) {
  const request = await deps.db.accessRequest.findUnique({
    where: { id: requestId },
    relationLoadStrategy: 'join',
    include: { approvals: { orderBy: { createdAt: 'asc' } }, messages: true, breakGlassReview: true },
  });
  if (!request) throw new NotFound(`No request ${requestId}.`);
  const { messages, ...rest } = request;
  return { request: rest, messages };
}

/** The requester's pending and active requests, newest first. */
export async function listOpenRequests(deps: Pick<Deps, 'db'>, requesterId: string, limit = 20) {
  return deps.db.accessRequest.findMany({
    where: { requesterId, state: { in: [...openStates] } },
    orderBy: { createdAt: 'desc' },
    take: limit,
  });
}

/** Pending requests whose current approval level includes `approverId` and that they can still approve. */
export async function listAwaitingApprover(
  deps: Deps,
  approverId: string,
  limit = 20,
): Promise<RequestWithApprovals[]> {
  const pending = await deps.db.accessRequest.findMany({
    where: { state: 'pending', requesterId: { not: approverId }, approvals: { none: { approverId } } },
    include: { approvals: true },
    orderBy: { createdAt: 'asc' },
    take: 200,
  });
  const mine: RequestWithApprovals[] = [];
  for (const request of pending) {
    const resource = deps.policy.resources[request.resource];
    if (!resource) continue;
    const levels = await approvalLevelsFor(deps, resource, request.escalatedLevels);
    const level = currentLevel(levels, request.approvals);
    if (level !== null && levels[level]?.approvers.has(approverId)) mine.push(request);
    if (mine.length >= limit) break;
  }
  return mine;
}
