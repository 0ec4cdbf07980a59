import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockKitViolations } from './block-kit-limits.js';
import { decodeArgs, describeEntries, isJson, parseJsonObject, readBody, send } from './fake-slack-http.js';
import { fail, METHODS, type MethodResult, resolveChannel } from './fake-slack-methods.js';
import {
  type DeliverOptions,
  FakeSocketMode,
  type SocketAck,
  type SocketConnectionInfo,
  type SocketEnvelopeType,
} from './fake-slack-socket.js';
import { FakeSlackState, type FakeUserSeed, type StoredMessage } from './fake-slack-state.js';
import { WORKSPACE } from './slack-workspace.js';

/**
 * A real HTTP server speaking the part of the Slack Web API the bot uses, plus response_url
 * endpoints and Socket Mode (`apps.connections.open` and the WebSocket it hands out). Point a
 * WebClient at `apiUrl`; then assert on `calls` / `waitFor` instead of mocks.
 */

export type {
  DeliverOptions,
  SocketAck,
  SocketConnectionInfo,
  SocketEnvelope,
  SocketEnvelopeType,
  SocketMessage,
} from './fake-slack-socket.js';
export type { FakeUserSeed } from './fake-slack-state.js';

export interface FakeSlackCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
  ok: boolean;
  error?: string;
  /** `response_metadata.messages` of a failed call, e.g. which block broke which limit. */
  messages?: string[];
  /** What the fake answered, e.g. the `ts` of a posted message. */
  result: Record<string, unknown>;
}

export interface FakeResponsePost {
  id: string;
  body: Record<string, unknown>;
  at: number;
  ok: boolean;
  error?: string;
  messages?: string[];
}

export interface FakeFault {
  /** HTTP status to answer with; 429 when `retryAfter` is given, otherwise 200. */
  status?: number;
  /** Slack error code in the `{ ok: false }` body. */
  error?: string;
  /** Seconds, sent as the `Retry-After` header. */
  retryAfter?: number;
  /** How many consecutive calls fail; 1 by default. */
  times?: number;
  /** Only calls whose arguments match fail (and count towards `times`); others go through. */
  when?: (args: Record<string, unknown>) => boolean;
}

export interface WaitOptions {
  timeoutMs?: number;
}

export interface FakeSlackOptions {
  token?: string;
  /** App-level token accepted by `apps.connections.open` (Socket Mode). */
  appToken?: string;
  /** How often the fake pings each Socket Mode connection; 0 turns it off. */
  socketPingIntervalMs?: number;
  /** How long a trigger_id from `newTriggerId` stays usable; Slack allows 3 s. */
  triggerTtlMs?: number;
  /**
   * Slack's special rate for `chat.postMessage`: about one message a second per channel, with
   * short bursts allowed; beyond it, 429 `ratelimited` with `Retry-After`. Off unless given: most
   * tests post far faster than a person would, and count exact attempts.
   */
  postRate?: { perSecond: number; burst: number };
}

/** Fault injection for response_url posts uses this pseudo-method name. */
export const RESPONSE_URL = 'response_url';
const MAX_RESPONSE_POSTS = 5;
/** Methods that take the app-level token rather than a bot or user token. */
const APP_TOKEN_METHODS = new Set(['apps.connections.open']);

interface ResponseOutcome {
  status: number;
  error?: string;
  messages?: string[];
}

export class FakeSlack {
  readonly calls: FakeSlackCall[] = [];
  readonly responses: FakeResponsePost[] = [];
  readonly apiUrl: string;
  private readonly events = new EventEmitter().setMaxListeners(0);
  private readonly faults = new Map<string, FakeFault & { times: number }>();
  private readonly responseCounts = new Map<string, number>();
  private responseIds = 0;
  /** Tokens left per channel for `postRate`, and when they were counted. */
  private readonly postBuckets = new Map<string, { tokens: number; at: number }>();
  private readonly postRate: FakeSlackOptions['postRate'];

