import { ErrorCode, LogLevel, WebClient, type WebClientOptions } from '@slack/web-api';
import { z } from 'zod';
import { InvalidInput, ProviderUnavailable } from '../app/errors.js';
import type { GrantTarget, Provider } from '../app/provider.js';

/**
 * Access as membership of a Slack user group: the requester is added to the group for the
 * grant and removed at its end; everyone else in the group stays.
 *
 * `usergroups.users.update` replaces the whole member list, so every change is read, modify,
 * write. Changes to one group are serialised within this process and checked by reading the list
 * again; two processes changing one group at the same moment can still overwrite each other,
 * which the re-check catches for the change it made and drift detection for the rest. Slack
 * refuses to empty a group: removing its last member fails with a message saying to keep a
 * permanent member in every group the bot hands out, and the revoke keeps retrying (and
 * alerting) until one is added.
 */

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** The provider's block under `providers:` in the policy file. */
export const slackUsergroupProviderConfigSchema = z.strictObject({
  type: z.literal('slack-usergroup'),
  /** Defaults to the bot's own token; it needs `usergroups:read` and `usergroups:write`. */
  // A refinement, not a pattern, so the JSON Schema does not flag `${VAR}` in editors.
  token: z
    .string()
    .refine((token) => /^xox[bp]-/.test(token), 'must be a Slack bot (xoxb-) or user (xoxp-) token')
    .optional(),
  identities: z
    .never({ error: 'is not used by slack-usergroup providers: the identity is the Slack account' })
    .optional(),
});
export type SlackUsergroupProviderConfig = z.infer<typeof slackUsergroupProviderConfigSchema>;

/** A resource's `grant:` block for this provider. */
export const slackUsergroupGrantSchema = z.strictObject({
  usergroup: z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id (S…)'),
});

export interface SlackUsergroupProviderOptions {
  /** The token to use when the policy file names none: the bot's. */
  token: string;
  /** `SLACK_API_URL`. */
  apiUrl: string;
  clientOptions?: WebClientOptions;
}

const membersSchema = z.object({ users: z.array(z.string()) });

/** Rounds of read, write, read before giving up on a group that keeps changing under us. */
const MAX_ROUNDS = 3;

/** Slack errors that no retry will fix; anything else (rate limits, outages) is retried. */
const PERMANENT_ERRORS = new Set([
  'no_such_subteam',
  'invalid_users',
  'failed_for_some_users',
  'no_users_provided',
  'permission_denied',
  'missing_scope',
  'not_allowed_token_type',
  'plan_upgrade_required',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'access_denied',
  'invalid_arguments',
]);

/** Pending changes per user group in this process, so two of them never interleave. */
const groupLocks = new Map<string, Promise<unknown>>();

export function createSlackUsergroupProvider(
  config: Pick<SlackUsergroupProviderConfig, 'token'>,
  options: SlackUsergroupProviderOptions,
): Provider {
  const client = new WebClient(config.token ?? options.token, {
    slackApiUrl: options.apiUrl,
    logLevel: LogLevel.ERROR,
    timeout: 10_000,
    // The grant and revoke jobs retry with backoff; waiting out a rate limit here would hold a
    // worker for as long as Slack asks.
    retryConfig: { retries: 1 },
    rejectRateLimitedCalls: true,
    ...options.clientOptions,
  });

  async function members(usergroup: string): Promise<string[]> {
    const response = await slack(`usergroups.users.list ${usergroup}`, () =>
      client.usergroups.users.list({ usergroup }),
    );
    const parsed = membersSchema.safeParse(response);
    if (!parsed.success)
      throw new ProviderUnavailable(`usergroups.users.list ${usergroup}: unexpected answer`);
    return parsed.data.users;
  }

  /** Writes the list Slack should have, then reads it back until the user's membership is `want`. */
  async function converge(usergroup: string, user: string, want: boolean): Promise<void> {
    await serialised(usergroup, async () => {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const current = await members(usergroup);
        if (current.includes(user) === want) return;
        const next = want ? [...current, user] : current.filter((member) => member !== user);
        if (next.length === 0) {
          throw new InvalidInput(
            `${user} is the last member of Slack user group ${usergroup}, and Slack cannot empty a ` +
              'group: add a permanent member to it, and the revoke will go through',
          );
        }
        await slack(`usergroups.users.update ${usergroup}`, () =>
          client.usergroups.users.update({ usergroup, users: next.join(',') }),
        );
      }
      const final = await members(usergroup);
      if (final.includes(user) !== want) {
        throw new ProviderUnavailable(`Slack user group ${usergroup} kept changing while being updated`);
      }
    });
  }

  return {
    type: 'slack-usergroup',

    async grant(target) {
      const { usergroup, user } = namesOf(target);
      await converge(usergroup, user, true);
    },

    async revoke(target) {
      const { usergroup, user } = namesOf(target);
      await converge(usergroup, user, false);
    },

    async verify(target) {
      const { usergroup, user } = namesOf(target);
      return (await members(usergroup)).includes(user);
    },

    async close() {},
  };
}

function namesOf(target: GrantTarget): { usergroup: string; user: string } {
  const user = target.userId;
  if (!user || !SLACK_USER_ID.test(user)) {
    throw new InvalidInput(`${JSON.stringify(user ?? '')} is not a Slack user id`);
  }
  const grant = slackUsergroupGrantSchema.safeParse(target.grant);
  if (!grant.success) {
    throw new InvalidInput(`grant block: usergroup ${grant.error.issues[0]?.message ?? 'is not valid'}`);
  }
  return { usergroup: grant.data.usergroup, user };
}

function serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = groupLocks.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.catch(() => undefined);
  groupLocks.set(key, tail);
  void tail.then(() => {
    if (groupLocks.get(key) === tail) groupLocks.delete(key);
  });
  return run;
}

/** Runs one Web API call and turns its failure into a provider error. */
async function slack<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toProviderError(what, error);
  }
}

function toProviderError(what: string, error: unknown): Error {
  const failure = error as { code?: string; data?: { error?: unknown }; statusCode?: number };
  if (failure.code === ErrorCode.PlatformError) {
    const code = String(failure.data?.error ?? 'unknown_error');
    if (PERMANENT_ERRORS.has(code)) return new InvalidInput(`Slack refused ${what}: ${code}`);
    return new ProviderUnavailable(`Slack refused ${what} for now: ${code}; retry later`);
  }
  if (failure.code === ErrorCode.RateLimitedError) {
    return new ProviderUnavailable(`Slack rate-limited ${what}; retry later`);
  }
  if (failure.code === ErrorCode.HTTPError) {
    return new ProviderUnavailable(`Slack answered ${what} with HTTP ${failure.statusCode}; retry later`);
  }
  if (failure.code === ErrorCode.RequestError) {
    return new ProviderUnavailable(`Slack could not be reached for ${what}; retry later`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
