import { blockKitViolations, viewViolations } from './block-kit-limits.js';
import type { FakeSlackState, StoredView } from './fake-slack-state.js';
import { TRIGGER_ID_FORMAT, triggerIssuedAt, WORKSPACE } from './slack-workspace.js';

/**
 * The Web API methods the bot uses, answering with the arguments Slack checks and the error
 * codes Slack documents. Arguments arrive already decoded: form fields as strings, `blocks` and
 * `view` parsed from JSON (left as a string when the JSON was malformed).
 */

export type MethodResult = { ok: boolean; error?: string } & Record<string, unknown>;
type Args = Record<string, unknown>;
type MethodHandler = (args: Args, state: FakeSlackState) => MethodResult;

export function fail(error: string, messages?: string[]): MethodResult {
  return messages ? { ok: false, error, response_metadata: { messages } } : { ok: false, error };
}

function str(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function flag(args: Args, key: string): boolean {
  return args[key] === true || args[key] === 'true' || args[key] === '1';
}

function missing(field: string): MethodResult {
  return fail('invalid_arguments', [`[ERROR] missing required field: ${field}`]);
}

/** A user id used as a channel means the DM with that user, as `conversations.open` returns. */
export function resolveChannel(channel: string): string {
  return /^[UW]/.test(channel) ? `D${channel}` : channel;
}

function blocksError(blocks: unknown): MethodResult | undefined {
  if (blocks === undefined) return undefined;
  if (typeof blocks === 'string') return fail('invalid_blocks_format');
  const violations = blockKitViolations(blocks, 'message');
  return violations.length > 0 ? fail('invalid_blocks', violations) : undefined;
}

function hasContent(args: Args): boolean {
  const blocks = args.blocks;
  return str(args, 'text') !== undefined || (Array.isArray(blocks) && blocks.length > 0);
}

function botMessage(ts: string, text: string, blocks: unknown): Record<string, unknown> {
  return {
    type: 'message',
    user: WORKSPACE.botUserId,
    bot_id: WORKSPACE.botId,
    app_id: WORKSPACE.apiAppId,
    team: WORKSPACE.teamId,
    ts,
    text,
    ...(blocks !== undefined ? { blocks } : {}),
  };
}

/** Slack truncates message text rather than rejecting it. */
const MAX_TEXT = 40_000;

function postMessage(args: Args, state: FakeSlackState): MethodResult {
  const target = str(args, 'channel');
  if (!target) return fail('channel_not_found');
  const invalid = blocksError(args.blocks);
  if (invalid) return invalid;
  if (!hasContent(args) && args.attachments === undefined) return fail('no_text');
  const channel = resolveChannel(target);
  const ts = state.nextTs();
  const text = (str(args, 'text') ?? '').slice(0, MAX_TEXT);
  const threadTs = str(args, 'thread_ts');
  state.messages.set(state.messageKey(channel, ts), {
    channel,
    ts,
    text,
    blocks: args.blocks,
    ...(threadTs ? { thread_ts: threadTs } : {}),
  });
  return { ok: true, channel, ts, message: botMessage(ts, text, args.blocks) };
}

function updateMessage(args: Args, state: FakeSlackState): MethodResult {
  const target = str(args, 'channel');
  if (!target) return fail('channel_not_found');
  const ts = str(args, 'ts');
  const channel = resolveChannel(target);
  const stored = ts ? state.messages.get(state.messageKey(channel, ts)) : undefined;
  if (!ts || !stored) return fail('message_not_found');
  const invalid = blocksError(args.blocks);
  if (invalid) return invalid;
  if (!hasContent(args)) return fail('no_text');
  stored.text = (str(args, 'text') ?? '').slice(0, MAX_TEXT);
  if (args.blocks !== undefined) stored.blocks = args.blocks;
  return {
    ok: true,
    channel,
    ts,
    text: stored.text,
    message: botMessage(ts, stored.text, stored.blocks),
  };
}

/** chat.delete: a bot may delete its own messages; a deleted one is gone for chat.update too. */
function deleteMessage(args: Args, state: FakeSlackState): MethodResult {
  const target = str(args, 'channel');
  if (!target) return fail('channel_not_found');
  const ts = str(args, 'ts');
  const channel = resolveChannel(target);
  const key = ts ? state.messageKey(channel, ts) : undefined;
  if (!ts || !key || !state.messages.has(key)) return fail('message_not_found');
  state.messages.delete(key);
  return { ok: true, channel, ts };
}

function postEphemeral(args: Args, state: FakeSlackState): MethodResult {
  if (!str(args, 'channel')) return fail('channel_not_found');
  if (!str(args, 'user')) return missing('user');
  const invalid = blocksError(args.blocks);
  if (invalid) return invalid;
  if (!hasContent(args)) return fail('no_text');
  return { ok: true, message_ts: state.nextTs() };
}

function openConversation(args: Args): MethodResult {
  const users = (str(args, 'users') ?? '').split(',').filter((u) => u.trim() !== '');
  const first = users[0];
  if (first === undefined) return fail('users_list_not_supplied');
  if (users.length > 8) return fail('too_many_users');
  const id = users.length === 1 ? `D${first.trim()}` : `G${users.map((u) => u.trim()).join('')}`;
  return { ok: true, channel: { id } };
}

function viewError(view: unknown, type: 'modal' | 'home'): MethodResult | undefined {
  if (view === undefined) return missing('view');
  if (typeof view === 'string')
    return fail('invalid_arguments', ['[ERROR] invalid json [json-pointer:/view]']);
  const violations = viewViolations(view, type);
  return violations.length > 0 ? fail('invalid_arguments', violations) : undefined;
}

function exchangeTrigger(args: Args, state: FakeSlackState): MethodResult | undefined {
  const trigger = str(args, 'trigger_id');
  if (!trigger) return missing('trigger_id');
  if (!TRIGGER_ID_FORMAT.test(trigger)) return fail('invalid_trigger_id');
  if (state.exchangedTriggers.has(trigger)) return fail('exchanged_trigger_id');
  const issuedAt = triggerIssuedAt(trigger);
  if (issuedAt !== undefined && Date.now() - issuedAt > state.triggerTtlMs) {
    return fail('expired_trigger_id');
  }
  state.exchangedTriggers.add(trigger);
  return undefined;
}

function storeView(state: FakeSlackState, view: Args, id: string, rootId: string): StoredView {
  const stored: StoredView = {
    close: null,
    submit: null,
    private_metadata: '',
    callback_id: '',
    external_id: '',
    clear_on_close: false,
    notify_on_close: false,
    ...view,
    id,
    team_id: WORKSPACE.teamId,
    type: String(view.type),
    state: { values: {} },
    hash: state.newViewHash(),
    root_view_id: rootId,
    previous_view_id: null,
    app_id: WORKSPACE.apiAppId,
    bot_id: WORKSPACE.botId,
  };
  state.views.set(id, stored);
  return stored;
}

function openView(args: Args, state: FakeSlackState): MethodResult {
  const problem = viewError(args.view, 'modal') ?? exchangeTrigger(args, state);
  if (problem) return problem;
  const id = state.nextViewId();
  return { ok: true, view: storeView(state, args.view as Args, id, id) };
}

function findView(args: Args, state: FakeSlackState): StoredView | undefined {
  const viewId = str(args, 'view_id');
  if (viewId) return state.views.get(viewId);
  const externalId = str(args, 'external_id');
  return [...state.views.values()].find((v) => externalId && v.external_id === externalId);
}

function updateView(args: Args, state: FakeSlackState): MethodResult {
  if (!str(args, 'view_id') && !str(args, 'external_id')) return missing('view_id');
  const existing = findView(args, state);
  if (!existing) return fail('not_found');
  const problem = viewError(args.view, existing.type === 'home' ? 'home' : 'modal');
  if (problem) return problem;
  const hash = str(args, 'hash');
  if (hash && hash !== existing.hash) return fail('hash_conflict');
  const rootId = String(existing.root_view_id ?? existing.id);
  return { ok: true, view: storeView(state, args.view as Args, existing.id, rootId) };
}

function publishView(args: Args, state: FakeSlackState): MethodResult {
  const userId = str(args, 'user_id');
  if (!userId) return missing('user_id');
  const problem = viewError(args.view, 'home');
  if (problem) return problem;
  const existingId = state.homeViews.get(userId);
  const hash = str(args, 'hash');
  if (hash && existingId && hash !== state.views.get(existingId)?.hash) return fail('hash_conflict');
  const id = existingId ?? state.nextViewId();
  state.homeViews.set(userId, id);
  return { ok: true, view: storeView(state, args.view as Args, id, id) };
}

function userInfo(args: Args, state: FakeSlackState): MethodResult {
  const seed = state.users.get(str(args, 'user') ?? '');
  return seed ? { ok: true, user: state.userObject(seed) } : fail('user_not_found');
}

function lookupByEmail(args: Args, state: FakeSlackState): MethodResult {
  const email = str(args, 'email')?.toLowerCase();
  const seed = [...state.users.values()].find((u) => email && u.email?.toLowerCase() === email);
  return seed ? { ok: true, user: state.userObject(seed) } : fail('users_not_found');
}

function listGroups(args: Args, state: FakeSlackState): MethodResult {
  const includeUsers = flag(args, 'include_users');
  const usergroups = [...state.groups.values()].map((g) => state.groupObject(g, includeUsers));
  return { ok: true, usergroups };
}

function listGroupUsers(args: Args, state: FakeSlackState): MethodResult {
  const groupId = str(args, 'usergroup');
  if (!groupId) return missing('usergroup');
  const group = state.groups.get(groupId);
  return group ? { ok: true, users: [...group.users] } : fail('no_such_subteam');
}

function userIdList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return items.map((u) => String(u).trim()).filter((u) => u !== '');
}

