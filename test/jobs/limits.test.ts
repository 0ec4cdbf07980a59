import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLimits } from '../../src/jobs/limits.js';
import { redisUrl, uniqueName } from '../support/db.js';

/** The per-person limits on the real Redis, shared by every replica that uses the same prefix. */

let redis: Redis;
let other: Redis;
const prefix = uniqueName('limits_');

beforeAll(() => {
  redis = new Redis(redisUrl());
  other = new Redis(redisUrl());
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  other.disconnect();
});

/** Waits until Redis has let the window's key expire, i.e. the window is over. */
async function windowOver(key: string): Promise<void> {
  await expect.poll(() => redis.pttl(`${prefix}:limit:${key}`), { timeout: 5_000, interval: 20 }).toBe(-2);
}

describe('per-user command rate', () => {
  it('allows commandsPerWindow commands per user, counted across replicas, then refuses', async () => {
    const settings = { commandsPerWindow: 3, refusalsPerWindow: 2, windowMs: 60_000 };
    const replicaA = createRedisLimits(redis, prefix, settings);
    const replicaB = createRedisLimits(other, prefix, settings);
    const answers = [
      await replicaA.command('UALICE01'),
      await replicaB.command('UALICE01'),
      await replicaA.command('UALICE01'),
      await replicaB.command('UALICE01'),
    ];
    expect(answers).toEqual([true, true, true, false]);
    // Another user has a count of their own.
    expect(await replicaB.command('UBOB0001')).toBe(true);
  });

  it('lets everything through when Redis does not answer', async () => {
    const gone = new Redis({
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const limits = createRedisLimits(gone, prefix, {
      commandsPerWindow: 0,
      refusalsPerWindow: 0,
      windowMs: 1,
    });
    expect(await limits.command('UALICE01')).toBe(true);
    expect(await limits.refusalAudit('UALICE01')).toEqual({ audit: true, notAuditedBefore: 0 });
    gone.disconnect();
  });
});

describe('refusal audit cap', () => {
  it('audits refusalsPerWindow refusals per actor, then counts the rest for the next audited one', async () => {
    const limits = createRedisLimits(redis, prefix, {
      commandsPerWindow: 1,
      refusalsPerWindow: 2,
      windowMs: 300,
    });
    const slots = [];
    for (let i = 0; i < 5; i++) slots.push(await limits.refusalAudit('UEVE0001'));
    expect(slots).toEqual([
      { audit: true, notAuditedBefore: 0 },
      { audit: true, notAuditedBefore: 0 },
      { audit: false },
      { audit: false },
      { audit: false },
    ]);
    expect(await limits.refusalAudit('UCAROL01')).toEqual({ audit: true, notAuditedBefore: 0 });

    await windowOver('refusal:UEVE0001');
    expect(await limits.refusalAudit('UEVE0001')).toEqual({ audit: true, notAuditedBefore: 3 });
    expect(await limits.refusalAudit('UEVE0001')).toEqual({ audit: true, notAuditedBefore: 0 });
  });
});
