import { Octokit } from '@octokit/rest';
import { z } from 'zod';
import { InvalidInput, ProviderUnavailable } from '../app/errors.js';
import { httpUrlSchema } from './http-url.js';
import type { GrantTarget, Provider } from './provider.js';

/**
 * Access as membership of a GitHub team, through the REST API: granting adds (or updates) the
 * requester's team membership, revoking removes it. A user who is not in the organization yet
 * gets an invitation, and GitHub reports the membership as `pending` until they accept; `verify`
 * counts a pending membership as held, since it turns into access the moment it is accepted and
 * has to be taken back all the same.
 *
 * The token (a fine-grained token or GitHub App token with "Members: read and write" on the
 * organization, or a classic token with `admin:org`) must be able to see the team: GitHub answers
 * 404 both for "not a member" and for "you cannot see this", so a 404 is only taken as "not a
 * member" once the team itself has been found.
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
});

const membershipSchema = z.object({
  state: z.enum(['active', 'pending']),
  role: z.enum(['member', 'maintainer']),
});

const DEFAULT_TIMEOUT_MS = 10_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export function createGithubTeamProvider(
  config: Pick<GithubTeamProviderConfig, 'token' | 'org' | 'baseUrl' | 'timeoutMs'>,
): Provider {
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const octokit = new Octokit({
    auth: config.token,
    baseUrl: (config.baseUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: 'jit-bot',
    log: quiet,
  });
  const { org } = config;
  const request = () => ({ signal: AbortSignal.timeout(timeoutMs) });

  /** The membership as GitHub has it, or null when there is none. */
  async function membershipOf(team: string, username: string) {
    const found = await github(`read the membership of ${username} in ${org}/${team}`, async () => {
      try {
        const { data } = await octokit.rest.teams.getMembershipForUserInOrg({
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

  /** Turns a 404 on a membership into "not a member" only when the team can be seen at all. */
  async function expectTeamVisible(team: string): Promise<void> {
    await github(`find team ${org}/${team}`, () =>
      octokit.rest.teams.getByName({ org, team_slug: team, request: request() }),
    );
  }

  return {
    type: 'github-team',

    async grant(target) {
      const { team, role, username } = namesOf(target);
      await github(`add ${username} to ${org}/${team}`, () =>
        octokit.rest.teams.addOrUpdateMembershipForUserInOrg({
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
      const removed = await github(`remove ${username} from ${org}/${team}`, async () => {
        try {
          await octokit.rest.teams.removeMembershipForUserInOrg({
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
      if (membership === null) return false;
      // A maintainer grant that GitHub holds as a plain membership is not what was granted.
      return role === 'member' || membership.role === 'maintainer';
    },

    async close() {},
  };
}

function namesOf(target: GrantTarget): { team: string; role: 'member' | 'maintainer'; username: string } {
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
