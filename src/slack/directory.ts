import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { Directory, SlackUser } from '../app/deps.js';
import { NotFound } from '../app/errors.js';

/** The parts of `users.info` we rely on; anything else Slack sends is ignored. */
const userInfoSchema = z.object({
  id: z.string(),
  name: z.string().default(''),
  deleted: z.boolean().default(false),
  is_bot: z.boolean().default(false),
  is_restricted: z.boolean().default(false),
  is_ultra_restricted: z.boolean().default(false),
  is_stranger: z.boolean().default(false),
  team_id: z.string().optional(),
  profile: z.object({ email: z.string().optional() }).default({}),
});

const groupUsersSchema = z.array(z.string());

interface Cached<T> {
  value: Promise<T>;
  until: number;
}

/**
 * Slack's directory with a small in-process cache: `users.info` and `usergroups.users.list` are
 * rate limited and answers change rarely. Concurrent lookups of one key share one call; failures
 * are not cached.
 */
export function createSlackDirectory(
  client: WebClient,
  options: { userTtlMs?: number; groupTtlMs?: number; now?: () => number } = {},
): Directory {
  const now = options.now ?? Date.now;
  const users = new Map<string, Cached<SlackUser>>();
  const groups = new Map<string, Cached<readonly string[]>>();
  let homeTeam: Promise<string> | null = null;

  function cached<T>(
    map: Map<string, Cached<T>>,
    key: string,
    ttl: number,
    load: () => Promise<T>,
  ): Promise<T> {
    const hit = map.get(key);
    if (hit && hit.until > now()) return hit.value;
    const value = load();
    map.set(key, { value, until: now() + ttl });
    value.catch(() => map.delete(key));
    return value;
  }

  return {
    user: (userId) =>
      cached(users, userId, options.userTtlMs ?? 5 * 60_000, async () => {
        const response = await client.users
          .info({ user: userId })
          .catch(rethrowUnknown(`Unknown Slack user ${userId}.`, 'user_not_found'));
        const info = userInfoSchema.parse(response.user);
        return {
          id: info.id,
          name: info.name,
          email: info.profile.email ?? null,
          isGuest: info.is_restricted || info.is_ultra_restricted,
          isBot: info.is_bot,
          deleted: info.deleted,
          teamId: info.team_id ?? null,
          isStranger: info.is_stranger,
        };
      }),
    groupMembers: (groupId) =>
      cached(groups, groupId, options.groupTtlMs ?? 60_000, async () => {
        const response = await client.usergroups.users
          .list({ usergroup: groupId })
          .catch(rethrowUnknown(`Unknown Slack user group ${groupId}.`, 'no_such_subteam'));
        return groupUsersSchema.parse(response.users ?? []);
      }),
    // The installation's team never changes while the token is valid: asked once, kept.
    async homeTeamId() {
      homeTeam ??= client.auth.test().then((answer) => z.string().min(1).parse(answer.team_id));
      try {
        return await homeTeam;
      } catch {
        homeTeam = null;
        return null;
      }
    },
  };
}

function rethrowUnknown(message: string, slackError: string) {
  return (error: unknown): never => {
    const code = (error as { data?: { error?: string } }).data?.error;
    if (code === slackError) throw new NotFound(message);
    throw error;
  };
}
