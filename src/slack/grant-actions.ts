import { setTimeout as delay } from 'node:timers/promises';
import type { App, ViewResponseAction } from '@slack/bolt';
import type { Logger } from 'pino';
import { requireAdmin } from '../app/admins.js';
import { createPickup } from '../app/credentials.js';
import type { Deps } from '../app/deps.js';
import { releaseRequest } from '../app/end-grant.js';
import { Conflict } from '../app/errors.js';
import { findRequest } from '../app/queries.js';
import { type RevokeSummary, revokeAsAdmin } from '../app/revoke.js';
import { describeState, isFinal } from '../domain/lifecycle.js';
import { answerPrivately } from './click-answers.js';
import { readForm } from './forms.js';
import { createNotifier } from './notifier.js';
import { blockActionSchema, revokeModalMetadataSchema, revokeModalSchema } from './payloads.js';
import { userMessageFor } from './user-errors.js';
import { revocationLines } from './views/admin.js';
import { grantActionIds } from './views/grant-card.js';
import { callbackIds, revokeModal, revokeOutcomeModal } from './views/modals.js';
import { code, slackDate } from './views/text.js';

/**
 * How long a revoke may run before its modal submission is acknowledged anyway; Slack allows
 * 3 s, and a target that is slow to answer must not turn a revoke into an error dialog.
 */
const REVOKE_ACK_BUDGET_MS = 2_000;

/**
 * Revoke on the security channel's grant card; Release now, and Get password for a login made
 * for the request, on the requester's grant DM.
 */
export function registerGrantButtons(app: App, deps: Deps): void {
  const notifier = createNotifier(deps, app.client);
  // A click on a button of an ended grant: show its final state wherever it was posted.
  const refreshMessages = (requestId: string, log: Logger) =>
    notifier.refreshNow(requestId).catch((err) => log.warn({ err }, 'could not refresh the messages'));

  app.action(grantActionIds.revoke, async ({ ack, body, client, respond }) => {
    await ack();
    const parsed = blockActionSchema.safeParse(body);
    if (!parsed.success || !parsed.data.trigger_id) return void deps.logger.warn('malformed revoke action');
    const { user, trigger_id: triggerId } = parsed.data;
    const requestId = parsed.data.actions[0].value;
    const log = deps.logger.child({ requestId, userId: user.id });
    try {
      // Refused (and audited) before any modal opens.
      await requireAdmin(deps, user.id, `revoke ${requestId}`, requestId);
      const request = await findRequest(deps, requestId);
      if (isFinal(request.state)) {
        await refreshMessages(requestId, log);
        throw new Conflict(
          `${requestId}: the request is already ${describeState(request.state)}; nothing to take back.`,
        );
      }
      await client.views.open({ trigger_id: triggerId, view: revokeModal(request) });
    } catch (error) {
      await answerPrivately({ respond, client, body }, userMessageFor(error, log), log);
    }
  });

  app.view(callbackIds.revoke, async ({ ack, body, client }) => {
    const form = await readForm(body, revokeModalSchema, revokeModalMetadataSchema, ack);
    if (!form) return;
    const { parsed, metadata } = form;
    const { requestId } = metadata;
    const log = deps.logger.child({ requestId, userId: parsed.data.user.id });
    const outcome: Promise<RevokeOutcome> = revokeAsAdmin(
      deps,
      { kind: 'request', requestId },
      { actorId: parsed.data.user.id, reason: parsed.data.view.state.values.reason.reason.value ?? '' },
    ).then(
      (summary) => ({ summary }),
      (error: unknown) => ({ error }),
    );
    const early = await Promise.race([outcome, delay(REVOKE_ACK_BUDGET_MS, null, { ref: false })]);
    if (early) {
      await ack(revokeAnswer(early, log));
    } else {
      await ack({
        response_action: 'update',
        view: revokeOutcomeModal([
          `:hourglass_flowing_sand: Revoking ${code(requestId)}: the target system is slow to answer. The outcome will show here.`,
        ]),
      });
      const late = await outcome;
      const lines = 'error' in late ? [userMessageFor(late.error, log)] : outcomeLines(late.summary);
      await client.views
        .update({ view_id: parsed.data.view.id, view: revokeOutcomeModal(lines) })
        .catch((err) => log.warn({ err }, 'could not show the outcome of a slow revoke'));
    }
    const settled = await outcome;
    if ('summary' in settled && settled.summary.unchanged.length > 0) await refreshMessages(requestId, log);
  });

  app.action(grantActionIds.release, async ({ ack, body, client, respond }) => {
    await ack();
    const parsed = blockActionSchema.safeParse(body);
    if (!parsed.success) return void deps.logger.warn('malformed release action');
    const userId = parsed.data.user.id;
    const requestId = parsed.data.actions[0].value;
    const log = deps.logger.child({ requestId, userId });
    try {
      const request = await releaseRequest(deps, requestId, userId);
      await answerPrivately(
        { respond, client, body },
        `:lock: ${code(request.id)} is now ${describeState(request.state)}; the access was removed.`,
        log,
      );
    } catch (error) {
      if (error instanceof Conflict) await refreshMessages(requestId, log);
      await answerPrivately({ respond, client, body }, userMessageFor(error, log), log);
    }
  });

  // The link goes to the requester alone (an ephemeral answer); the password only on the page.
  app.action(grantActionIds.credential, async ({ ack, body, client, respond }) => {
    await ack();
    const parsed = blockActionSchema.safeParse(body);
    if (!parsed.success) return void deps.logger.warn('malformed credential action');
    const userId = parsed.data.user.id;
    const requestId = parsed.data.actions[0].value;
    const log = deps.logger.child({ requestId, userId });
    try {
      const pickup = await createPickup(deps, requestId, userId);
      await answerPrivately(
        { respond, client, body },
        `:key: <${pickup.url}|Open this link> to see the password of ${code(pickup.login)} for ${code(requestId)}. ` +
          `It works once, until ${slackDate(pickup.expiresAt)}, and the password it shows replaces any earlier one.`,
        log,
      );
    } catch (error) {
      if (error instanceof Conflict) await refreshMessages(requestId, log);
      await answerPrivately({ respond, client, body }, userMessageFor(error, log), log);
    }
  });
}

type RevokeOutcome = { summary: RevokeSummary } | { error: unknown };

/** Closes the modal on a revoke, shows why inline when refused, and what happened otherwise. */
function revokeAnswer(outcome: RevokeOutcome, log: Logger): ViewResponseAction | undefined {
  if ('error' in outcome) {
    return { response_action: 'errors', errors: { reason: userMessageFor(outcome.error, log) } };
  }
  if (outcome.summary.revoked.length > 0) return undefined;
  return { response_action: 'update', view: revokeOutcomeModal(outcomeLines(outcome.summary)) };
}

function outcomeLines(summary: RevokeSummary): string[] {
  const lines = revocationLines(summary);
  return lines.length > 0 ? lines : [':information_source: There was nothing to revoke.'];
}
