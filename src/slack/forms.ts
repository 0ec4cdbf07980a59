import type { AckFn, SlackViewMiddlewareArgs, ViewResponseAction } from '@slack/bolt';
import type { z } from 'zod';
import { parseJson } from './payloads.js';

/**
 * A modal submission and its private_metadata, checked with zod. An unreadable one is answered
 * on the form itself (Slack shows it under the reason field) and yields null.
 */
export async function readForm<
  S extends z.ZodType<{ view: { private_metadata: string } }>,
  M extends z.ZodType,
>(
  body: unknown,
  schema: S,
  metadataSchema: M,
  ack: SlackViewMiddlewareArgs['ack'],
): Promise<{ parsed: { data: z.output<S> }; metadata: z.output<M> } | null> {
  const parsed = schema.safeParse(body);
  const metadata = parsed.success
    ? parseJson(parsed.data.view.private_metadata, metadataSchema as z.ZodType<z.output<M>>)
    : null;
  if (!parsed.success || metadata === null) {
    const answer: ViewResponseAction = {
      response_action: 'errors',
      errors: { reason: 'This form could not be read; close it and try again.' },
    };
    await (ack as AckFn<ViewResponseAction>)(answer);
    return null;
  }
  return { parsed: { data: parsed.data as z.output<S> }, metadata };
}
