import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, ProviderUnavailable } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import { createGithubTeamProvider, githubTeamGrantSchema } from '../../src/providers/github-team.js';
import { type FakeGithub, startFakeGithub } from '../support/fake-github.js';

/**
 * Organization membership: a team grant must not bring someone into the org unless the resource
 * says so, and what it brought in is taken back with the access — but never an existing member.
 */

let github: FakeGithub;
let provider: Provider;

const inviting = { team: 'oncall', inviteToOrg: true };

function target(identity: string, grant: Record<string, unknown> = { team: 'oncall' }): GrantTarget {
  return {
    requestId: 'JIT-GH0002',
    identity,
    userId: 'UALICE01',
    resource: 'gh-oncall',
    grant,
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

/** What the app does: ask `prepare`, record it merged over earlier attempts, hand it back. */
async function prepared(base: GrantTarget): Promise<GrantTarget> {
  if (!provider.prepare) throw new Error('the provider has no prepare');
  const details = { ...base.details, ...(await provider.prepare(base)) };
  return { ...base, details };
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

describe('github-team provider and organization membership', () => {
  it('refuses a user outside the org unless the resource sets inviteToOrg, and creates nothing', async () => {
    const plain = target('outsider');
    const refusal =
      /outsider is not a member of acme; the resource must set inviteToOrg: true to invite them/;
    await expect(provider.grant(plain)).rejects.toBeInstanceOf(InvalidInput);
    await expect(provider.grant(plain)).rejects.toThrow(refusal);
    await expect(provider.checkIdentity?.(plain)).rejects.toThrow(refusal);
    expect(await provider.prepare?.(plain)).toEqual({});

    expect(github.callsTo('PUT')).toEqual([]);
    expect(github.membership('oncall', 'outsider')).toBeUndefined();
    expect(github.orgMembership('outsider')).toBeUndefined();
    expect(github.callsTo('GET', '/orgs/acme/memberships/outsider').length).toBeGreaterThan(0);
  });

  it('invites with inviteToOrg; revoke takes back team and invitation; verify holds until both are gone', async () => {
    const granting = await prepared(target('outsider', inviting));
    expect(granting.details).toEqual({ orgMembership: 'created' });
    await expect(provider.checkIdentity?.(granting)).resolves.toBeUndefined();
    await provider.grant(granting);
    expect(github.membership('oncall', 'outsider')).toEqual({ role: 'member', state: 'pending' });
    expect(github.orgMembership('outsider')).toEqual({ role: 'member', state: 'pending' });
    expect(await provider.verify(granting)).toBe(true);

    // A second attempt (after a crash, say) sees the invitation; the record keeps "created".
    const again = await prepared(granting);
    expect(again.details).toEqual({ orgMembership: 'created' });
    await provider.grant(again);

    // The team membership gone behind our back: the invitation alone still lets them in.
    github.setMembership('oncall', 'outsider', undefined);
    expect(await provider.verify(again)).toBe(true);

    await provider.revoke(again);
    expect(github.orgMembership('outsider')).toBeUndefined();
    expect(github.membership('oncall', 'outsider')).toBeUndefined();
    expect(github.callsTo('DELETE', '/orgs/acme/memberships/outsider')).toHaveLength(1);
    expect(await provider.verify(again)).toBe(false);
    await provider.revoke(again);
    expect(await provider.verify(again)).toBe(false);
    expect(github.membership('oncall', 'carol-ops')).toBeDefined();
  });

  it('takes back an accepted invitation: the user leaves the org with the team', async () => {
    const granting = await prepared(target('outsider', inviting));
    await provider.grant(granting);
    github.acceptInvitation('outsider');
    expect(github.membership('oncall', 'outsider')).toEqual({ role: 'member', state: 'active' });
    await provider.revoke(granting);
    expect(github.orgMembership('outsider')).toBeUndefined();
    expect(github.membership('oncall', 'outsider')).toBeUndefined();
    expect(await provider.verify(granting)).toBe(false);
  });

  it('never removes a user who was in the org (or invited) before the grant', async () => {
    github.addUser('alice-gh', { orgRole: 'admin' });
    const member = await prepared(target('alice-gh', inviting));
    expect(member.details).toEqual({});
    await provider.grant(member);
    await provider.revoke(member);
    await provider.revoke(member);
    expect(github.membership('oncall', 'alice-gh')).toBeUndefined();
    expect(github.orgMembership('alice-gh')).toEqual({ role: 'admin', state: 'active' });

    // Invited by someone else: that invitation is theirs to keep, inviteToOrg or not.
    github.setOrgMembership('outsider', { role: 'member', state: 'pending' });
    const invited = await prepared(target('outsider'));
    expect(invited.details).toEqual({});
    await provider.grant(invited);
    expect(github.membership('oncall', 'outsider')?.state).toBe('pending');
    await provider.revoke(invited);
    expect(github.membership('oncall', 'outsider')).toBeUndefined();
    expect(github.orgMembership('outsider')).toEqual({ role: 'member', state: 'pending' });
    expect(github.callsTo('DELETE', '/orgs/acme/memberships/')).toEqual([]);
  });

  it('does not invite a user who left the org after prepare: nothing recorded would take it back', async () => {
    const granting = await prepared(target('alice-gh', inviting));
    expect(granting.details).toEqual({});
    github.setOrgMembership('alice-gh', undefined);
    await expect(provider.grant(granting)).rejects.toBeInstanceOf(ProviderUnavailable);
    expect(github.callsTo('PUT')).toEqual([]);
    // The retry asks prepare again, which now records the invitation.
    expect((await prepared(granting)).details).toEqual({ orgMembership: 'created' });
  });

  it('retries a failed removal from the org and does not read an unseen team as "not a member"', async () => {
    const granting = await prepared(target('outsider', inviting));
    await provider.grant(granting);
    github.failNext({ status: 502, message: 'Server Error' });
    await expect(provider.revoke(granting)).rejects.toBeInstanceOf(ProviderUnavailable);
    expect(await provider.verify(granting)).toBe(true);
    await provider.revoke(granting);
    expect(github.orgMembership('outsider')).toBeUndefined();

    github.removeTeam('oncall');
    github.setOrgMembership('alice-gh', undefined);
    await expect(provider.prepare?.(target('alice-gh', inviting))).rejects.toThrow(/find team acme\/oncall/);
  });

  it('reads inviteToOrg from the grant block, false unless set', () => {
    expect(githubTeamGrantSchema.parse({ team: 'oncall' })).toEqual({
      team: 'oncall',
      role: 'member',
      inviteToOrg: false,
    });
    expect(githubTeamGrantSchema.safeParse({ team: 'oncall', inviteToOrg: 'yes' }).success).toBe(false);
  });
});
