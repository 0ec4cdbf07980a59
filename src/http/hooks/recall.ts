import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Deps } from '../../app/deps.js';
import { recallActors, recallByRequest, recallByUserAndResource } from '../../app/recall.js';
import { parseRequestId } from '../../domain/ids.js';
import { controlCharacters, maxReasonLength } from '../../domain/policy.js';
import { parseJson, recallAnswer, validated } from './answers.js';
import { type HookDefinition, headerValue } from './hook-route.js';
import { recallSignatureWindowSec, verifyRecallSignature } from './signature.js';

/**
 * `POST /hooks/recall`: an outside system (incident tooling, HR offboarding, a SIEM rule) takes
 * access back, by request id or by user and resource, signed with `JIT_HOOK_SECRET`.
 */

/** zod's message for a missing or mistyped field: "is required …" or "must be a string". */
const requiredString = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `is required (${what})` : 'must be a string') });

const reason = requiredString('why the access is recalled')
  .trim()
  .min(1, 'is required (why the access is recalled)')
  .max(maxReasonLength, `must be at most ${maxReasonLength} characters`)
  .refine((text) => !controlCharacters.test(text), 'must not contain control characters');

const byRequest = z.strictObject({
  requestId: z
    .string({ error: 'must be a request id like JIT-7K2MQ9' })
    .refine((text) => parseRequestId(text) !== null, 'must be a request id like JIT-7K2MQ9')
    .transform((text) => parseRequestId(text) as string),
  reason,
});

const byUserAndResource = z.strictObject({
  user: z
    .string({ error: 'must be a Slack user id like U0123ABCD' })
    .regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a Slack user id like U0123ABCD'),
  resource: requiredString('a resource of the policy file').min(1).max(100),
  reason,
});

export function recallHook(secret: string | undefined): HookDefinition {
  return {
    hook: 'recall',
    path: '/hooks/recall',
    secretName: 'JIT_HOOK_SECRET',
    secret,
    maxBodyBytes: 64 * 1024,
    verify: ({ secret: key, req, body, now }) =>
      verifyRecallSignature({
        secret: key,
        timestamp: headerValue(req, 'x-jit-timestamp'),
        signature: headerValue(req, 'x-jit-signature'),
        body,
        now,
      }),
    // Within the signature's window the same signed call would be accepted again: remember it
    // (by timestamp and body, which the signature covers) until the window has passed both ways.
    delivery: (req, body) => ({
      key: `${headerValue(req, 'x-jit-timestamp')}:${createHash('sha256').update(body).digest('hex')}`,
      ttlMs: 2 * recallSignatureWindowSec * 1000 + 60_000,
    }),
    answer: async (deps: Deps, _req, body) => {
      const json = parseJson(body.toString('utf8'));
      // Which shape is meant is decided by `requestId`, so errors are about that shape only.
      const input = hasRequestId(json) ? validated(json, byRequest) : validated(json, byUserAndResource);
      const options = { actorId: recallActors.recall, reason: input.reason };
      const summary =
        'requestId' in input
          ? await recallByRequest(deps, input.requestId, options)
          : await recallByUserAndResource(deps, { userId: input.user, resource: input.resource }, options);
      deps.logger.info(
        { hook: 'recall', revoked: summary.revoked, denied: summary.denied, retrying: summary.retrying },
        'recall hook handled',
      );
      return recallAnswer(summary);
    },
  };
}

function hasRequestId(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'requestId' in json;
}
