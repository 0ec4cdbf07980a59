import type { WebClient } from '@slack/web-api';
import { approvalLevelsFor } from '../app/approvers.js';
import type { Deps } from '../app/deps.js';
import { findRequest, type RequestWithApprovals } from '../app/queries.js';
import type { RequestState } from '../domain/lifecycle.js';
import { currentLevel } from '../domain/policy.js';
import type { NotifyJob } from '../jobs/queues.js';
import { requesterNotice } from './views/messages.js';
import { type RequestView, requestCardBlocks, requestSummary } from './views/request-card.js';

/**
 * Sends the messages about a request: DMs to approvers, in-place updates of those DMs, and DMs to
 * the requester. Everything is rendered from the database when the job runs, so a retried job
 * sends the current truth, and messages already posted (recorded in `slack_messages`) are not
 * posted again.
 */
export function createNotifier(deps: Deps, client: WebClient) {
  async function openDm(userId: string): Promise<string> {
    const opened = await client.conversations.open({ users: userId });
    const channel = opened.channel?.id;
    if (!channel) throw new Error(`conversations.open returned no channel for ${userId}`);
    return channel;
  }

  async function askApprovers(request: RequestWithApprovals): Promise<void> {
    if (request.state !== 'pending') return;
    const resource = deps.policy.resources[request.resource];
    if (!resource) return;
    const levels = await approvalLevelsFor(deps, resource);
    const level = currentLevel(levels, request.approvals);
    if (level === null) return;
    const approved = new Set(request.approvals.map((a) => a.approverId));
    const asked = await deps.db.slackMessage.findMany({
      where: { requestId: request.id, purpose: 'approver' },
    });
    const alreadyAsked = new Set(asked.map((m) => m.userId));
    const toAsk = [...(levels[level]?.approvers ?? [])].filter(
      (id) => id !== request.requesterId && !approved.has(id) && !alreadyAsked.has(id),
    );
    const view = requestView(deps, request);
    for (const approverId of toAsk) {
      const channel = await openDm(approverId);
      const posted = await client.chat.postMessage({
        channel,
        text: `Approval needed: ${requestSummary(view)}`,
        blocks: requestCardBlocks(view, { withButtons: true }),
      });
      await deps.db.slackMessage.create({
        data: {
          requestId: request.id,
          purpose: 'approver',
          userId: approverId,
          channel,
          ts: String(posted.ts),
        },
      });
    }
  }

  async function refresh(request: RequestWithApprovals): Promise<void> {
    const messages = await deps.db.slackMessage.findMany({ where: { requestId: request.id } });
    const view = requestView(deps, request);
    const approved = new Set(request.approvals.map((a) => a.approverId));
    await Promise.all(
      messages.map((m) =>
        client.chat.update({
          channel: m.channel,
          ts: m.ts,
          text: requestSummary(view),
          blocks: requestCardBlocks(view, {
            withButtons: m.purpose === 'approver' && !approved.has(m.userId ?? ''),
          }),
        }),
      ),
    );
  }

  async function tellRequester(request: RequestWithApprovals, state: RequestState): Promise<void> {
    const notice = requesterNotice({ ...request, state });
    if (!notice) return;
    await client.chat.postMessage({ channel: await openDm(request.requesterId), ...notice });
  }

  return {
    async send(job: NotifyJob): Promise<void> {
      const request = await findRequest(deps, job.requestId);
      if (job.kind === 'ask-approvers') return askApprovers(request);
      if (job.kind === 'refresh') return refresh(request);
      return tellRequester(request, job.state as RequestState);
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;

export function requestView(deps: Pick<Deps, 'policy'>, request: RequestWithApprovals): RequestView {
  const resource = deps.policy.resources[request.resource];
  const levels = (resource?.approvals ?? []).map((level, i) => ({
    count: level.count,
    approvedBy: request.approvals.filter((a) => a.level === i).map((a) => a.approverId),
  }));
  return {
    id: request.id,
    requesterId: request.requesterId,
    resource: request.resource,
    resourceDescription: resource?.description ?? '',
    durationSec: request.durationSec,
    reason: request.reason,
    state: request.state,
    createdAt: request.createdAt,
    expiresAt: request.expiresAt,
    endReason: request.endReason,
    decidedBy: request.decidedBy,
    levels,
  };
}
