import type { Octokit } from '@octokit/rest';
import { z } from 'zod';
import { InvalidInput, ProviderUnavailable } from '../app/errors.js';
import type { GrantTarget, Provider } from '../app/provider.js';
import { httpUrlSchema } from './http-url.js';

/**
 * Access as membership of a GitHub team, through the REST API: granting adds (or updates) the
 * requester's team membership, revoking removes it. `verify` counts a `pending` membership as
 * held, since it turns into access the moment it is accepted and has to be taken back all the same.
 *
 * Adding someone outside the organization to a team makes GitHub invite them into the org, and
 * org membership is access of its own (base repository permissions, internal repositories). So a
 * non-member is refused unless the resource sets `inviteToOrg: true`; then `prepare` reports
 * `{ orgMembership: 'created' }` before the grant, and revoke and verify, handed that back, take
 * back and check the org membership (or the invitation) too. Anyone in the org before the grant,
 * or invited by someone else, is never removed from it.
 *
 * The token (a fine-grained token or GitHub App token with "Members: read and write" on the
 * organization, or a classic token with `admin:org`) must be able to see the team: GitHub answers
 * 404 both for "not a member" and for "you cannot see this", so a 404 is only taken as "not a
 * member" (of the team or of the org) once the team itself has been found.
 */

/** GitHub logins: letters, digits and single inner hyphens, at most 39 characters. */
const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const loginSchema = z.string().regex(GITHUB_LOGIN, 'must be a GitHub login');

/** The provider's block under `providers:` in the policy file. */
export const githubTeamProviderConfigSchema = z.strictObject({
  type: z.literal('github-team'),
  token: z.string().min(1),
  org: z.string().regex(GITHUB_LOGIN, 'must be a GitHub organization name'),
  /** REST API root; GitHub Enterprise Server: `https://HOST/api/v3`. */
  baseUrl: httpUrlSchema.optional(),
  /** Slack user id → GitHub login. Without an entry, the email local part is tried as the login. */
  identities: z.record(z.string(), loginSchema).optional(),
  /** How long to wait for GitHub's answer; 10 s by default. */
  timeoutMs: z.number().int().min(100).max(60_000).optional(),
});
export type GithubTeamProviderConfig = z.infer<typeof githubTeamProviderConfigSchema>;

/** A resource's `grant:` block for this provider. */
export const githubTeamGrantSchema = z.strictObject({
  team: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,99}$/, 'must be a team slug (lower case, as in its URL)'),
  role: z.enum(['member', 'maintainer']).default('member'),
  /** Whether a user outside the organization may be invited into it to get the team. */
  inviteToOrg: z.boolean().default(false),
});

const membershipSchema = z.object({
  state: z.enum(['active', 'pending']),
  role: z.enum(['member', 'maintainer']),
});

const orgMembershipSchema = z.object({
  state: z.enum(['active', 'pending']),
  role: z.enum(['admin', 'member', 'billing_manager']),
});

/** What `prepare` records when the grant is to invite the user into the organization. */
const CREATED = { orgMembership: 'created' } as const;

