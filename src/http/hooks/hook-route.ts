import type { IncomingMessage } from 'node:http';
import type { Deps } from '../../app/deps.js';
import { InvalidInput, NotFound } from '../../app/errors.js';
import { type DeliveryMemory, recordSighting } from '../../slack/replay-guard.js';
import { type Route, sendJson } from '../routes.js';
import { auditRejection, type HookName, type RejectionAuditBudget } from './rejections.js';
import type { SignatureCheck } from './signature.js';

/**
 * What both hooks share: POST only, disabled (503) without their secret, a capped raw body,
 * the signature checked on that raw body before anything parses it, and every refusal audited.
 * A refusal changes nothing else.
 */

export interface HookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A refusal after the signature was accepted (bad JSON, bad shape), with what the caller sees. */
export class HookRejection extends Error {
  constructor(
    readonly status: number,
    readonly why: string,
    message: string,
  ) {
    super(message);
    this.name = 'HookRejection';
  }
}

export interface HookDefinition {
  hook: HookName;
  path: string;
  secretName: 'JIT_HOOK_SECRET' | 'GITHUB_WEBHOOK_SECRET';
  secret: string | undefined;
  maxBodyBytes: number;
  verify(input: { secret: string; req: IncomingMessage; body: Buffer; now: Date }): SignatureCheck;
  /**
   * What a signed call is remembered by, and for how long: the same call arriving again within
   * that time gets `onRepeat` instead of being handled (a replay, or the sender retrying).
   */
  delivery?(req: IncomingMessage, body: Buffer): { key: string; ttlMs: number };
  onRepeat?(req: IncomingMessage): HookAnswer;
  answer(deps: Deps, req: IncomingMessage, body: Buffer): Promise<HookAnswer>;
}

/** Registered for other methods too, so they get a 405 naming POST instead of a bare 404. */
const answeredMethods = ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'];

export function hookRoute(
  definition: HookDefinition,
  getDeps: () => Deps,
  budget: RejectionAuditBudget,
  memory?: DeliveryMemory,
): Route {
  return {
    path: definition.path,
    method: answeredMethods,
    // Bolt's Socket Mode server neither awaits nor catches route handlers: nothing may escape.
    handler: async (req, res) => {
      const deps = getDeps();
      try {
        const answer = await answerHook(definition, deps, req, memory);
        sendJson(res, answer.status, answer.body);
      } catch (error) {
        const rejection = asRejection(error);
        if (!rejection) {
          deps.logger.error({ hook: definition.hook, err: error }, 'hook call failed');
          if (!res.headersSent) {
            sendJson(res, 500, { error: 'Internal error. Recalls are safe to repeat: retry later.' });
          }
          return;
        }
        await auditRejection(
          deps,
          budget,
          { hook: definition.hook, status: rejection.status, why: rejection.why },
          req.socket.remoteAddress,
        );
        if (rejection.status === 405) res.setHeader('allow', 'POST');
        // The rest of an oversized body is not read; closing stops the sender.
        if (rejection.status === 413) res.setHeader('connection', 'close');
        sendJson(res, rejection.status, { error: rejection.message });
      }
    },
  };
}

async function answerHook(
  definition: HookDefinition,
  deps: Deps,
  req: IncomingMessage,
  memory: DeliveryMemory | undefined,
): Promise<HookAnswer> {
  if (req.method !== 'POST') {
    throw new HookRejection(405, `method ${req.method}`, `Use POST for ${definition.path}.`);
  }
  if (!definition.secret) {
    throw new HookRejection(
      503,
      `${definition.secretName} is not set`,
      `${definition.path} is disabled: set ${definition.secretName} on the bot to enable it.`,
    );
  }
  const body = await readBody(req, definition.maxBodyBytes);
  if (!body) {
    throw new HookRejection(
      413,
      `body over ${definition.maxBodyBytes} bytes`,
      `The body is larger than ${definition.maxBodyBytes} bytes.`,
    );
  }
  const check = definition.verify({ secret: definition.secret, req, body, now: deps.clock.now() });
  if (!check.ok) throw new HookRejection(401, check.why, `Request refused: ${check.why}.`);
  let remembered: string | null = null;
  if (definition.delivery && memory) {
    const { key, ttlMs } = definition.delivery(req, body);
    remembered = `hook:${definition.hook}:${key}`;
    const sighting = await recordSighting(memory, remembered, ttlMs);
    if (sighting === 'seen') {
      deps.logger.info({ hook: definition.hook }, 'hook call already received');
      if (definition.onRepeat) return definition.onRepeat(req);
      throw new HookRejection(409, 'already received', 'This call was already received.');
    }
    // As for Slack requests: every hook call is safe to handle twice, so no Redis is no refusal.
    if (sighting === 'unknown') {
      deps.logger.warn(
        { hook: definition.hook },
        'Redis did not answer; a hook call was not checked for replay',
      );
    }
  }
  try {
    return await definition.answer(deps, req, body);
  } catch (error) {
    // Not handled (a 500): the sender's retry of the same call must not be taken for a replay.
    if (remembered && memory && !asRejection(error)) {
      await memory.redis.del(`${memory.keyPrefix}:${remembered}`).catch(() => undefined);
    }
    throw error;
  }
}

function asRejection(error: unknown): HookRejection | null {
  if (error instanceof HookRejection) return error;
  if (error instanceof NotFound) return new HookRejection(404, error.message, error.message);
  if (error instanceof InvalidInput) return new HookRejection(400, error.message, error.message);
  return null;
}

/** The raw body, or null past `maxBytes` (by Content-Length, or once that many bytes arrived). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** The first value of a header Node may give as a list. */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
