import { setTimeout as delay } from 'node:timers/promises';
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { resourcePolicy } from '../app/approvers.js';
import type { Deps } from '../app/deps.js';
import { Conflict, InvalidInput, NotAllowed } from '../app/errors.js';
import { checkExtendable, requestExtension } from '../app/extend.js';
import { approveExtension, denyExtension } from '../app/extension-decisions.js';
import { findExtension } from '../app/extension-record.js';
import { findRequest } from '../app/queries.js';
import { ReauthRequired } from '../app/reauth.js';
import { answerPrivately } from './click-answers.js';
import { createExtensionNotices, extensionCardMessage, extensionView } from './extension-notices.js';
import { readForm } from './forms.js';
import {
  blockActionSchema,
  extendModalMetadataSchema,
  extendModalSchema,
  extensionActionSchema,
  extensionDenyModalMetadataSchema,
  extensionDenyModalSchema,
} from './payloads.js';
import { reauthText } from './reauth-link.js';
import { userMessageFor } from './user-errors.js';
import { extensionActionIds, extensionAnswer } from './views/extension-card.js';
import { grantActionIds } from './views/grant-card.js';
import { approvalRecordedText, type Message } from './views/messages.js';
import { callbackIds, extendModal, extendOutcomeModal, extensionDenyModal } from './views/modals.js';
import { code, slackDate } from './views/text.js';

/**
 * How long an extension's form may take before Slack is answered anyway (it allows 3 s): asking
 * the approvers means Slack calls, and a slow Slack must not turn a recorded ask into an error.
 */
const FORM_ACK_BUDGET_MS = 2_000;

type Settled<T> = { value: T } | { error: unknown };

/**
 * Extend on the requester's grant DM (a small form), and Approve / Deny on the extension cards
 * the approvers get. `/jit extend` is in commands.ts and shares `extendFromCommand`.
 */