const DEFAULT_TIMEOUT_MS = 10_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export function createGithubTeamProvider(
  config: Pick<GithubTeamProviderConfig, 'token' | 'org' | 'baseUrl' | 'timeoutMs'>,
): Provider {
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Loaded on first use: a bot with no GitHub resource never pays for Octokit's memory.
  let client: Promise<Octokit> | undefined;
  const gh = async () => {
    client ??= import('@octokit/rest').then(
      ({ Octokit }) =>
        new Octokit({
          auth: config.token,
          baseUrl: (config.baseUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
          userAgent: 'jit-bot',
          log: quiet,
        }),
    );
    return (await client).rest;
  };
  const { org } = config;
  const request = () => ({ signal: AbortSignal.timeout(timeoutMs) });

  /** The membership as GitHub has it, or null when there is none. */
  async function membershipOf(team: string, username: string) {
    const found = await github(`read the membership of ${username} in ${org}/${team}`, async () => {
      try {
        const { data } = await (await gh()).teams.getMembershipForUserInOrg({
          org,
          team_slug: team,
          username,
          request: request(),
        });
        return data;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        return null;
      }
    });
    if (found === null) {
      await expectTeamVisible(team);
      return null;
    }
    const parsed = membershipSchema.safeParse(found);
    if (!parsed.success) throw new ProviderUnavailable(`GitHub answered with an unexpected membership`);
    return parsed.data;
  }

  /** The user's org membership (`pending` while invited), or null when they are not in the org. */
  async function orgMembershipOf(team: string, username: string) {
    const found = await github(`read the membership of ${username} in ${org}`, async () => {
      try {
        const { data } = await (await gh()).orgs.getMembershipForUser({ org, username, request: request() });
        return data;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        return null;
      }
    });
    if (found === null) {
      await expectTeamVisible(team);
      return null;
    }
    const parsed = orgMembershipSchema.safeParse(found);
    if (!parsed.success) throw new ProviderUnavailable(`GitHub answered with an unexpected org membership`);
    return parsed.data;
  }

  /** Refuses a user the grant would bring into the org when the resource does not allow it. */
  async function expectMayJoin(names: ReturnType<typeof namesOf>): Promise<{ inOrg: boolean }> {
    const inOrg = (await orgMembershipOf(names.team, names.username)) !== null;
    if (!inOrg && !names.inviteToOrg) {
      throw new InvalidInput(
        `${names.username} is not a member of ${org}; the resource must set inviteToOrg: true to invite them`,
      );
    }
    return { inOrg };
  }

  /** Removes the org membership or cancels the invitation; 404 means it is gone already. */
  async function removeFromOrg(username: string): Promise<void> {
    await github(`remove ${username} from ${org}`, async () => {
      try {
        await (await gh()).orgs.removeMembershipForUser({ org, username, request: request() });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    });
  }

  /** Turns a 404 on a membership into "not a member" only when the team can be seen at all. */
  async function expectTeamVisible(team: string): Promise<void> {
    await github(`find team ${org}/${team}`, async () =>
      (await gh()).teams.getByName({ org, team_slug: team, request: request() }),
    );
  }

  return {
    type: 'github-team',

    async checkIdentity(target) {
      // A login GitHub cannot have is refused by the grant itself, with the mapping to fix.
      if (!loginSchema.safeParse(target.identity).success) return;
      await expectMayJoin(namesOf(target));
    },

    async prepare(target) {
      const { team, username, inviteToOrg } = namesOf(target);
      // Without inviteToOrg the grant refuses a non-member, so it will not create anything.
      if (!inviteToOrg) return {};
      return (await orgMembershipOf(team, username)) === null ? { ...CREATED } : {};
    },

    async grant(target) {
      const names = namesOf(target);
      const { team, role, username } = names;
      const { inOrg } = await expectMayJoin(names);
      if (!inOrg && !createsOrgMembership(target)) {
        // They left the org since `prepare` was recorded: inviting them now would leave an org
        // membership that nothing on record takes back. A retry asks `prepare` again.
        throw new ProviderUnavailable(
          `${username} is no longer in ${org} since the grant was prepared; retry`,
        );
      }
      await github(`add ${username} to ${org}/${team}`, async () =>
        (await gh()).teams.addOrUpdateMembershipForUserInOrg({
          org,
          team_slug: team,
          username,
          role,
          request: request(),
        }),
      );
    },

    async revoke(target) {
      const { team, username } = namesOf(target);
      // The org membership first: it is access of its own, and it takes the team membership
      // with it, so a team deleted meanwhile cannot keep the invitation standing.
      if (createsOrgMembership(target)) await removeFromOrg(username);
      const removed = await github(`remove ${username} from ${org}/${team}`, async () => {
        try {
          await (await gh()).teams.removeMembershipForUserInOrg({
            org,
            team_slug: team,
            username,
            request: request(),
          });
          return true;
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
          return false;
        }
      });
      if (!removed) await expectTeamVisible(team);
    },

    async verify(target) {
      const { team, role, username } = namesOf(target);
      const membership = await membershipOf(team, username);
      // A maintainer grant that GitHub holds as a plain membership is not what was granted.
      if (membership !== null && (role === 'member' || membership.role === 'maintainer')) return true;
      // The org membership we created is held until it is gone too, invitation or not.
      return createsOrgMembership(target) && (await orgMembershipOf(team, username)) !== null;
    },

    async close() {},
  };
}

/** Whether the recorded details say this grant brought the user into the organization. */
function createsOrgMembership(target: GrantTarget): boolean {
  return target.details?.orgMembership === CREATED.orgMembership;
}

function namesOf(target: GrantTarget): z.infer<typeof githubTeamGrantSchema> & { username: string } {
  const username = loginSchema.safeParse(target.identity);
  if (!username.success) {
    throw new InvalidInput(
      `${JSON.stringify(target.identity)} is not a GitHub login: map the user in the provider's identities`,
    );
  }
  const grant = githubTeamGrantSchema.safeParse(target.grant);
  if (!grant.success) {
    const issue = grant.error.issues[0];
    throw new InvalidInput(
      `grant block: ${issue?.path.join('.') || 'team'} ${issue?.message ?? 'is not valid'}`,
    );
  }
  return { ...grant.data, username: username.data };
}

async function github<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toProviderError(what, error);
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * 5xx, 429, rate limits (primary or secondary, which GitHub reports as 403) and network failures
 * (Octokit reports them as 500) are retried; any other refusal (401 bad token, 403 missing
 * permission, 404 unknown team or user, 422 not allowed) says what to fix.
 */
function toProviderError(what: string, error: unknown): Error {
  if (error instanceof InvalidInput || error instanceof ProviderUnavailable) return error;
  const status = statusOf(error);
  if (status === undefined) return error instanceof Error ? error : new Error(String(error));
  const message = messageOf(error);
  if (status >= 500 || status === 429 || status === 408 || isRateLimited(error, message)) {
    return new ProviderUnavailable(`GitHub could not ${what} for now (${status}: ${message}); retry later`);
  }
  return new InvalidInput(`GitHub refused to ${what} (${status}: ${message})`);
}

function isRateLimited(error: unknown, message: string): boolean {
  const headers = (error as { response?: { headers?: Record<string, unknown> } }).response?.headers ?? {};
  return (
    /rate limit/i.test(message) ||
    headers['retry-after'] !== undefined ||
    String(headers['x-ratelimit-remaining']) === '0'
  );
}

/** GitHub's own `message`, without the documentation link Octokit appends, kept short. */
function messageOf(error: unknown): string {
  const data = (error as { response?: { data?: unknown } }).response?.data;
  const fromBody = (data as { message?: unknown } | undefined)?.message;
  const text = typeof fromBody === 'string' ? fromBody : error instanceof Error ? error.message : 'error';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
