import type { App } from '@slack/bolt';
import { type ReviewResult, type ReviewVerdict, reviewBreakGlass } from '../app/break-glass.js';
import type { Deps } from '../app/deps.js';
import { Conflict } from '../app/errors.js';
import { answerPrivately } from './click-answers.js';
import { createNotifier } from './notifier.js';
import { blockActionSchema } from './payloads.js';
import { userMessageFor } from './user-errors.js';
import { breakGlassActionIds } from './views/break-glass.js';
import { code, mention } from './views/text.js';

/**
 * Acknowledge and Flag on a break-glass grant's review DM. A click on a review someone already
 * did brings the DM up to date and says who did it.
 */
export function registerBreakGlassButtons(app: App, deps: Deps): void {
  const notifier = createNotifier(deps, app.client);
  const verdicts: Array<[string, ReviewVerdict]> = [
    [breakGlassActionIds.acknowledge, 'acknowledged'],
    [breakGlassActionIds.flag, 'flagged'],
  ];
  for (const [actionId, verdict] of verdicts) {
    app.action(actionId, async ({ ack, body, client, respond }) => {
      await ack();
      const parsed = blockActionSchema.safeParse(body);
      if (!parsed.success) return void deps.logger.warn({ verdict }, 'malformed break-glass review action');
      const userId = parsed.data.user.id;
      const requestId = parsed.data.actions[0].value;
      const log = deps.logger.child({ requestId, userId });
      try {
        const result = await reviewBreakGlass(deps, requestId, userId, verdict);
        await answerPrivately({ respond, client, body }, reviewedText(result), log);
      } catch (error) {
        if (error instanceof Conflict) {
          await notifier
            .refreshNow(requestId)
            .catch((err) => log.warn({ err }, 'could not refresh the messages'));
        }
        await answerPrivately({ respond, client, body }, userMessageFor(error, log), log);
      }
    });
  }
}

function reviewedText(result: ReviewResult): string {
  const id = code(result.request.id);
  if (result.verdict === 'acknowledged') {
    return `:white_check_mark: You acknowledged break-glass ${id}; the security channel's card says so.`;
  }
  const access =
    result.revoked === 'retrying'
      ? 'the target did not answer, so the revoke is being retried (the security channel is told)'
      : result.revoked === 'revoked'
        ? 'the access was revoked'
        : 'the grant had already ended';
  const froze = result.froze ? `, and ${mention(result.request.requesterId)} is frozen` : '';
  return `:triangular_flag_on_post: You flagged break-glass ${id}: ${access}${froze}. The security channel has been alerted.`;
}
