import type { App } from '@slack/bolt';
import type { Deps } from '../app/deps.js';
import { releaseRequest } from '../app/end-grant.js';
import { listAwaitingApprover, listOpenRequests } from '../app/queries.js';
import { requestAccess } from '../app/request-access.js';
import { describeState } from '../domain/lifecycle.js';
import { type JitCommand, parseJitCommand } from './grammar.js';
import { slashCommandSchema } from './payloads.js';
import { userMessageFor } from './user-errors.js';
import {
  helpMessage,
  listMessage,
  type Message,
  pendingMessage,
  plain,
  requestCreatedMessage,
} from './views/messages.js';
import { requestModal } from './views/modals.js';

/**
 * `/jit`: acknowledged at once (Slack allows 3 s), then answered ephemerally through
 * `response_url`. The modal is opened right after the ack, while the trigger id is still valid.
 */
export function registerCommands(app: App, deps: Deps): void {
  app.command('/jit', async ({ command, ack, respond, client }) => {
    const parsed = slashCommandSchema.safeParse(command);
    if (!parsed.success) {
      await ack({
        response_type: 'ephemeral',
        text: ':warning: That did not look like a `/jit` command from Slack.',
      });
      return;
    }
    await ack();
    const { user_id: userId, channel_id: channelId, text, trigger_id: triggerId } = parsed.data;
    const jit = parseJitCommand(text);
    const log = deps.logger.child({ userId, command: jit.kind });
    try {
      if (jit.kind === 'open-modal') {
        await client.views.open({
          trigger_id: triggerId,
          view: requestModal(resourceOptions(deps), { channelId }),
        });
        return;
      }
      await respond({ response_type: 'ephemeral', ...(await runCommand(deps, userId, channelId, jit)) });
    } catch (error) {
      await respond({ response_type: 'ephemeral', text: userMessageFor(error, log) }).catch((err) =>
        log.warn({ err }, 'could not answer the slash command'),
      );
    }
  });
}

export function resourceOptions(deps: Pick<Deps, 'policy'>) {
  return Object.entries(deps.policy.resources)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, r]) => ({
      name,
      description: r.description,
      defaultSec: r.duration.default,
      maxSec: r.duration.max,
    }));
}

async function runCommand(deps: Deps, userId: string, channelId: string, jit: JitCommand): Promise<Message> {
  switch (jit.kind) {
    case 'request': {
      const request = await requestAccess(deps, {
        requesterId: userId,
        resource: jit.resource,
        duration: jit.duration,
        reason: jit.reason,
        channelId,
      });
      return requestCreatedMessage(request);
    }
    case 'list':
      return listMessage(await listOpenRequests(deps, userId));
    case 'pending':
      return pendingMessage(await listAwaitingApprover(deps, userId));
    case 'release': {
      const request = await releaseRequest(deps, jit.requestId, userId);
      return plain(`:lock: ${request.id} is now ${describeState(request.state)}.`);
    }
    case 'help':
      return helpMessage();
    case 'invalid':
      return plain(`:warning: ${jit.message}`);
    case 'open-modal':
      return helpMessage();
    case 'extend':
    case 'revoke':
    case 'freeze':
    case 'unfreeze':
    case 'audit':
      return plain(
        `:construction: \`/jit ${jit.kind}\` is not available in this version yet. \`/jit help\` lists what is.`,
      );
  }
}
