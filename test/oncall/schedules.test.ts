import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOnCallSchedules } from '../../src/oncall/schedules.js';
import { type FakeOnCall, startFakeOnCall } from '../support/fake-oncall.js';

let fake: FakeOnCall;

beforeAll(async () => {
  fake = await startFakeOnCall();
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => {
  fake.down = false;
  fake.delayMs = 0;
  fake.requests.length = 0;
});

function schedules(overrides: { token?: string; now?: () => number; timeout?: number } = {}) {
  return createOnCallSchedules(
    {
      pagerduty: { token: overrides.token ?? fake.pagerDutyToken, apiUrl: fake.url },
      opsgenie: { apiKey: fake.opsgenieKey, apiUrl: fake.url },
      cacheFor: 60,
      timeout: overrides.timeout ?? 3,
    },
    overrides.now ? { now: overrides.now } : {},
  );
}

describe('on-call schedules', () => {
  it("reads PagerDuty's on-call users with their emails, lower case, across pages", async () => {
    const many = Array.from({ length: 130 }, (_, i) => `Person${i}@Example.com`);
    fake.setOnCall('PSCHED1', many);
    const emails = await schedules().onCallNow({ pagerduty: { schedule: 'PSCHED1' } });
    expect(emails.size).toBe(130);
    expect(emails.has('person129@example.com')).toBe(true);
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0]).toContain('schedule_ids%5B%5D=PSCHED1');
    expect(fake.requests[0]).toContain('include%5B%5D=users');
  });

  it("reads Opsgenie's flat on-call recipients by schedule name", async () => {
    fake.setOnCall('Platform Primary', ['carol@example.com']);
    const emails = await schedules().onCallNow({ opsgenie: { schedule: 'Platform Primary' } });
    expect([...emails]).toEqual(['carol@example.com']);
    expect(fake.requests[0]).toMatch(/^GET \/v2\/schedules\/Platform%20Primary\/on-calls\?/);
  });

  it('asks once per schedule while the answer is fresh, and again after cacheFor', async () => {
    fake.setOnCall('PSCHED2', ['alice@example.com']);
    let clock = 0;
    const client = schedules({ now: () => clock });
    await Promise.all([1, 2, 3].map(() => client.onCallNow({ pagerduty: { schedule: 'PSCHED2' } })));
    expect(fake.requests).toHaveLength(1);
    fake.setOnCall('PSCHED2', ['bob@example.com']);
    clock = 59_000;
    expect([...(await client.onCallNow({ pagerduty: { schedule: 'PSCHED2' } }))]).toEqual([
      'alice@example.com',
    ]);
    clock = 61_000;
    expect([...(await client.onCallNow({ pagerduty: { schedule: 'PSCHED2' } }))]).toEqual([
      'bob@example.com',
    ]);
    expect(fake.requests).toHaveLength(2);
  });

  it('throws on a refused token, a server error and a slow answer, and keeps no failure', async () => {
    fake.setOnCall('PSCHED3', ['alice@example.com']);
    await expect(
      schedules({ token: 'wrong' }).onCallNow({ pagerduty: { schedule: 'PSCHED3' } }),
    ).rejects.toThrow(/HTTP 401/);
    const client = schedules({ timeout: 0.2 });
    fake.down = true;
    await expect(client.onCallNow({ pagerduty: { schedule: 'PSCHED3' } })).rejects.toThrow(/HTTP 503/);
    fake.down = false;
    fake.delayMs = 1_000;
    await expect(client.onCallNow({ pagerduty: { schedule: 'PSCHED3' } })).rejects.toThrow(
      /timeout|aborted/i,
    );
    fake.delayMs = 0;
    expect((await client.onCallNow({ pagerduty: { schedule: 'PSCHED3' } })).has('alice@example.com')).toBe(
      true,
    );
  });

  it('throws on an Opsgenie schedule that does not exist', async () => {
    await expect(schedules().onCallNow({ opsgenie: { schedule: 'Nobody' } })).rejects.toThrow(/HTTP 404/);
  });
});
