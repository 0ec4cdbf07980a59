import type { App } from '@slack/bolt';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type DeliveryMemory, recordSighting } from './replay-guard.js';

/**
 * Slack delivers an Events API event again (`X-Slack-Retry-Num`, or `retry_attempt` in Socket
 * Mode) when it did not see our ack within 3 s, keeping its `event_id`. Bolt acks events before
 * any middleware runs, so an event that reaches this middleware has been taken: a later delivery
 * with the same id is dropped. Slash commands and clicks are not redelivered by Slack.
 *
 * When Redis does not answer, the event is handled: the handlers are idempotent, and a dropped
 * event would be lost for good.
 */

/** Slack gives up after three retries over about five minutes; an hour leaves room. */
const eventMemoryMs = 60 * 60_000;

const eventCallbackSchema = z.object({
  type: z.literal('event_callback'),
  event_id: z.string().min(1).max(100),
});

export function dropRedeliveredEvents(app: App, memory: DeliveryMemory, logger: Logger): void {
  app.use(async ({ body, context, next }) => {
    const callback = eventCallbackSchema.safeParse(body);
    if (!callback.success) return next();
    const eventId = callback.data.event_id;
    const sighting = await recordSighting(memory, `slack-event:${eventId}`, eventMemoryMs);
    if (sighting === 'seen') {
      logger.info(
        { eventId, retryNum: context.retryNum, retryReason: context.retryReason },
        'Slack delivered an event already handled; ignored',
      );
      return;
    }
    if (sighting === 'unknown') logger.warn({ eventId }, 'Redis did not answer; event handled unchecked');
    await next();
  });
}
