import type { WebClient } from '@slack/web-api';
import type { Deps } from '../app/deps.js';
import type { ExtensionNotices, ExtensionSubject } from '../app/extend.js';
import {
  type ExtensionView,
  extensionCardBlocks,
  extensionNotice,
  extensionSummary,
} from './views/extension-card.js';
import type { Message } from './views/messages.js';

/**
 * The DMs about extensions: the card with Approve / Deny to each approver asked, and the
 * decision to the requester. Rendered from the rows as they were committed; a failure is
 * logged by the caller (the decision stands, and the requester can see it with `/jit list`).
 */
export function createExtensionNotices(
  deps: Pick<Deps, 'policy' | 'logger'>,
  client: WebClient,
): ExtensionNotices {
  async function sendDm(userId: string, message: Message): Promise<void> {
    const opened = await client.conversations.open({ users: userId });
    const channel = opened.channel?.id;
    if (!channel) throw new Error(`conversations.open returned no channel for ${userId}`);
    await client.chat.postMessage({ channel, ...message });
  }

  return {
    async askApprovers(subject, approverIds) {
      const message = extensionCardMessage(deps, subject, { withButtons: true });
      const results = await Promise.allSettled(approverIds.map((id) => sendDm(id, message)));
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length > 0) {
        deps.logger.warn(
          { extensionId: subject.extension.id, failed: failed.length, err: failed[0]?.reason },
          'could not ask every approver of an extension',
        );
      }
    },
    async tellRequester(subject) {
      const notice = extensionNotice(extensionView(deps, subject));
      if (notice) await sendDm(subject.extension.requesterId, notice);
    },
  };
}

/** The approver's card of an extension as a message; without buttons once decided. */
export function extensionCardMessage(
  deps: Pick<Deps, 'policy'>,
  subject: ExtensionSubject,
  options: { withButtons: boolean },
): Message {
  const view = extensionView(deps, subject);
  const asking = options.withButtons && view.state === 'pending';
  return {
    text: asking ? `Approval needed: ${extensionSummary(view)}` : extensionSummary(view),
    blocks: extensionCardBlocks(view, options),
  };
}

export function extensionView(deps: Pick<Deps, 'policy'>, subject: ExtensionSubject): ExtensionView {
  const { extension, request } = subject;
  return {
    id: extension.id,
    requestId: request.id,
    requesterId: extension.requesterId,
    resource: request.resource,
    extraSec: extension.extraSec,
    reason: extension.reason,
    requestReason: request.reason,
    state: extension.state,
    decidedBy: extension.decidedBy,
    decisionRule: extension.decisionRule,
    endReason: extension.endReason,
    expiresAt: request.expiresAt,
    grantedAt: request.grantedAt,
    maxSec: deps.policy.resources[request.resource]?.duration.max ?? null,
    reasons: subject.reasons,
  };
}
