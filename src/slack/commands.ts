import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { readAuditTrail } from '../app/audit-trail.js';
import { breakGlass } from '../app/break-glass.js';
import type { Deps } from '../app/deps.js';
import { releaseRequest } from '../app/end-grant.js';
import { InvalidInput } from '../app/errors.js';
import { freeze, unfreeze } from '../app/freeze.js';
import { listAwaitingApprover, listOpenRequests } from '../app/queries.js';
import { requestAccess } from '../app/request-access.js';
import { type RevokeSubject, revokeAsAdmin } from '../app/revoke.js';
import type { FreezeScope } from '../domain/freeze.js';
import { describeState } from '../domain/lifecycle.js';
import { extendFromCommand } from './extend-actions.js';
import { type JitCommand, parseJitCommand, type Target } from './grammar.js';
import { slashCommandSchema } from './payloads.js';
import { userMessageFor } from './user-errors.js';
import { freezeMessage, revokeMessage, unfreezeMessage } from './views/admin.js';
import { auditTrailMessage } from './views/audit.js';
import { breakGlassAnswer } from './views/break-glass.js';
import {
  helpMessage,
  listMessage,
  type Message,
  pendingMessage,
  plain,
  requestCreatedMessage,
} from './views/messages.js';
import { requestModal } from './views/modals.js';
import { code, mention } from './views/text.js';

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
    if (!takesAccessBack.has(jit.kind) && !(await deps.limits.command(userId))) {
      log.warn('slash command refused: over the per-user rate');
      await respond({ response_type: 'ephemeral', text: slowDown }).catch((err) =>
        log.warn({ err }, 'could not answer the slash command'),
      );
      return;
    }
    try {
      if (jit.kind === 'open-modal') {
        await client.views.open({
          trigger_id: triggerId,
          view: requestModal(resourceOptions(deps), { channelId }),
        });
        return;
      }
      await respond({
        response_type: 'ephemeral',
        ...(await runCommand(deps, userId, channelId, jit, client)),
      });
    } catch (error) {
      await respond({ response_type: 'ephemeral', text: userMessageFor(error, log) }).catch((err) =>
        log.warn({ err }, 'could not answer the slash command'),
      );
    }
  });
}

/**
 * Never rate limited: nothing should stand between someone and taking access back. A non-admin
 * flooding `/jit revoke` is refused by the admin check, whose audit events are capped per user.
 */
const takesAccessBack: ReadonlySet<JitCommand['kind']> = new Set(['release', 'revoke', 'freeze']);

const slowDown =
  ':hourglass: Slow down: you have sent a lot of `/jit` commands in the last minute. ' +
  'Try again in a minute. (`/jit release`, `/jit revoke` and `/jit freeze` always go through.)';

function revokeSubjectOf(target: Target): RevokeSubject {
  if (target.kind === 'all')
    throw new InvalidInput('`/jit revoke` takes one request, user or resource; use `/jit freeze all`.');
  return target;
}

function freezeScopeOf(target: Target): FreezeScope {
  if (target.kind === 'request')
    throw new InvalidInput('A freeze covers a resource, a @user or all, not one request.');
  if (target.kind === 'all') return { scope: 'all' };
  if (target.kind === 'user') return { scope: 'user', userId: target.userId };
  return { scope: 'resource', resource: target.resource };
}

function targetText(target: Target): string {
  if (target.kind === 'request') return code(target.requestId);
  if (target.kind === 'user') return mention(target.userId);
  if (target.kind === 'resource') return code(target.resource);
  return 'all';
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

async function runCommand(
  deps: Deps,
  userId: string,
  channelId: string,
  jit: JitCommand,
  client: WebClient,
): Promise<Message> {
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
    case 'break-glass': {
      const request = await breakGlass(deps, {
        requesterId: userId,
        resource: jit.resource,
        duration: jit.duration,
        reason: jit.reason,
        channelId,
      });
      if (request.state === 'denied') return requestCreatedMessage(request);
      return breakGlassAnswer({ ...request, dueAt: request.reviewDueAt });
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
    case 'revoke': {
      const subject = revokeSubjectOf(jit.target);
      const summary = await revokeAsAdmin(deps, subject, { actorId: userId, reason: jit.reason });
      return revokeMessage(targetText(jit.target), summary);
    }
    case 'freeze': {
      const result = await freeze(deps, {
        actorId: userId,
        scope: freezeScopeOf(jit.target),
        reason: jit.reason,
      });
      return freezeMessage({ scope: result.freeze, reason: result.freeze.reason, ...result });
    }
    case 'unfreeze': {
      const lifted = await unfreeze(deps, { actorId: userId, scope: freezeScopeOf(jit.target) });
      return unfreezeMessage(lifted);
    }
    case 'audit':
      return auditTrailMessage(await readAuditTrail(deps, userId, jit.target));
    case 'extend':
      return extendFromCommand(deps, client, {
        requesterId: userId,
        requestId: jit.requestId,
        duration: jit.duration,
      });
  }
}
