import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, ProviderUnavailable } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import {
  createSlackUsergroupProvider,
  slackUsergroupProviderConfigSchema,
} from '../../src/providers/slack-usergroup.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';

let fake: FakeSlack;
let provider: Provider;

const noRetries = { retryConfig: { retries: 0 }, rejectRateLimitedCalls: true };

function target(userId: string, usergroup = 'S0ONCALL'): GrantTarget {
  return {
    requestId: 'JIT-SG0001',
    identity: 'ignored-email-local-part',
    userId,
    resource: 'oncall-group',
    grant: { usergroup },
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

beforeAll(async () => {
  fake = await startFakeSlack();
  for (const id of ['UALICE01', 'UBOB0001', 'UCAROL01', 'UDAVE001']) fake.addUser({ id });
  fake.addUser({ id: 'UGUEST01', isRestricted: true });
  provider = createSlackUsergroupProvider(
    {},
    { token: fake.token, apiUrl: fake.apiUrl, clientOptions: noRetries },
  );
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => {
  fake.setGroup('S0ONCALL', ['UCAROL01']);
});

describe('slack-usergroup provider', () => {
  it('adds the requester and keeps the other members; twice is once; verify sees it', async () => {
    expect(await provider.verify(target('UALICE01'))).toBe(false);
    await provider.grant(target('UALICE01'));
    await provider.grant(target('UALICE01'));
    expect(fake.groupMembers('S0ONCALL')).toEqual(['UCAROL01', 'UALICE01']);
    expect(await provider.verify(target('UALICE01'))).toBe(true);
    // The second grant found the user there and wrote nothing.
    expect(fake.callsTo('usergroups.users.update')).toHaveLength(1);
  });

  it('removes only the requester; removing someone not there succeeds', async () => {
    fake.setGroup('S0ONCALL', ['UCAROL01', 'UALICE01', 'UBOB0001']);
    await provider.revoke(target('UALICE01'));
    expect(fake.groupMembers('S0ONCALL')).toEqual(['UCAROL01', 'UBOB0001']);
    await provider.revoke(target('UALICE01'));
    expect(await provider.verify(target('UALICE01'))).toBe(false);
  });

  it('loses no member when grants and revokes on one group run at once', async () => {
    fake.setGroup('S0ONCALL', ['UCAROL01', 'UDAVE001']);
    await Promise.all([
      provider.grant(target('UALICE01')),
      provider.grant(target('UBOB0001')),
      provider.revoke(target('UDAVE001')),
    ]);
    expect(new Set(fake.groupMembers('S0ONCALL'))).toEqual(new Set(['UCAROL01', 'UALICE01', 'UBOB0001']));
  });

  it('refuses to remove the last member (Slack cannot empty a group), saying what to do', async () => {
    fake.setGroup('S0ONCALL', ['UALICE01']);
    const refused = provider.revoke(target('UALICE01'));
    await expect(refused).rejects.toBeInstanceOf(InvalidInput);
    await expect(refused).rejects.toThrow(/last member of Slack user group S0ONCALL.*add a permanent member/);
    expect(fake.groupMembers('S0ONCALL')).toEqual(['UALICE01']);
  });

  it("maps Slack's refusals: for good (unknown group, guest, no permission, bad token) or for now", async () => {
    await expect(provider.grant(target('UALICE01', 'S0NOSUCH'))).rejects.toThrow(
      /usergroups.users.list S0NOSUCH: no_such_subteam/,
    );
    await expect(provider.grant(target('UGUEST01'))).rejects.toThrow(/invalid_users/);
    fake.failNext('usergroups.users.update', { error: 'permission_denied' });
    await expect(provider.grant(target('UALICE01'))).rejects.toBeInstanceOf(InvalidInput);
    const wrongToken = createSlackUsergroupProvider(
      { token: 'xoxb-not-the-right-one' },
      { token: fake.token, apiUrl: fake.apiUrl, clientOptions: noRetries },
    );
    await expect(wrongToken.verify(target('UALICE01'))).rejects.toThrow(/invalid_auth/);

    fake.failNext('usergroups.users.list', { retryAfter: 30 });
    await expect(provider.grant(target('UALICE01'))).rejects.toBeInstanceOf(ProviderUnavailable);
    fake.failNext('usergroups.users.update', { status: 503 });
    await expect(provider.grant(target('UALICE01'))).rejects.toBeInstanceOf(ProviderUnavailable);
    fake.failNext('usergroups.users.update', { error: 'internal_error' });
    await expect(provider.grant(target('UALICE01'))).rejects.toBeInstanceOf(ProviderUnavailable);
    expect(fake.groupMembers('S0ONCALL')).toEqual(['UCAROL01']);
  });

  it('needs the Slack user id, not the email local part', async () => {
    await expect(provider.grant({ ...target('UALICE01'), userId: undefined })).rejects.toThrow(
      /is not a Slack user id/,
    );
  });

  it('validates its policy block: an optional xoxb-/xoxp- token and no identities map', () => {
    const parsed = slackUsergroupProviderConfigSchema.safeParse({
      type: 'slack-usergroup',
      token: 'xapp-1-nope',
      identities: { UALICE01: 'alice' },
    });
    expect(parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'token: must be a Slack bot (xoxb-) or user (xoxp-) token',
      'identities: is not used by slack-usergroup providers: the identity is the Slack account',
    ]);
    expect(slackUsergroupProviderConfigSchema.safeParse({ type: 'slack-usergroup' }).success).toBe(true);
  });
});
