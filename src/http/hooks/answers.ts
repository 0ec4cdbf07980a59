import type { z } from 'zod';
import type { RevokeSummary } from '../../app/revoke.js';
import { HookRejection } from './hook-route.js';

/** The JSON of a signed body; a 400 otherwise. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HookRejection(400, 'body is not JSON', 'The body must be JSON.');
  }
}

/** `json` as `schema` describes it; a 400 saying what is wrong otherwise. */
export function validated<T extends z.ZodType>(json: unknown, schema: T): z.infer<T> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
  throw new HookRejection(400, `bad body: ${problems}`.slice(0, 300), `Bad body: ${problems}.`);
}

/** The outcome of a recall as the caller reads it: the lists, and one sentence. */
export function recallAnswer(summary: RevokeSummary, extra: Record<string, unknown> = {}) {
  return { status: 200, body: { ...extra, message: describeRecall(summary), ...summary } };
}

export function describeRecall(summary: RevokeSummary): string {
  const parts: string[] = [];
  if (summary.revoked.length > 0)
    parts.push(`Recalled ${summary.revoked.length}: ${summary.revoked.join(', ')}.`);
  if (summary.denied.length > 0) parts.push(`Denied before it was granted: ${summary.denied.join(', ')}.`);
  if (summary.retrying.length > 0) {
    parts.push(
      `The target did not answer for ${summary.retrying.join(', ')}: retrying until it does, and the security channel is told.`,
    );
  }
  for (const { why } of summary.unchanged) parts.push(why);
  return parts.length > 0 ? parts.join(' ') : 'Nothing to recall: no grant matched.';
}
