import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endGrant, revokeMany } from '../../src/app/end-grant.js';
import { ProviderUnavailable } from '../../src/app/errors.js';
import { createPostgresProvider } from '../../src/providers/postgres.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, startHarness, users } from '../support/harness.js';
import { closedPort } from '../support/ports.js';

/**
 * `/metrics` of the running bot after real work: the counters and histograms the use cases feed,
 * and the gauges read from PostgreSQL and Redis at scrape time. Values are compared as changes
 * between two scrapes, never as timings.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    extraResources: `
  auto-db:
    description: Approved by a rule for alice
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}] }
    autoApprove:
      - requesterIn: { users: [${users.alice}] }
        maxDuration: 1h
        businessHoursOnly: false`,
  });
});
afterAll(async () => {
  await h?.stop();
});

type Samples = Map<string, number>;

/** One scrape, as `name{labels}` → value. */
async function scrape(): Promise<Samples> {
  const response = await fetch(`${h.origin}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const samples: Samples = new Map();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const outcome = (name: string) => `jit_requests_total{outcome="${name}"}`;
const queueSeries = (queue: string, state: string) => `jit_queue_jobs{queue="${queue}",state="${state}"}`;
const revokeFailures = 'jit_revoke_failures_total{resource="prod-db-write"}';

/** How much each series grew between two scrapes (a series absent before counts from 0). */
function growth(before: Samples, after: Samples, names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [name, (after.get(name) ?? 0) - (before.get(name) ?? 0)]));
}

async function activeGrant(duration: string): Promise<string> {
  const id = await h.request(users.alice, 'prod-db-write', duration);
  await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
  await h.dmTo(users.alice, `${id}\`: you have`);
  return id;
}

function botQueues(): Queue[] {
  return Object.values(h.bot.queues).filter((value): value is Queue => value instanceof Queue);
}

