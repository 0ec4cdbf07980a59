import { z } from 'zod';
import { InvalidInput, ProviderUnavailable } from '../app/errors.js';
import type { GrantTarget, Provider } from '../app/provider.js';
import { jitSignatureHex } from '../http/hooks/signature.js';
import { httpUrlSchema } from './http-url.js';

/**
 * Hands grants to an outside system (a ticketing tool, an in-house access service) as signed
 * JSON POSTs. The receiver does the real work and must treat a repeated action for the same
 * `requestId` as done already: the bot repeats calls whenever it is not sure one landed.
 *
 * Body: `{action, requestId, user, slackUser, resource, grant, expiresAt}`, where `action` is
 * `grant`, `revoke` or `verify`. Headers: `X-Jit-Timestamp` (unix seconds) and
 * `X-Jit-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` with the provider's secret,
 * the same scheme as the bot's own recall hook. Answers: any 2xx is success; `verify` must answer
 * 2xx with `{"active": true|false}`. 408, 429, 5xx, timeouts and network failures are retried;
 * any other status is a refusal no retry will change.
 */

const DEFAULT_TIMEOUT_MS = 10_000;
/** How much of a refusal's body is kept in the error (it reaches logs and the security channel). */
const BODY_EXCERPT_CHARS = 200;

/** The provider's block under `providers:` in the policy file. */
export const webhookProviderConfigSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrlSchema,
  secret: z.string().min(16, 'must be at least 16 characters'),
  /** How long to wait for an answer; 10 s by default. */
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
  /** Slack user id → the user's name on the outside system, where the email local part is not it. */
  identities: z.record(z.string(), z.string().min(1).max(200)).optional(),
});
export type WebhookProviderConfig = z.infer<typeof webhookProviderConfigSchema>;

/**
 * A resource's `grant:` block: passed to the outside system as `grant`, so it can tell resources
 * apart (`{ group: admins }`). Flat values only; it is part of every signed body.
 */
export const webhookGrantSchema = z.record(
  z.string().min(1).max(100),
  z.union([z.string().max(500), z.number(), z.boolean()]),
);

/** What `verify` must answer. */
const verifyAnswerSchema = z.object({ active: z.boolean() });

export type WebhookAction = 'grant' | 'revoke' | 'verify';

export function createWebhookProvider(
  config: Pick<WebhookProviderConfig, 'url' | 'secret' | 'timeoutMs'>,
): Provider {
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Only the host goes into errors: a URL may carry a token in its path or query.
  const host = new URL(config.url).host;

  async function call(action: WebhookAction, target: GrantTarget): Promise<string> {
    const body = JSON.stringify(bodyOf(action, target));
    const timestamp = String(Math.floor(Date.now() / 1000));
    let response: Response;
    try {
      response = await fetch(config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'jit-bot',
          'x-jit-timestamp': timestamp,
          'x-jit-signature': `v0=${jitSignatureHex(config.secret, timestamp, body)}`,
        },
        body,
        // A redirect would re-send the signed body somewhere the policy file does not name.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new ProviderUnavailable(`webhook ${host} ${action}: ${failureOf(error, timeoutMs)}; retry later`);
    }
    const text = await readText(response, timeoutMs, host, action);
    if (response.status >= 200 && response.status < 300) return text;
    const status = `webhook ${host} answered ${action} with HTTP ${response.status}`;
    const excerpt = excerptOf(text);
    const detail = excerpt ? `${status}: ${excerpt}` : status;
    if (isRetryableStatus(response.status)) throw new ProviderUnavailable(`${detail}; retry later`);
    throw new InvalidInput(detail);
  }

  return {
    type: 'webhook',

    async grant(target) {
      await call('grant', target);
    },

    async revoke(target) {
      await call('revoke', target);
    },

    async verify(target) {
      const text = await call('verify', target);
      const answer = verifyAnswerSchema.safeParse(parseJson(text));
      if (!answer.success) {
        throw new InvalidInput(`webhook ${host} must answer verify with {"active": true|false}`);
      }
      return answer.data.active;
    },

    async close() {},
  };
}

function bodyOf(action: WebhookAction, target: GrantTarget) {
  const grant = webhookGrantSchema.safeParse(target.grant);
  if (!grant.success) throw new InvalidInput('grant block: only flat text, number or true/false values');
  return {
    action,
    requestId: target.requestId,
    user: target.identity,
    slackUser: target.userId ?? null,
    resource: target.resource ?? null,
    grant: grant.data,
    expiresAt: target.expiresAt.toISOString(),
  };
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

async function readText(
  response: Response,
  timeoutMs: number,
  host: string,
  action: WebhookAction,
): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    // The status arrived but the body did not: whether the action landed is unknown, so retry.
    throw new ProviderUnavailable(`webhook ${host} ${action}: ${failureOf(error, timeoutMs)}; retry later`);
  }
}

function failureOf(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  return cause?.code ?? (error instanceof Error ? error.message : 'request failed');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One line of printable text, short: enough to say why, never a whole page of HTML. */
function excerptOf(text: string): string {
  const line = text.replace(/\p{Cc}+/gu, ' ').trim();
  return line.length > BODY_EXCERPT_CHARS ? `${line.slice(0, BODY_EXCERPT_CHARS)}…` : line;
}
