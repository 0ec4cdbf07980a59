import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, ProviderUnavailable } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import { createGithubTeamProvider, githubTeamProviderConfigSchema } from '../../src/providers/github-team.js';
import { type FakeGithub, startFakeGithub } from '../support/fake-github.js';

let github: FakeGithub;
let provider: Provider;

function target(identity: string, grant: Record<string, unknown> = { team: 'oncall' }): GrantTarget {
  return {
    requestId: 'JIT-GH0001',
    identity,
    userId: 'UALICE01',
    resource: 'gh-oncall',
    grant,
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

beforeAll(async () => {
  github = await startFakeGithub({ org: 'acme' });
  provider = createGithubTeamProvider({ token: github.token, org: 'acme', baseUrl: github.baseUrl });
});
afterAll(async () => {
  await github?.close();
});
beforeEach(() => {
  github.calls.length = 0;
  github.addTeam('oncall', { 'carol-ops': 'maintainer' });
  github.addUser('alice-gh');
  github.addUser('outsider', { orgMember: false });
  github.addUser('carol-ops');
});

describe('github-team provider', () => {
  it('adds the team membership, keeps the other members, and verifies it; twice is once', async () => {
    expect(await provider.verify(target('alice-gh'))).toBe(false);
    await provider.grant(target('alice-gh'));
    await provider.grant(target('alice-gh'));
    expect(github.membership('oncall', 'alice-gh')).toEqual({ role: 'member', state: 'active' });
    expect(github.membership('oncall', 'carol-ops')).toEqual({ role: 'maintainer', state: 'active' });
    expect(await provider.verify(target('alice-gh'))).toBe(true);

    const put = github.callsTo('PUT', '/memberships/alice-gh')[0];
    expect(put?.path).toBe('/api/v3/orgs/acme/teams/oncall/memberships/alice-gh');
    expect(put?.body).toEqual({ role: 'member' });
    expect(put?.authorization).toBe(`token ${github.token}`);
  });

  it('removes the membership; removing one that is gone succeeds', async () => {
    await provider.grant(target('alice-gh'));
    await provider.revoke(target('alice-gh'));
    expect(github.membership('oncall', 'alice-gh')).toBeUndefined();
    await provider.revoke(target('alice-gh'));
    expect(await provider.verify(target('alice-gh'))).toBe(false);
    expect(github.membership('oncall', 'carol-ops')).toBeDefined();
  });

  it('grants the maintainer role when asked, and a plain membership does not verify as one', async () => {
    const maintainer = target('alice-gh', { team: 'oncall', role: 'maintainer' });
    github.setMembership('oncall', 'alice-gh', { role: 'member', state: 'active' });
    expect(await provider.verify(maintainer)).toBe(false);
    await provider.grant(maintainer);
    expect(github.membership('oncall', 'alice-gh')?.role).toBe('maintainer');
    expect(await provider.verify(maintainer)).toBe(true);
  });

  it('counts a pending invitation as held, so that it is taken back too', async () => {
    const invited = target('outsider', { team: 'oncall', inviteToOrg: true });
    invited.details = await provider.prepare?.(invited);
    await provider.grant(invited);
    expect(github.membership('oncall', 'outsider')?.state).toBe('pending');
    expect(await provider.verify(invited)).toBe(true);
    await provider.revoke(invited);
    expect(github.membership('oncall', 'outsider')).toBeUndefined();
    expect(await provider.verify(invited)).toBe(false);
  });

  it('does not take a 404 for "not a member" when the team itself cannot be found', async () => {
    github.removeTeam('oncall');
    await expect(provider.revoke(target('alice-gh'))).rejects.toThrow(InvalidInput);
    await expect(provider.verify(target('alice-gh'))).rejects.toThrow(/find team acme\/oncall \(404/);
    await expect(provider.grant(target('alice-gh'))).rejects.toThrow(InvalidInput);
  });

  it('refuses for good on a bad token, a missing permission, an unknown user or a login GitHub cannot have', async () => {
    const badToken = createGithubTeamProvider({ token: 'ghp_wrong', org: 'acme', baseUrl: github.baseUrl });
    await expect(badToken.grant(target('alice-gh'))).rejects.toThrow(/401: Bad credentials/);
    await expect(badToken.grant(target('alice-gh'))).rejects.toBeInstanceOf(InvalidInput);

    github.failNext({ status: 403, message: 'You must be an organization owner or team maintainer' });
    const refused = provider.grant(target('alice-gh'));
    await expect(refused).rejects.toBeInstanceOf(InvalidInput);
    await expect(refused).rejects.toThrow(/403: You must be an organization owner/);

    await expect(provider.grant(target('nobody-here'))).rejects.toBeInstanceOf(InvalidInput);
    await expect(provider.grant(target('alice.smith'))).rejects.toThrow(/not a GitHub login/);
    expect(github.callsTo('PUT', 'alice.smith')).toEqual([]);
  });

  it('retries server errors, rate limits (secondary ones come as 403) and an unreachable API', async () => {
    github.failNext({ status: 502, message: 'Server Error' });
    await expect(provider.grant(target('alice-gh'))).rejects.toBeInstanceOf(ProviderUnavailable);

    github.failNext({ status: 403, message: 'You have exceeded a secondary rate limit' });
    await expect(provider.revoke(target('alice-gh'))).rejects.toBeInstanceOf(ProviderUnavailable);

    github.failNext({ status: 429, message: 'Too many', headers: { 'retry-after': '30' } });
    await expect(provider.verify(target('alice-gh'))).rejects.toBeInstanceOf(ProviderUnavailable);

    const nowhere = createGithubTeamProvider({ token: 't', org: 'acme', baseUrl: 'http://127.0.0.1:9/api' });
    await expect(nowhere.grant(target('alice-gh'))).rejects.toBeInstanceOf(ProviderUnavailable);
    expect(github.membership('oncall', 'alice-gh')).toBeUndefined();
  });

  it('validates its policy block: org, base URL and identities', () => {
    const ok = githubTeamProviderConfigSchema.safeParse({
      type: 'github-team',
      token: 'ghp_x',
      org: 'acme',
      baseUrl: 'https://github.example.com/api/v3',
      identities: { UALICE01: 'alice-gh' },
    });
    expect(ok.success).toBe(true);
    const bad = githubTeamProviderConfigSchema.safeParse({
      type: 'github-team',
      token: 'ghp_x',
      org: 'acme',
      baseUrl: 'ftp://github.example.com',
      identities: { UALICE01: 'alice.smith' },
    });
    expect(bad.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'baseUrl',
      'identities.UALICE01',
    ]);
  });
});
