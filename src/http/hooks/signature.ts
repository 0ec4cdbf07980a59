import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signature checks of the two hooks, on the raw body and before anything parses it. Pure: the
 * caller passes the current time, so tests move the clock instead of waiting.
 */

export type SignatureCheck = { ok: true } | { ok: false; why: string };

/** How far a recall timestamp may be from our clock, either way (replays, skewed senders). */
export const recallSignatureWindowSec = 5 * 60;

const hexDigest = /^[0-9a-f]{64}$/;

/**
 * `X-Jit-Timestamp` (unix seconds) and `X-Jit-Signature: v0=<hex HMAC-SHA256 of "v0:{ts}:{body}">`
 * with `JIT_HOOK_SECRET`, the way Slack signs its requests.
 */
export function verifyRecallSignature(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  now: Date;
}): SignatureCheck {
  if (!input.timestamp || !input.signature) {
    return { ok: false, why: 'X-Jit-Timestamp and X-Jit-Signature headers are required' };
  }
  if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, why: 'X-Jit-Timestamp must be unix seconds' };
  const skewSec = Math.abs(Math.floor(input.now.getTime() / 1000) - Number(input.timestamp));
  if (skewSec > recallSignatureWindowSec) {
    return { ok: false, why: 'X-Jit-Timestamp is more than 5 minutes away from our clock' };
  }
  const expected = jitSignatureHex(input.secret, input.timestamp, input.body);
  return matches(input.signature, 'v0=', expected) ? { ok: true } : { ok: false, why: 'signature mismatch' };
}

/**
 * The hex HMAC-SHA256 of `v0:{ts}:{body}`: what `X-Jit-Signature` carries after `v0=`, on the
 * recall hook and on the webhook provider's calls alike.
 */
export function jitSignatureHex(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex');
}

/** GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
export function verifyGitHubSignature(input: {
  secret: string;
  signature: string | undefined;
  body: Buffer;
}): SignatureCheck {
  if (!input.signature) return { ok: false, why: 'X-Hub-Signature-256 header is required' };
  const expected = createHmac('sha256', input.secret).update(input.body).digest('hex');
  return matches(input.signature, 'sha256=', expected)
    ? { ok: true }
    : { ok: false, why: 'signature mismatch' };
}

/** Constant-time comparison, so response timing tells nothing about how much of a guess was right. */
function matches(header: string, prefix: string, expectedHex: string): boolean {
  if (!header.startsWith(prefix)) return false;
  const given = header.slice(prefix.length).toLowerCase();
  if (!hexDigest.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expectedHex, 'hex'));
}