export function registerExtensionActions(app: App, deps: Deps): void {
  const notices = createExtensionNotices(deps, app.client);

  app.action(grantActionIds.extend, async ({ ack, body, client, respond }) => {
    await ack();
    const parsed = blockActionSchema.safeParse(body);
    if (!parsed.success || !parsed.data.trigger_id) return void deps.logger.warn('malformed extend action');
    const { user, trigger_id: triggerId } = parsed.data;
    const requestId = parsed.data.actions[0].value;
    const log = deps.logger.child({ requestId, userId: user.id });
    try {
      const request = await findRequest(deps, requestId);
      if (request.requesterId !== user.id)
        throw new NotAllowed(`Only the requester can extend ${requestId}.`);
      checkExtendable(request, deps.clock.now());
      const { max } = resourcePolicy(deps, request.resource).duration;
      await client.views.open({ trigger_id: triggerId, view: extendModal({ ...request, maxSec: max }) });
    } catch (error) {
      await answerPrivately({ respond, client, body }, userMessageFor(error, log), log);
    }
  });

  app.view(callbackIds.extend, async ({ ack, body, client }) => {
    const form = await readForm(body, extendModalSchema, extendModalMetadataSchema, ack);
    if (!form) return;
    const { parsed, metadata } = form;
    const { values } = parsed.data.view.state;
    const log = deps.logger.child({ requestId: metadata.requestId, userId: parsed.data.user.id });
    const asked = settle(
      requestExtension(deps, notices, {
        requestId: metadata.requestId,
        requesterId: parsed.data.user.id,
        duration: values.duration.duration.value ?? '',
        reason: values.reason.reason.value ?? null,
      }),
    );
    const early = await Promise.race([asked, delay(FORM_ACK_BUDGET_MS, null, { ref: false })]);
    if (early && 'error' in early) {
      const field = early.error instanceof InvalidInput && early.error.field ? early.error.field : 'duration';
      return void (await ack({
        response_action: 'errors',
        errors: { [field]: userMessageFor(early.error, log) },
      }));
    }
    if (early) {
      const answer = extensionAnswer(extensionView(deps, early.value));
      return void (await ack({ response_action: 'update', view: extendOutcomeModal(answer.text) }));
    }
    await ack({
      response_action: 'update',
      view: extendOutcomeModal(':hourglass_flowing_sand: Working on it; the outcome will show here.'),
    });
    const late = await asked;
    const text =
      'error' in late
        ? userMessageFor(late.error, log)
        : extensionAnswer(extensionView(deps, late.value)).text;
    await client.views
      .update({ view_id: parsed.data.view.id, view: extendOutcomeModal(text) })
      .catch((err) => log.warn({ err }, 'could not show the outcome of an extension'));
  });

  app.action(extensionActionIds.approve, async ({ ack, body, client, respond }) => {
    await ack();
    const parsed = extensionActionSchema.safeParse(body);
    if (!parsed.success)
      return void deps.logger.warn({ issues: parsed.error.issues }, 'malformed extension approval');
    const { user, container } = parsed.data;
    const extensionId = parsed.data.actions[0].value;
    const log = deps.logger.child({ extensionId, userId: user.id });
    try {
      const result = await approveExtension(deps, notices, extensionId, user.id);
      const { request } = result.subject;
      const text =
        result.outcome === 'extended'
          ? `:white_check_mark: You approved ${code(extensionId)}; ${code(request.id)} now ends ${slackDate(request.expiresAt as Date)}.`
          : approvalRecordedText(extensionId, result.level);
      await showOnCard(deps, client, extensionId, placeOf(container), log);
      await answerPrivately({ respond, client, body }, text, log);
    } catch (error) {
      // A stale card (decided elsewhere, or the grant ended): show where it stands.
      if (error instanceof Conflict) await showOnCard(deps, client, extensionId, placeOf(container), log);
      const text = error instanceof ReauthRequired ? await reauthText(deps, error, user.id, log) : null;
      await answerPrivately({ respond, client, body }, text ?? userMessageFor(error, log), log);
    }
  });

  app.action(extensionActionIds.deny, async ({ ack, body, client, respond }) => {
    await ack();
    const parsed = extensionActionSchema.safeParse(body);
    if (!parsed.success || !parsed.data.trigger_id) return void deps.logger.warn('malformed extension deny');
    const { user, container, trigger_id: triggerId } = parsed.data;
    const extensionId = parsed.data.actions[0].value;
    const log = deps.logger.child({ extensionId, userId: user.id });
    try {
      const { extension } = await findExtension(deps, extensionId);
      if (extension.state !== 'pending') {
        await showOnCard(deps, client, extensionId, placeOf(container), log);
        throw new Conflict(`${extensionId} is already ${extension.state.replace('_', ' ')}.`);
      }
      const place = placeOf(container);
      await client.views.open({
        trigger_id: triggerId,
        view: extensionDenyModal({ extensionId, channel: place?.channel ?? null, ts: place?.ts ?? null }),
      });
    } catch (error) {
      await answerPrivately({ respond, client, body }, userMessageFor(error, log), log);
    }
  });

  app.view(callbackIds.extensionDeny, async ({ ack, body, client }) => {
    const form = await readForm(body, extensionDenyModalSchema, extensionDenyModalMetadataSchema, ack);
    if (!form) return;
    const { parsed, metadata } = form;
    const approverId = parsed.data.user.id;
    const log = deps.logger.child({ extensionId: metadata.extensionId, userId: approverId });
    const denied = settle(
      denyExtension(deps, notices, {
        extensionId: metadata.extensionId,
        approverId,
        reason: parsed.data.view.state.values.reason.reason.value ?? '',
      }),
    );
    const early = await Promise.race([denied, delay(FORM_ACK_BUDGET_MS, null, { ref: false })]);
    if (early && 'error' in early) {
      return void (await ack({
        response_action: 'errors',
        errors: { reason: userMessageFor(early.error, log) },
      }));
    }
    await ack();
    const outcome = early ?? (await denied);
    const place = metadata.channel && metadata.ts ? { channel: metadata.channel, ts: metadata.ts } : null;
    if ('error' in outcome) {
      // Too late for the form: say it where the approver will see it.
      await sendDm(client, approverId, { text: userMessageFor(outcome.error, log) }, log);
      return;
    }
    await showOnCard(deps, client, metadata.extensionId, place, log);
  });
}

/** `/jit extend <id> <duration>`: the reply to the requester, whatever the policy decided. */
export async function extendFromCommand(
  deps: Deps,
  client: WebClient,
  input: { requesterId: string; requestId: string; duration: string },
): Promise<Message> {
  const result = await requestExtension(deps, createExtensionNotices(deps, client), input);
  return extensionAnswer(extensionView(deps, result));
}

function settle<T>(work: Promise<T>): Promise<Settled<T>> {
  return work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

type Place = { channel: string; ts: string };

function placeOf(
  container: { channel_id?: string | undefined; message_ts?: string | undefined } | undefined,
) {
  return container?.channel_id && container.message_ts
    ? { channel: container.channel_id, ts: container.message_ts }
    : null;
}

/** Brings the card the approver clicked up to date: where the extension stands, no buttons. */
async function showOnCard(
  deps: Deps,
  client: WebClient,
  extensionId: string,
  place: Place | null,
  log: Logger,
): Promise<void> {
  if (!place) return;
  try {
    const message = extensionCardMessage(deps, await findExtension(deps, extensionId), {
      withButtons: false,
    });
    await client.chat.update({ channel: place.channel, ts: place.ts, ...message });
  } catch (err) {
    log.warn({ err }, 'could not update an extension card');
  }
}

async function sendDm(client: WebClient, userId: string, message: Message, log: Logger): Promise<void> {
  await client.chat
    .postMessage({ channel: userId, ...message })
    .catch((err) => log.warn({ err }, 'could not send a DM about an extension'));
}
