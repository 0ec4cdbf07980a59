import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOnCall, startFakeOnCall } from '../support/fake-oncall.js';
import { type Harness, startHarness, users } from '../support/harness.js';

/**
 * `autoApprove[].requesterOnCall` through the whole bot: the requester is approved by the rule
 * only while the PagerDuty (or Opsgenie) schedule says they are on call, asked through the local
 * fake of those APIs; when the schedule cannot be asked, people decide.
 */

let fake: FakeOnCall;
let h: Harness;

beforeAll(async () => {
  fake = await startFakeOnCall();
  h = await startHarness({
    env: { PD_TOKEN: fake.pagerDutyToken, OG_KEY: fake.opsgenieKey },
    extraPolicy: `onCall:
  pagerduty:
    token: \${PD_TOKEN}
    apiUrl: "${fake.url}"
  opsgenie:
    apiKey: \${OG_KEY}
    apiUrl: "${fake.url}"
  cacheFor: 1m
  timeout: 1s`,
    extraResources: `
  pager-db:
    description: On call engineers get in at once
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}] }
    autoApprove:
      - requesterOnCall: { pagerduty: { schedule: PPRIMARY } }
        maxDuration: 1h
  pager-db-backup:
    description: The backup schedule's on call get in at once
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}] }
    autoApprove:
      - requesterOnCall: { pagerduty: { schedule: PBACKUP } }
  genie-db:
    description: Opsgenie's on call get in at once
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approvals:
      - from: { users: [${users.bob}] }
    autoApprove:
      - requesterOnCall: { opsgenie: { schedule: Platform } }`,
  });
});
afterAll(async () => {
  await h?.stop();
  await fake?.close();
});
beforeEach(() => {
  fake.down = false;
  fake.delayMs = 0;
});

const email = (user: 'alice' | 'eve') => `${h.login(user)}@example.com`;

async function ask(userId: string, resource: string): Promise<{ id: string; text: string }> {
  const { reply } = await h.slash(userId, `request ${resource} 30m paged for INC-7`);
  const text = String(reply.body.text);
  const id = /JIT-[0-9A-Z]{6}/.exec(text)?.[0];
  if (!id) throw new Error(`no request id in the reply: ${text}`);
  return { id, text };
}

/** What `request.created` recorded of the schedules. */
async function onCallRecorded(id: string): Promise<unknown> {
  const created = await h.db.prisma.auditEvent.findFirstOrThrow({
    where: { requestId: id, action: 'request.created' },
  });
  return (created.details as { onCall?: unknown }).onCall;
}

async function createdReasons(id: string): Promise<string> {
  const events = await h.db.prisma.auditEvent.findMany({ where: { requestId: id }, orderBy: { id: 'asc' } });
  return events.map((e) => JSON.stringify(e.details)).join(' ');
}

describe('requesterOnCall', () => {
  it('approves the requester who is on call in the PagerDuty schedule, and says so', async () => {
    fake.setOnCall('PPRIMARY', [email('alice').toUpperCase()]);
    const { id, text } = await ask(users.alice, 'pager-db');
    expect(text).toContain('approved automatically by the rule `autoApprove[0]`');
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(await createdReasons(id)).toContain('the requester is on call in PagerDuty schedule PPRIMARY');
    expect(fake.requests.some((r) => r.startsWith('GET /oncalls?'))).toBe(true);
    await h.slash(users.alice, `release ${id}`);
  });

  it('sends someone not on call to the approvers', async () => {
    fake.setOnCall('PPRIMARY', [email('alice')]);
    const { id, text } = await ask(users.eve, 'pager-db');
    expect(text).toContain('sent to its approvers');
    await h.approverMessage(id, users.bob);
    expect(await onCallRecorded(id)).toEqual([
      { rule: 'autoApprove[0]', schedule: 'PagerDuty schedule PPRIMARY', onCall: false },
    ]);
  });

  it('leaves the decision to people when the schedule API is down, saying why', async () => {
    // A schedule nobody asked before, so no earlier answer is cached.
    fake.setOnCall('PBACKUP', [email('alice')]);
    fake.down = true;
    const { id, text } = await ask(users.alice, 'pager-db-backup');
    expect(text).toContain('sent to its approvers');
    expect(await onCallRecorded(id)).toEqual([
      {
        rule: 'autoApprove[0]',
        schedule: 'PagerDuty schedule PBACKUP',
        unknown: expect.stringContaining('HTTP 503'),
      },
    ]);
    await h.approverMessage(id, users.bob);
  });

  it('asks Opsgenie by schedule name the same way', async () => {
    fake.setOnCall('Platform', [email('eve')]);
    const { id, text } = await ask(users.eve, 'genie-db');
    expect(text).toContain('approved automatically by the rule `autoApprove[0]`');
    await h.dmTo(users.eve, `${id}\`: you have`);
    await h.slash(users.eve, `release ${id}`);
  });
});