/** Replaces the whole member list; cannot empty a group, nor hold guests, bots or deleted users. */
function updateGroupUsers(args: Args, state: FakeSlackState): MethodResult {
  const groupId = str(args, 'usergroup');
  if (!groupId) return missing('usergroup');
  const group = state.groups.get(groupId);
  if (!group) return fail('no_such_subteam');
  const users = userIdList(args.users);
  if (users.length === 0) return fail('no_users_provided');
  const invalid = users.some((id) => {
    const seed = state.users.get(id);
    const ineligible = seed?.isBot || seed?.isRestricted || seed?.isUltraRestricted || seed?.deleted;
    return !/^[UW][A-Z0-9]+$/.test(id) || Boolean(ineligible);
  });
  if (invalid) return fail('invalid_users');
  group.users = [...new Set(users)];
  return { ok: true, usergroup: state.groupObject(group, true) };
}

function authTest(): MethodResult {
  return {
    ok: true,
    url: `https://${WORKSPACE.teamDomain}.slack.com/`,
    team: WORKSPACE.teamName,
    user: WORKSPACE.botName,
    team_id: WORKSPACE.teamId,
    user_id: WORKSPACE.botUserId,
    bot_id: WORKSPACE.botId,
    is_enterprise_install: false,
  };
}

export const METHODS: Record<string, MethodHandler> = {
  'auth.test': authTest,
  'chat.postMessage': postMessage,
  'chat.update': updateMessage,
  'chat.delete': deleteMessage,
  'chat.postEphemeral': postEphemeral,
  'conversations.open': openConversation,
  'views.open': openView,
  'views.push': openView,
  'views.update': updateView,
  'views.publish': publishView,
  'users.info': userInfo,
  'users.lookupByEmail': lookupByEmail,
  'usergroups.list': listGroups,
  'usergroups.users.list': listGroupUsers,
  'usergroups.users.update': updateGroupUsers,
};
