import { z } from 'zod';

/**
 * The parts of Slack's payloads the handlers use, checked with zod before anything else runs.
 * Bolt has verified the signature; these schemas make sure the shape is what we rely on.
 */

export const slackUserIdSchema = z.string().regex(/^[UW][A-Z0-9]{2,}$/);

export const slashCommandSchema = z.object({
  user_id: slackUserIdSchema,
  channel_id: z.string().min(1).max(32),
  text: z.string().max(4000),
  trigger_id: z.string().min(1),
});

const requestIdSchema = z.string().regex(/^JIT-[0-9A-Z]{6}$/);

export const blockActionSchema = z.object({
  user: z.object({ id: slackUserIdSchema }),
  trigger_id: z.string().min(1).optional(),
  container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).optional(),
  // Every button of ours carries a request id as its value, and Slack sends one action per click.
  actions: z.tuple([z.object({ action_id: z.string(), value: requestIdSchema })]),
});

const plainValue = z.object({ value: z.string().nullish() });
const selectValue = z.object({ selected_option: z.object({ value: z.string() }).nullish() });

export const requestModalSchema = z.object({
  user: z.object({ id: slackUserIdSchema }),
  view: z.object({
    private_metadata: z.string().max(3000),
    state: z.object({
      values: z.object({
        resource: z.object({ resource: selectValue }),
        duration: z.object({ duration: plainValue }),
        reason: z.object({ reason: plainValue }),
      }),
    }),
  }),
});

export const requestModalMetadataSchema = z.object({ channelId: z.string().nullable() });

/** A modal whose only input is a reason: deny and revoke. */
const reasonModalSchema = z.object({
  user: z.object({ id: slackUserIdSchema }),
  view: z.object({
    id: z.string().min(1).max(64),
    private_metadata: z.string().max(3000),
    state: z.object({ values: z.object({ reason: z.object({ reason: plainValue }) }) }),
  }),
});

export const denyModalSchema = reasonModalSchema;
export const denyModalMetadataSchema = z.object({ requestId: requestIdSchema });

export const revokeModalSchema = reasonModalSchema;
export const revokeModalMetadataSchema = z.object({ requestId: requestIdSchema });

const extensionIdSchema = z.string().regex(/^EXT-[0-9A-Z]{6}$/);

/** Approve / Deny on an extension's card: the value is the extension's id. */
export const extensionActionSchema = blockActionSchema.extend({
  actions: z.tuple([z.object({ action_id: z.string(), value: extensionIdSchema })]),
});

export const extendModalSchema = z.object({
  user: z.object({ id: slackUserIdSchema }),
  view: z.object({
    id: z.string().min(1).max(64),
    private_metadata: z.string().max(3000),
    state: z.object({
      values: z.object({
        duration: z.object({ duration: plainValue }),
        reason: z.object({ reason: plainValue }),
      }),
    }),
  }),
});
export const extendModalMetadataSchema = z.object({ requestId: requestIdSchema });

export const extensionDenyModalSchema = reasonModalSchema;
export const extensionDenyModalMetadataSchema = z.object({
  extensionId: extensionIdSchema,
  channel: z.string().max(32).nullable(),
  ts: z.string().max(32).nullable(),
});

/** `JSON.parse` + schema, null on either failure (private_metadata is ours, but arrives from outside). */
export function parseJson<T>(text: string, schema: z.ZodType<T>): T | null {
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}
