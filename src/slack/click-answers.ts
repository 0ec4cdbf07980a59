import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';

export interface ClickContext {
  /** Absent for clicks on the App Home, which carry no response_url. */
  respond?: RespondFn | undefined;
  client: WebClient;
  body: unknown;
}

/**
 * Answers the person who clicked, privately: ephemerally where the click came from, or by DM
 * when there is nowhere ephemeral to answer (the App Home). Never throws: the click is acked.
 */
export async function answerPrivately(context: ClickContext, text: string, log: Logger): Promise<void> {
  try {
    if (context.respond) {
      await context.respond({ response_type: 'ephemeral', replace_original: false, text });
      return;
    }
    const userId = (context.body as { user?: { id?: unknown } }).user?.id;
    if (typeof userId !== 'string') return;
    await context.client.chat.postMessage({ channel: userId, text });
  } catch (err) {
    log.warn({ err }, 'could not answer the click');
  }
}
