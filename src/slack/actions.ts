import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { approveRequest } from '../app/approve.js';
import { denyRequest } from '../app/deny.js';
import type { Deps } from '../app/deps.js';
import { Conflict, InvalidInput } from '../app/errors.js';
import { findRequest } from '../app/queries.js';
import { ReauthRequired } from '../app/reauth.js';
import { requestAccess } from '../app/request-access.js';
import { registerBreakGlassButtons } from './break-glass-actions.js';
import { answerPrivately } from './click-answers.js';
import { registerExtensionActions } from './extend-actions.js';
import { readForm } from './forms.js';
import { registerGrantButtons } from './grant-actions.js';
import { requestView } from './notifier.js';
import {
  blockActionSchema,
  denyModalMetadataSchema,
  denyModalSchema,
  requestModalMetadataSchema,
  requestModalSchema,
} from './payloads.js';
import { reauthText } from './reauth-link.js';
import { userMessageFor } from './user-errors.js';
import { approvalRecordedText, requestCreatedMessage } from './views/messages.js';
import { callbackIds, denyModal } from './views/modals.js';
import { actionIds, requestCardBlocks, requestSummary } from './views/request-card.js';

/** Approve / Deny, the request form and the deny reason; then Revoke and Release now on grants. */
export function registerActions(app: App, deps: Deps): void {
  app.action(actionIds.approve, async ({ ack, body, client, respond }) => {
    await ack();
    const parsed = blockActionSchema.safeParse(body);
    if (!parsed.success)
      return void deps.logger.warn({ issues: parsed.error.issues }, 'malformed approve action');
    const { user, actions, container } = parsed.data;
    const requestId = (actions[0] as { value: string }).value;
    const log = deps.logger.child({ requestId, userId: user.id });
    try {
      const result = await approveRequest(deps, requestId, user.id);
      const text =
        result.outcome === 'approved'
          ? `:white_check_mark: You approved ${requestId}; access is being granted.`
          : approvalRecordedText(requestId, result.level);
      await answerPrivately({ respond, client, body }, text, log);
    } catch (error) {
      // A stale message (already decided elsewhere): show the final state in place.
      if (error instanceof Conflict) await showCurrentState(deps, client, requestId, container, log);
      const text = error instanceof ReauthRequired ? await reauthText(deps, error, user.id, log) : null;
      await answerPrivately({ respond, client, body }, text ?? userMessageFor(error, log), log);
    }
  });

  app.action(actionIds.deny, async ({ ack, body, client }) => {
    await ack();
    const parsed = blockActionSchema.safeParse(body);
    if (!parsed.success || !parsed.data.trigger_id) return void deps.logger.warn('malformed deny action');
    const requestId = (parsed.data.actions[0] as { value: string }).value;
    await client.views.open({ trigger_id: parsed.data.trigger_id, view: denyModal({ requestId }) });
  });

  app.view(callbackIds.deny, async ({ ack, body }) => {
    const form = await readForm(body, denyModalSchema, denyModalMetadataSchema, ack);
    if (!form) return;
    const { parsed, metadata } = form;
    const reason = parsed.data.view.state.values.reason.reason.value ?? '';
    try {
      await denyRequest(deps, { requestId: metadata.requestId, approverId: parsed.data.user.id, reason });
      await ack();
    } catch (error) {
      await ack({ response_action: 'errors', errors: { reason: userMessageFor(error, deps.logger) } });
    }
  });

  app.view(callbackIds.request, async ({ ack, body, client }) => {
    const form = await readForm(body, requestModalSchema, requestModalMetadataSchema, ack);
    if (!form) return;
    const { parsed, metadata } = form;
    const values = parsed.data.view.state.values;
    const userId = parsed.data.user.id;
    try {
      const request = await requestAccess(deps, {
        requesterId: userId,
        resource: values.resource.resource.selected_option?.value ?? '',
        duration: values.duration.duration.value ?? null,
        reason: values.reason.reason.value ?? '',
        channelId: metadata.channelId,
      });
      await ack();
      await confirmPrivately(client, userId, metadata.channelId, requestCreatedMessage(request), deps.logger);
    } catch (error) {
      const field = error instanceof InvalidInput && error.field ? error.field : 'reason';
      await ack({ response_action: 'errors', errors: { [field]: userMessageFor(error, deps.logger) } });
    }
  });

  registerGrantButtons(app, deps);
  registerExtensionActions(app, deps);
  registerBreakGlassButtons(app, deps);
}

async function showCurrentState(
  deps: Deps,
  client: WebClient,
  requestId: string,
  container: { channel_id?: string | undefined; message_ts?: string | undefined } | undefined,
  log: Logger,
): Promise<void> {
  if (!container?.channel_id || !container.message_ts) return;
  try {
    const view = requestView(deps, await findRequest(deps, requestId));
    await client.chat.update({
      channel: container.channel_id,
      ts: container.message_ts,
      text: requestSummary(view),
      blocks: requestCardBlocks(view, { withButtons: false }),
    });
  } catch (err) {
    log.warn({ err }, 'could not refresh a stale request message');
  }
}

/** Ephemeral in the channel the form was opened from; a DM when that is not possible. */
async function confirmPrivately(
  client: WebClient,
  userId: string,
  channelId: string | null,
  message: { text: string; blocks?: object[] },
  log: Logger,
): Promise<void> {
  try {
    if (channelId) {
      await client.chat.postEphemeral({ channel: channelId, user: userId, ...message });
      return;
    }
  } catch (err) {
    log.info({ err }, 'ephemeral confirmation failed; sending a DM instead');
  }
  await client.chat
    .postMessage({ channel: userId, ...message })
    .catch((err) => log.warn({ err }, 'could not confirm the request'));
}
