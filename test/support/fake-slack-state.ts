import { randomBytes } from 'node:crypto';
import { WORKSPACE } from './slack-workspace.js';

/** What the fake workspace knows: seeded people and groups, posted messages, opened views. */

export interface FakeUserSeed {
  id: string;
  name?: string;
  realName?: string;
  email?: string;
  isRestricted?: boolean;
  isUltraRestricted?: boolean;
  isBot?: boolean;
  /** Deactivated account: users.info still answers, with `deleted: true`. */
  deleted?: boolean;
  tz?: string;
  /** Another team's id: a Slack Connect external as users.info shows one. */
  teamId?: string;
  /** users.info `is_stranger`. */
  isStranger?: boolean;
}

export interface FakeGroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown;
  thread_ts?: string;
}

export type StoredView = Record<string, unknown> & { id: string; hash: string; type: string };

const DEFAULT_TZ = 'America/New_York';

export class FakeSlackState {
  readonly users = new Map<string, FakeUserSeed>();
  readonly groups = new Map<string, FakeGroup>();
  readonly messages = new Map<string, StoredMessage>();
  readonly views = new Map<string, StoredView>();
  readonly homeViews = new Map<string, string>();
  readonly exchangedTriggers = new Set<string>();
  private lastTsMicros = 1_700_000_000_000_000n;
  private viewCount = 0;

  constructor(readonly triggerTtlMs: number) {
    this.users.set(WORKSPACE.botUserId, {
      id: WORKSPACE.botUserId,
      name: WORKSPACE.botName,
      isBot: true,
    });
  }

  /** Message timestamps are unique and increasing, like Slack's. */
  nextTs(): string {
    this.lastTsMicros += 100n;
    const seconds = this.lastTsMicros / 1_000_000n;
    const micros = this.lastTsMicros % 1_000_000n;
    return `${seconds}.${micros.toString().padStart(6, '0')}`;
  }

  nextViewId(): string {
    this.viewCount += 1;
    return `V${String(this.viewCount).padStart(10, '0')}`;
  }

  newViewHash(): string {
    return `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`;
  }

  messageKey(channel: string, ts: string): string {
    return `${channel}:${ts}`;
  }

  userObject(seed: FakeUserSeed): Record<string, unknown> {
    const name = seed.name ?? seed.id.toLowerCase();
    const realName = seed.realName ?? name;
    const tz = seed.tz ?? DEFAULT_TZ;
    return {
      id: seed.id,
      team_id: seed.teamId ?? WORKSPACE.teamId,
      ...(seed.isStranger ? { is_stranger: true } : {}),
      name,
      deleted: seed.deleted ?? false,
      real_name: realName,
      tz,
      tz_offset: tzOffsetSeconds(tz),
      is_admin: false,
      is_owner: false,
      is_bot: seed.isBot ?? false,
      is_app_user: false,
      is_restricted: seed.isRestricted ?? seed.isUltraRestricted ?? false,
      is_ultra_restricted: seed.isUltraRestricted ?? false,
      profile: {
        email: seed.email,
        real_name: realName,
        display_name: name,
        ...(seed.isBot ? { bot_id: WORKSPACE.botId } : {}),
      },
    };
  }

  groupObject(group: FakeGroup, includeUsers: boolean): Record<string, unknown> {
    return {
      id: group.id,
      team_id: WORKSPACE.teamId,
      is_usergroup: true,
      name: group.name,
      handle: group.handle,
      description: '',
      date_delete: 0,
      user_count: group.users.length,
      ...(includeUsers ? { users: [...group.users] } : {}),
    };
  }
}

function tzOffsetSeconds(tz: string): number {
  const label = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' })
    .formatToParts(new Date())
    .find((part) => part.type === 'timeZoneName')?.value;
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(label ?? '');
  if (!match) return 0;
  const seconds = Number(match[2]) * 3600 + Number(match[3]) * 60;
  return match[1] === '-' ? -seconds : seconds;
}