describe('GET /metrics', () => {
  it('counts a request through approval, grant and expiry', async () => {
    const before = await scrape();
    expect(before.get('jit_grants_active')).toBe(0);
    for (const name of ['created', 'expired', 'denied', 'revoked', 'released', 'cancelled', 'timed_out']) {
      expect(before.has(outcome(name)), name).toBe(true);
    }

    const id = await activeGrant('2s');
    const granted = await scrape();
    expect(granted.get('jit_grants_active')).toBe(1);
    expect(granted.get('jit_requests{state="active"}')).toBe(1);

    await h.dmTo(users.alice, `${id}\`: your access`, 15_000);
    const after = await scrape();
    expect(
      growth(before, after, [
        outcome('created'),
        outcome('expired'),
        outcome('released'),
        'jit_approval_latency_seconds_count',
        'jit_expiry_lateness_seconds_count',
      ]),
    ).toEqual({
      [outcome('created')]: 1,
      [outcome('expired')]: 1,
      [outcome('released')]: 0,
      jit_approval_latency_seconds_count: 1,
      jit_expiry_lateness_seconds_count: 1,
    });
    expect(after.get('jit_grants_active')).toBe(0);
    // Process metrics come along, unprefixed, for stock Node.js dashboards.
    expect(after.has('process_cpu_seconds_total')).toBe(true);
    expect([...after.keys()].some((name) => name.startsWith('nodejs_heap_size_used_bytes'))).toBe(true);
  });

  it('counts a withdrawn request as cancelled, without an approval', async () => {
    const before = await scrape();
    const id = await h.request(users.alice, 'prod-db-write', '30m');
    await h.slash(users.alice, `release ${id}`);
    const after = await scrape();
    expect(
      growth(before, after, [outcome('created'), outcome('cancelled'), 'jit_approval_latency_seconds_count']),
    ).toEqual({
      [outcome('created')]: 1,
      [outcome('cancelled')]: 1,
      jit_approval_latency_seconds_count: 0,
    });
  });

  it('leaves approvals by a rule out of the approval latency', async () => {
    const before = await scrape();
    const id = await h.request(users.alice, 'auto-db', '30m');
    await h.dmTo(users.alice, `${id}\`: you have`);
    await h.slash(users.alice, `release ${id}`);
    const after = await scrape();
    expect(
      growth(before, after, [outcome('created'), outcome('released'), 'jit_approval_latency_seconds_count']),
    ).toEqual({
      [outcome('created')]: 1,
      [outcome('released')]: 1,
      jit_approval_latency_seconds_count: 0,
    });
  });

  it('reports the jobs of every queue by state', async () => {
    const id = await activeGrant('1h');
    const samples = await scrape();
    const queues = botQueues();
    expect(queues.map((queue) => queue.name)).toEqual(
      expect.arrayContaining(['jit-grant', 'jit-revoke', 'jit-notify', 'jit-audit', 'jit-recall']),
    );
    for (const queue of queues) {
      for (const state of ['waiting', 'delayed', 'active', 'failed']) {
        expect(samples.get(queueSeries(queue.name, state)), `${queue.name} ${state}`).toBeGreaterThanOrEqual(
          0,
        );
      }
    }
    // The grant's expiry waits in the revoke queue.
    expect(samples.get(queueSeries('jit-revoke', 'delayed'))).toBeGreaterThanOrEqual(1);
    await h.slash(users.alice, `release ${id}`);
  });

  it('counts each failed attempt to revoke on the target, one by one and in bulk', async () => {
    const id = await activeGrant('1h');
    const unreachable = createPostgresProvider(
      { url: `postgresql://jit_granter:jit_granter@127.0.0.1:${await closedPort()}/jit` },
      { connectTimeoutMs: 500 },
    );
    const down = { ...h.bot.deps, providers: new Map([['proddb', unreachable]]) };
    const before = await scrape();
    try {
      await expect(
        endGrant(down, { requestId: id, event: 'revoke', actorId: 'system', reason: 'drill' }),
      ).rejects.toBeInstanceOf(ProviderUnavailable);
      const bulk = await revokeMany(down, [id], { actorId: 'system', reason: 'drill' });
      expect(bulk.failed.map((failure) => failure.id)).toEqual([id]);
    } finally {
      await unreachable.close();
    }
    const failed = await scrape();
    expect(growth(before, failed, [revokeFailures, outcome('revoked')])).toEqual({
      [revokeFailures]: 2,
      [outcome('revoked')]: 0,
    });
    expect(failed.get('jit_grants_active')).toBe(1);

    // Bulk revocations record their ends in one statement; they are counted all the same.
    const bulk = await revokeMany(h.bot.deps, [id], { actorId: 'system', reason: 'drill over' });
    expect(bulk.ended.map((request) => request.id)).toEqual([id]);
    const after = await scrape();
    expect(growth(failed, after, [revokeFailures, outcome('revoked')])).toEqual({
      [revokeFailures]: 0,
      [outcome('revoked')]: 1,
    });
    expect(await h.isMember(h.login('alice'))).toBe(false);
  });

  it('serves only jit_ metrics that the README documents', async () => {
    const text = await (await fetch(`${h.origin}/metrics`)).text();
    const families = [...text.matchAll(/^# TYPE (jit_\w+) /gm)].map((match) => match[1] as string);
    expect(families.length).toBeGreaterThanOrEqual(7);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const deploy = readme.slice(readme.indexOf('## Deploy to production'));
    for (const family of families) expect(deploy, family).toContain(`\`${family}\``);
  });

  it('still answers while Redis is away, without the queue series', async () => {
    h.bot.redis.disconnect();
    try {
      const samples = await scrape();
      expect([...samples.keys()].some((name) => name.startsWith('jit_queue_jobs'))).toBe(false);
      expect(samples.has(outcome('created'))).toBe(true);
      expect(samples.get('jit_grants_active')).toBe(0);
    } finally {
      await h.bot.redis.connect();
    }
    expect((await scrape()).has(queueSeries('jit-grant', 'waiting'))).toBe(true);
  });
});
