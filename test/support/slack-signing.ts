import { createHmac, randomBytes } from 'node:crypto';
import { newTriggerId, WORKSPACE } from './slack-workspace.js';

/**
 * Builds and sends the HTTP requests Slack sends to an app — slash commands, interactivity and
 * Events API callbacks — shaped and signed the way Slack does, so tests drive the real Bolt
 * receiver (signature check, content-type check, body parsing) instead of calling listeners.
 */

export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

export interface SlackHttpResponse {
  status: number;
  body: string;
  headers: Headers;
}

/**
 * Deliberately unreachable (the discard port): a payload without an explicit response_url must
 * not let `respond()` reach anything real, and should fail fast if a listener uses it.
 */
const UNREACHABLE_RESPONSE_URL = 'http://127.0.0.1:9/response/unset';

export function signSlackRequest(
  secret: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const digest = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': String(timestamp) };
}

/** POSTs `body` signed with `secret`; pass a wrong secret or an old timestamp to test rejection. */
export async function postSigned(
  url: string,
  secret: string,
  body: string,
  contentType: string,
  extraHeaders: Record<string, string> = {},
  timestamp?: number,
): Promise<SlackHttpResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      ...signSlackRequest(secret, body, timestamp),
      ...extraHeaders,
    },
    body,
  });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

export interface SlashCommandInput {
  command?: string;
  text: string;
  user_id: string;
  user_name?: string;
  channel_id?: string;
  channel_name?: string;
  team_id?: string;
  response_url: string;
  trigger_id?: string;
}

export function slashCommandBody(input: SlashCommandInput): string {
  return new URLSearchParams({
    token: WORKSPACE.verificationToken,
    team_id: input.team_id ?? WORKSPACE.teamId,
    team_domain: WORKSPACE.teamDomain,
    channel_id: input.channel_id ?? 'C0REQUESTS',
    channel_name: input.channel_name ?? 'access-requests',
    user_id: input.user_id,
    user_name: input.user_name ?? input.user_id.toLowerCase(),
    command: input.command ?? '/jit',
    text: input.text,
    api_app_id: WORKSPACE.apiAppId,
    is_enterprise_install: 'false',
    response_url: input.response_url,
    trigger_id: input.trigger_id ?? newTriggerId(),
  }).toString();
}

export function postSlashCommand(
  url: string,
  secret: string,
  input: SlashCommandInput,
): Promise<SlackHttpResponse> {
  return postSigned(url, secret, slashCommandBody(input), 'application/x-www-form-urlencoded');
}

export interface BlockActionInput {
  user_id: string;
  action_id: string;
  value: string;
  block_id?: string;
  /** The button's label, as Slack echoes it back. */
  text?: string;
  channel_id?: string;
  message_ts?: string;
  response_url?: string;
  trigger_id?: string;
  /** Defaults to the message container; pass `{ type: 'view', view_id }` for modal/Home buttons. */
  container?: Record<string, unknown>;
  /** The view the button sits in, for a `view` container. */
  view?: Record<string, unknown>;
}

