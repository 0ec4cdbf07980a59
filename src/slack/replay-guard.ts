import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPModuleFunctions, type HTTPReceiver, isValidSlackRequest } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisAnswer } from '../jobs/redis-answer.js';

/**
 * Refuses a signed Slack request seen before. Bolt already refuses a bad signature and one more
 * than 5 minutes old; inside those 5 minutes a captured request would be accepted again, so every
 * accepted request is remembered in Redis until Bolt would call it stale anyway. A request is
 * known by its timestamp and a hash of its raw body, which is what the signature covers, not by
 * the signature header: Bolt reads only the part after `v0=` up to the next `=`, so
 * `v0=<hex>=x` passes its check as well and would be a new key. A signature header other than
 * exactly `v0=` and 64 lower-case hex digits is refused here outright.
 *
 * When Redis does not answer, the request is let through (and logged): every handler is safe to
 * run twice, so a replay can only repeat what its sender already did, while refusing everything
 * would stop `/jit revoke` and `/jit freeze` exactly when something is broken.
 */

/** Where the bot remembers which requests and events it has taken; one prefix per deployment. */
export interface DeliveryMemory {
  redis: Redis;
  keyPrefix: string;
}

/** `first`: recorded now; `seen`: recorded before; `unknown`: Redis did not answer in time. */
export type Sighting = 'first' | 'seen' | 'unknown';

/** What Slack sends: version 0, the hex HMAC-SHA256. */
const SIGNATURE_FORMAT = /^v0=[0-9a-f]{64}$/;
/** How long Bolt accepts a signature after its timestamp. */
const signatureLifetimeMs = 5 * 60_000;
/** Our clock may be behind Slack's. */
const clockMarginMs = 60_000;

/** Records `key` once (SET NX with a lifetime) and says whether it was already there. */
export async function recordSighting(memory: DeliveryMemory, key: string, ttlMs: number): Promise<Sighting> {
  // Slack's ack deadline is 3 s; a Redis that hangs must not eat it.
  const reply = await redisAnswer(
    memory.redis.set(`${memory.keyPrefix}:${key}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
  );
  if (reply === undefined) return 'unknown';
  return reply === 'OK' ? 'first' : 'seen';
}

export interface ReplayGuardOptions {
  signingSecret: string;
  /** The path Slack posts to (`/slack/events`). */
  endpoint: string;
  memory: DeliveryMemory;
  logger: Logger;
}

/**
 * Puts the check in front of the receiver's own handling of `endpoint`. The body is read here
 * (Bolt then reuses it) and the signature checked with Bolt's own function; a request that fails
 * that check goes on to Bolt, which refuses and logs it as before.
 */
export function guardAgainstReplays(receiver: HTTPReceiver, options: ReplayGuardOptions): void {
  const handle = receiver.requestListener;
  receiver.requestListener = (req, res) => {
    if (req.method !== 'POST' || pathOf(req) !== options.endpoint) return handle(req, res);
    admit(req, res, options)
      .then((admitted) => {
        if (admitted) handle(req, res);
      })
      .catch((err: unknown) => {
        options.logger.error({ err }, 'Slack request could not be screened for replays');
        if (!res.headersSent) HTTPModuleFunctions.buildNoBodyResponse(res, 500);
      });
  };
}

async function admit(
  req: IncomingMessage,
  res: ServerResponse,
  options: ReplayGuardOptions,
): Promise<boolean> {
  let body: string;
  try {
    body = (
      await HTTPModuleFunctions.bufferIncomingMessage(req, HTTPModuleFunctions.defaultBodyLimit)
    ).rawBody.toString();
  } catch (err) {
    // As Bolt answers an unreadable body.
    const tooLarge = HTTPModuleFunctions.isRawBodyError(err) && err.statusCode === 413;
    HTTPModuleFunctions.buildNoBodyResponse(res, tooLarge ? 413 : 401);
    return false;
  }
  const signature = singleHeader(req, 'x-slack-signature');
  if (signature !== undefined && !SIGNATURE_FORMAT.test(signature)) {
    options.logger.warn('refused a Slack request whose signature header is not v0= and 64 hex digits');
    HTTPModuleFunctions.buildNoBodyResponse(res, 401);
    return false;
  }
  const timestamp = Number(singleHeader(req, 'x-slack-request-timestamp'));
  const signed =
    signature !== undefined &&
    isValidSlackRequest({
      signingSecret: options.signingSecret,
      body,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
    });
  if (!signed) return true;
  const ttlMs = timestamp * 1000 + signatureLifetimeMs - Date.now() + clockMarginMs;
  const digest = createHash('sha256').update(body).digest('hex');
  const sighting = await recordSighting(options.memory, `slack-request:${timestamp}:${digest}`, ttlMs);
  if (sighting === 'seen') {
    options.logger.warn({ timestamp }, 'refused a Slack request already received (replayed)');
    HTTPModuleFunctions.buildNoBodyResponse(res, 401);
    return false;
  }
  if (sighting === 'unknown') {
    options.logger.warn('Redis did not answer; a Slack request was let through unchecked for replay');
  }
  return true;
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://localhost').pathname;
}

function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}
