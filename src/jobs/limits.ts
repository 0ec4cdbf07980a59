import type { Redis } from 'ioredis';
import type { Limits } from '../app/deps.js';
import { redisAnswer } from './redis-answer.js';

/**
 * The per-person limits of `Deps.limits`, as fixed-window counters in Redis (one key per person,
 * expiring with its window), so every replica counts the same. A Redis that does not answer
 * in time (`redisAnswer`) counts as "allowed": the limits protect the bot and the security
 * channel from floods, and must never be what stops `/jit revoke` while Redis is in trouble.
 */

export interface LimitSettings {
  /** Slash commands per user and window. */
  commandsPerWindow: number;
  /** Audited refusals per actor and window. */
  refusalsPerWindow: number;
  windowMs: number;
}

export const defaultLimitSettings: LimitSettings = {
  commandsPerWindow: 20,
  refusalsPerWindow: 5,
  windowMs: 60_000,
};

/** How long a count of refusals left out waits for the next audited one. */
const leftOutLifetimeMs = 24 * 60 * 60_000;

/** INCR with the window's expiry set by the first hit; returns the count. */
const countHit = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/**
 * A refusal: counted; past the cap it is added to the left-out count instead, else the left-out
 * count is taken (and reset) for the audit event to carry. Returns {audited, leftOut}.
 */
const countRefusal = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return {0, 0}
end
local left = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('DEL', KEYS[2])
return {1, left}`;

export function createRedisLimits(
  redis: Redis,
  keyPrefix: string,
  settings: LimitSettings = defaultLimitSettings,
): Limits {
  // A window starts with a person's first hit and ends `windowMs` later (the key's lifetime).
  const windowKey = (kind: string, who: string) => `${keyPrefix}:limit:${kind}:${who}`;
  return {
    async command(userId) {
      const count = await redisAnswer(
        redis.eval(countHit, 1, windowKey('command', userId), settings.windowMs),
      );
      return typeof count !== 'number' || count <= settings.commandsPerWindow;
    },
    async refusalAudit(actor) {
      const answer = await redisAnswer(
        redis.eval(
          countRefusal,
          2,
          windowKey('refusal', actor),
          `${keyPrefix}:limit:refusal-left-out:${actor}`,
          settings.windowMs,
          settings.refusalsPerWindow,
          leftOutLifetimeMs,
        ),
      );
      if (!Array.isArray(answer)) return { audit: true, notAuditedBefore: 0 };
      const [audited, leftOut] = answer as [number, number];
      return audited === 1 ? { audit: true, notAuditedBefore: leftOut } : { audit: false };
    },
  };
}