export function blockActionPayload(input: BlockActionInput): Record<string, unknown> {
  const channelId = input.channel_id ?? 'C0REQUESTS';
  const messageTs = input.message_ts ?? '1700000000.000100';
  const container = input.container ?? {
    type: 'message',
    message_ts: messageTs,
    channel_id: channelId,
    is_ephemeral: false,
  };
  const inMessage = container.type === 'message';
  return {
    type: 'block_actions',
    user: slackUser(input.user_id),
    api_app_id: WORKSPACE.apiAppId,
    token: WORKSPACE.verificationToken,
    container,
    trigger_id: input.trigger_id ?? newTriggerId(),
    team: { id: WORKSPACE.teamId, domain: WORKSPACE.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    ...(inMessage
      ? {
          channel: { id: channelId, name: 'access-requests' },
          message: {
            type: 'message',
            user: WORKSPACE.botUserId,
            bot_id: WORKSPACE.botId,
            ts: messageTs,
            text: 'Access request',
            blocks: [],
          },
          response_url: input.response_url ?? UNREACHABLE_RESPONSE_URL,
        }
      : { view: input.view ?? { id: container.view_id, type: 'home', blocks: [] } }),
    state: { values: {} },
    actions: [
      {
        type: 'button',
        action_id: input.action_id,
        block_id: input.block_id ?? 'actions',
        value: input.value,
        text: { type: 'plain_text', text: input.text ?? 'Button', emoji: true },
        action_ts: slackTs(),
      },
    ],
  };
}

export function postBlockAction(
  url: string,
  secret: string,
  input: BlockActionInput,
): Promise<SlackHttpResponse> {
  return postInteraction(url, secret, blockActionPayload(input));
}

export interface ViewSubmissionInput {
  user_id: string;
  callback_id: string;
  private_metadata?: string;
  /** `view.state.values`: `{ [block_id]: { [action_id]: { type, value | selected_* } } }`. */
  state_values: Record<string, Record<string, unknown>>;
  view_id?: string;
  trigger_id?: string;
}

export function viewSubmissionPayload(input: ViewSubmissionInput): Record<string, unknown> {
  const viewId = input.view_id ?? 'V0SUBMITTED';
  return {
    type: 'view_submission',
    team: { id: WORKSPACE.teamId, domain: WORKSPACE.teamDomain },
    user: slackUser(input.user_id),
    api_app_id: WORKSPACE.apiAppId,
    token: WORKSPACE.verificationToken,
    trigger_id: input.trigger_id ?? newTriggerId(),
    view: {
      id: viewId,
      team_id: WORKSPACE.teamId,
      type: 'modal',
      blocks: [],
      private_metadata: input.private_metadata ?? '',
      callback_id: input.callback_id,
      state: { values: input.state_values },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      title: { type: 'plain_text', text: 'Request access', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: { type: 'plain_text', text: 'Submit', emoji: true },
      previous_view_id: null,
      root_view_id: viewId,
      app_id: WORKSPACE.apiAppId,
      external_id: '',
      app_installed_team_id: WORKSPACE.teamId,
      bot_id: WORKSPACE.botId,
    },
    response_urls: [],
    enterprise: null,
    is_enterprise_install: false,
  };
}

export function postViewSubmission(
  url: string,
  secret: string,
  input: ViewSubmissionInput,
): Promise<SlackHttpResponse> {
  return postInteraction(url, secret, viewSubmissionPayload(input));
}

export interface EventDelivery {
  retryNum?: number;
  retryReason?: string;
  /** Slack keeps the event_id across retries of one delivery; pass it to simulate a retry. */
  eventId?: string;
}

export function eventEnvelope(event: Record<string, unknown>, eventId: string): string {
  return JSON.stringify({
    token: WORKSPACE.verificationToken,
    team_id: WORKSPACE.teamId,
    api_app_id: WORKSPACE.apiAppId,
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: WORKSPACE.teamId,
        user_id: WORKSPACE.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(12).toString('hex')}`,
  });
}

export function postEvent(
  url: string,
  secret: string,
  event: Record<string, unknown>,
  delivery: EventDelivery = {},
): Promise<SlackHttpResponse> {
  const headers: Record<string, string> = {};
  if (delivery.retryNum !== undefined) headers['x-slack-retry-num'] = String(delivery.retryNum);
  if (delivery.retryReason !== undefined) headers['x-slack-retry-reason'] = delivery.retryReason;
  const eventId = delivery.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`;
  return postSigned(url, secret, eventEnvelope(event, eventId), 'application/json', headers);
}

function postInteraction(
  url: string,
  secret: string,
  payload: Record<string, unknown>,
): Promise<SlackHttpResponse> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return postSigned(url, secret, body, 'application/x-www-form-urlencoded');
}

function slackUser(userId: string): Record<string, unknown> {
  const name = userId.toLowerCase();
  return { id: userId, username: name, name, team_id: WORKSPACE.teamId };
}

function slackTs(): string {
  const micros = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}