  /** Slack's side of Socket Mode: connections, envelopes sent, everything the app sent back. */
  readonly socket: FakeSocketMode;
  readonly appToken: string;

  constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    readonly token: string,
    private readonly state: FakeSlackState,
    options: Pick<FakeSlackOptions, 'appToken' | 'socketPingIntervalMs' | 'postRate'> = {},
  ) {
    this.apiUrl = `${baseUrl}/api/`;
    this.postRate = options.postRate;
    this.appToken = options.appToken ?? WORKSPACE.appToken;
    this.socket = new FakeSocketMode(baseUrl.replace(/^http/, 'ws'), {
      ...(options.socketPingIntervalMs !== undefined ? { pingIntervalMs: options.socketPingIntervalMs } : {}),
    });
  }

  callsTo(method: string): FakeSlackCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  addUser(user: FakeUserSeed): void {
    this.state.users.set(user.id, user);
  }

  setGroup(groupId: string, userIds: string[], meta: { handle?: string; name?: string } = {}): void {
    const handle = meta.handle ?? groupId.toLowerCase();
    this.state.groups.set(groupId, {
      id: groupId,
      handle,
      name: meta.name ?? handle,
      users: [...userIds],
    });
  }

  /** Current members, after any `usergroups.users.update` the bot made. */
  groupMembers(groupId: string): string[] | undefined {
    const group = this.state.groups.get(groupId);
    return group ? [...group.users] : undefined;
  }

  /** The message as it stands now (after any `chat.update`); a user id means their DM. */
  message(channel: string, ts: string): StoredMessage | undefined {
    return this.state.messages.get(this.state.messageKey(resolveChannel(channel), ts));
  }

  /** Every message in a channel as it stands now, oldest first (a user id means their DM). */
  messagesIn(channel: string): StoredMessage[] {
    const id = resolveChannel(channel);
    return [...this.state.messages.values()]
      .filter((m) => m.channel === id)
      .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  }

  view(viewId: string): Record<string, unknown> | undefined {
    return this.state.views.get(viewId);
  }

  homeView(userId: string): Record<string, unknown> | undefined {
    const id = this.state.homeViews.get(userId);
    return id ? this.state.views.get(id) : undefined;
  }

  /** Makes the next `times` calls to `method` (or `RESPONSE_URL`) fail as described. */
  failNext(method: string, fault: FakeFault = {}): void {
    this.faults.set(method, { ...fault, times: fault.times ?? 1 });
  }

  responseUrl(id = `r${++this.responseIds}`): string {
    return `${this.baseUrl}/response/${encodeURIComponent(id)}`;
  }

  /**
   * The first call to `method` (or to one of several methods) matching `predicate`, already made
   * or still to come. A predicate that throws counts as no match; the timeout error lists every
   * call seen.
   */
  waitFor(
    method: string | readonly string[],
    predicate: (call: FakeSlackCall) => boolean = () => true,
    { timeoutMs = 10_000 }: WaitOptions = {},
  ): Promise<FakeSlackCall> {
    const methods: readonly string[] = typeof method === 'string' ? [method] : method;
    return this.waitForEntry(
      'call',
      this.calls,
      (call) => methods.includes(call.method) && predicate(call),
      timeoutMs,
      () => `${methods.join(' or ')} call matching the predicate`,
      () => describeEntries(this.calls.map((c) => [c.method, c])),
    );
  }

  waitForResponse(
    predicate: (post: FakeResponsePost) => boolean = () => true,
    { timeoutMs = 10_000 }: WaitOptions = {},
  ): Promise<FakeResponsePost> {
    return this.waitForEntry(
      'response',
      this.responses,
      predicate,
      timeoutMs,
      () => 'response_url post matching the predicate',
      () => describeEntries(this.responses.map((r) => [`response/${r.id}`, r])),
    );
  }

  /**
   * Sends a Socket Mode envelope (`slash_commands`: the slash command's form fields as an object;
   * `interactive`: the interaction payload; `events_api`: the event callback) to the connected app
   * and resolves with its ack. Rejects when no app is connected or no ack arrives in time.
   */
  socketDeliver(type: SocketEnvelopeType, payload: object, options: DeliverOptions = {}): Promise<SocketAck> {
    return this.socket.deliver(type, payload as Record<string, unknown>, options);
  }

  /** Resolves once an app has opened a Socket Mode connection and been sent `hello`. */
  waitForSocketConnection(options: WaitOptions = {}): Promise<SocketConnectionInfo> {
    return this.socket.waitForConnection(options);
  }

  reset(): void {
    this.calls.length = 0;
    this.responses.length = 0;
    this.faults.clear();
    this.responseCounts.clear();
    this.socket.reset();
  }

  async close(): Promise<void> {
    await this.socket.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => {
      this.server.close((err) => (err ? reject(err) : resolve()));
    });
  }

  /** The server's request listener; tests talk to it over HTTP, not through this. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const raw = await readBody(req);
    if (url.pathname.startsWith('/api/')) {
      this.handleApiCall(req, url, raw, res);
    } else if (url.pathname.startsWith('/response/') && req.method === 'POST') {
      const id = decodeURIComponent(url.pathname.slice('/response/'.length));
      this.handleResponsePost(id, req, raw, res);
    } else {
      send(res, 404, 'text/plain', 'not found');
    }
  }

  private handleApiCall(req: IncomingMessage, url: URL, raw: string, res: ServerResponse): void {
    const method = decodeURIComponent(url.pathname.slice('/api/'.length));
    const { args, token, problem } = decodeArgs(req, url, raw);
    const handler = METHODS[method];
    const appMethod = APP_TOKEN_METHODS.has(method);
    const fault = handler || appMethod ? this.takeFault(method, args) : undefined;
    const waitSec = method === 'chat.postMessage' ? this.overPostRate(args) : null;
    if (fault) {
      this.answerFault(res, method, args, fault);
    } else if (waitSec !== null) {
      this.answer(res, method, args, fail('ratelimited'), 429, { 'retry-after': String(waitSec) });
    } else if (appMethod) {
      const refusal = this.refuseAppAuth(token, problem);
      this.answer(res, method, args, refusal ?? { ok: true, url: this.socket.openConnectionUrl() });
    } else if (handler) {
      const refusal = this.refuseAuth(token, problem);
      this.answer(res, method, args, refusal ?? handler(args, this.state));
    } else {
      this.answer(res, method, args, { ...fail('unknown_method'), req_method: method }, 404);
    }
  }

  /** A token bucket per channel: null when the post may go, else the seconds to wait. */
  private overPostRate(args: Record<string, unknown>): number | null {
    if (!this.postRate) return null;
    const { perSecond, burst } = this.postRate;
    const channel = String(args.channel);
    const now = Date.now();
    const bucket = this.postBuckets.get(channel) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.postBuckets.set(channel, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
  }

  private refuseAuth(token: string | undefined, problem?: string): MethodResult | undefined {
    if (problem) return fail(problem);
    if (token === undefined) return fail('not_authed');
    if (token === this.appToken) return fail('not_allowed_token_type');
    if (token !== this.token) return fail('invalid_auth');
    return undefined;
  }

  /** App-level methods: a bot or user token is the wrong type, another app token is unknown. */
  private refuseAppAuth(token: string | undefined, problem?: string): MethodResult | undefined {
    if (problem) return fail(problem);
    if (token === undefined) return fail('not_authed');
    if (token === this.token || /^xox[bpe]-/.test(token)) return fail('not_allowed_token_type');
    if (token !== this.appToken) return fail('invalid_auth');
    return undefined;
  }

  private handleResponsePost(id: string, req: IncomingMessage, raw: string, res: ServerResponse): void {
    const body = isJson(req) ? parseJsonObject(raw) : undefined;
    const outcome: ResponseOutcome =
      body === undefined ? { status: 400, error: 'invalid_payload' } : this.judgeResponse(id, body);
    const post: FakeResponsePost = {
      id,
      body: body ?? { raw },
      at: Date.now(),
      ok: outcome.error === undefined,
    };
    if (outcome.error !== undefined) post.error = outcome.error;
    if (outcome.messages !== undefined) post.messages = outcome.messages;
    this.responses.push(post);
    this.events.emit('response', post);
    send(res, outcome.status, 'text/plain', outcome.error ?? 'ok');
  }

  private judgeResponse(id: string, body: Record<string, unknown>): ResponseOutcome {
    const fault = this.takeFault(RESPONSE_URL);
    if (fault) return { status: fault.status ?? 500, error: fault.error ?? 'internal_error' };
    const count = (this.responseCounts.get(id) ?? 0) + 1;
    this.responseCounts.set(id, count);
    if (count > MAX_RESPONSE_POSTS) return { status: 404, error: 'used_url' };
    if (body.blocks !== undefined) {
      const messages = blockKitViolations(body.blocks, 'message');
      if (messages.length > 0) return { status: 400, error: 'invalid_blocks', messages };
    }
    const hasContent = body.text !== undefined || body.blocks !== undefined;
    if (!hasContent && body.delete_original !== true) return { status: 400, error: 'no_text' };
    return { status: 200 };
  }

  private takeFault(method: string, args: Record<string, unknown> = {}): FakeFault | undefined {
    const fault = this.faults.get(method);
    if (!fault || (fault.when && !fault.when(args))) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.faults.delete(method);
    return fault;
  }

  private answerFault(
    res: ServerResponse,
    method: string,
    args: Record<string, unknown>,
    fault: FakeFault,
  ): void {
    const status = fault.status ?? (fault.retryAfter !== undefined ? 429 : 200);
    const error = fault.error ?? (status === 429 ? 'ratelimited' : 'internal_error');
    const headers: Record<string, string> = {};
    if (status === 429) headers['retry-after'] = String(fault.retryAfter ?? 1);
    this.answer(res, method, args, fail(error), status, headers);
  }

  private answer(
    res: ServerResponse,
    method: string,
    args: Record<string, unknown>,
    result: MethodResult,
    status = 200,
    headers: Record<string, string> = {},
  ): void {
    const call: FakeSlackCall = { method, args, at: Date.now(), ok: result.ok, result };
    if (result.error !== undefined) call.error = result.error;
    const messages = (result.response_metadata as { messages?: string[] } | undefined)?.messages;
    if (messages !== undefined) call.messages = messages;
    this.calls.push(call);
    this.events.emit('call', call);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(result));
  }

  private waitForEntry<T>(
    event: string,
    seen: readonly T[],
    predicate: (entry: T) => boolean,
    timeoutMs: number,
    wanted: () => string,
    history: () => string,
  ): Promise<T> {
    const matches = (entry: T): boolean => {
      try {
        return predicate(entry);
      } catch {
        return false;
      }
    };
    const found = seen.find(matches);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const onEntry = (entry: T) => {
        if (!matches(entry)) return;
        cleanup();
        resolve(entry);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake Slack: no ${wanted()} within ${timeoutMs} ms; seen: ${history()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off(event, onEntry);
      };
      this.events.on(event, onEntry);
    });
  }
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const state = new FakeSlackState(options.triggerTtlMs ?? 3000);
  let fake: FakeSlack | undefined;
  const server = createServer((req, res) => {
    fake?.handle(req, res).catch((err: unknown) => {
      send(res, 500, 'text/plain', err instanceof Error ? err.message : String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake = new FakeSlack(
    server,
    `http://127.0.0.1:${port}`,
    options.token ?? WORKSPACE.botToken,
    state,
    options,
  );
  const socketMode = fake.socket;
  server.on('upgrade', (req, socket, head) => socketMode.handleUpgrade(req, socket, head));
  return fake;
}
