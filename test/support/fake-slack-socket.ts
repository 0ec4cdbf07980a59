import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { WORKSPACE } from './slack-workspace.js';

/**
 * Slack's side of Socket Mode, as `@slack/socket-mode` (Bolt's SocketModeReceiver) talks to it:
 *
 * 1. the app POSTs `apps.connections.open` with its app-level token and gets a one-time
 *    `ws://…/socket-mode?ticket=…` URL;
 * 2. it opens a WebSocket there; Slack greets it with `{"type":"hello", …}` (the client counts
 *    itself connected only then);
 * 3. Slack sends envelopes `{ envelope_id, type, payload, accepts_response_payload, … }`; the app
 *    acknowledges each with `{ envelope_id, payload }` on the same socket;
 * 4. both sides ping: the client pings every few seconds and drops the socket when pongs stop;
 *    Slack pings too, and once the client has seen a ping it expects more;
 * 5. Slack recycles connections by sending `{"type":"disconnect","reason":…}`: the client closes
 *    that socket and calls `apps.connections.open` again.
 */

export type SocketEnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SocketEnvelope {
  envelope_id: string;
  type: SocketEnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

/** What the app sent back for an envelope: `payload` is the body given to `ack()`, if any. */
export interface SocketAck {
  envelope_id: string;
  payload?: unknown;
}

/** Any text frame the app sent, parsed when it was JSON. */
export interface SocketMessage {
  connection: number;
  at: number;
  data: unknown;
}

export interface SocketConnectionInfo {
  id: number;
  openedAt: number;
  closedAt?: number;
  /** Close code the socket ended with (1000 when the app closed it normally). */
  closeCode?: number;
  /** Pings the app sent (the fake answers each with a pong, as Slack does). */
  pingsReceived: number;
  /** Pongs the app sent back for the fake's own pings. */
  pongsReceived: number;
}

export interface DeliverOptions {
  /** Reject when no ack arrives in time; Slack's deadline is 3 s. */
  timeoutMs?: number;
  /** Events API redeliveries count up from 1, with a reason such as `timeout`. */
  retryAttempt?: number;
  retryReason?: string;
  /** Slack sets it per kind of payload; override to test an app's handling of it. */
  acceptsResponsePayload?: boolean;
}

export interface FakeSocketModeOptions {
  /** How often the fake pings each socket, as Slack does; 0 turns it off. */
  pingIntervalMs?: number;
}

export const SOCKET_MODE_PATH = '/socket-mode';
const DEFAULT_ACK_TIMEOUT_MS = 3000;
const DEFAULT_PING_INTERVAL_MS = 10_000;

interface Connection {
  info: SocketConnectionInfo;
  ws: WebSocket;
  pinger?: NodeJS.Timeout;
}

/** Slack sets `accepts_response_payload` where an ack body can carry a response. */
function acceptsResponsePayload(type: SocketEnvelopeType, payload: Record<string, unknown>): boolean {
  if (type === 'slash_commands') return true;
  if (type === 'interactive') {
    return ['view_submission', 'shortcut', 'message_action', 'block_suggestion'].includes(
      String(payload.type),
    );
  }
  return false;
}

function parse(data: RawData): unknown {
  const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  const text = buffer.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isAck(data: unknown, envelopeId: string): data is SocketAck {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { envelope_id?: unknown }).envelope_id === envelopeId
  );
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export class FakeSocketMode {
  readonly connections: SocketConnectionInfo[] = [];
  readonly received: SocketMessage[] = [];
  readonly delivered: SocketEnvelope[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly open = new Map<number, Connection>();
  private readonly tickets = new Set<string>();
  private readonly events = new EventEmitter().setMaxListeners(0);
  private readonly pingIntervalMs: number;
  private connectionCount = 0;

  constructor(
    private readonly wsBaseUrl: string,
    options: FakeSocketModeOptions = {},
  ) {
    this.pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  }

  /** The answer to an authorized `apps.connections.open`: a fresh one-time URL. */
  openConnectionUrl(): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `${this.wsBaseUrl}${SOCKET_MODE_PATH}?ticket=${ticket}&app_id=${WORKSPACE.apiAppId}`;
  }

  get openCount(): number {
    return this.open.size;
  }

  /** The server's `upgrade` listener. A ticket works once, like the URL Slack hands out. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    if (url.pathname !== SOCKET_MODE_PATH) {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    const ticket = url.searchParams.get('ticket') ?? '';
    if (!this.tickets.delete(ticket)) {
      rejectUpgrade(socket, 401, 'Unauthorized');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /** Resolves once an app holds an open, greeted connection. */
  waitForConnection({ timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<SocketConnectionInfo> {
    const current = this.newest();
    if (current) return Promise.resolve(current.info);
    return new Promise((resolve, reject) => {
      const onOpen = (info: SocketConnectionInfo) => {
        clearTimeout(timer);
        resolve(info);
      };
      const timer = setTimeout(() => {
        this.events.off('open', onOpen);
        reject(
          new Error(
            `fake Slack: no Socket Mode connection within ${timeoutMs} ms (${this.describeConnections()})`,
          ),
        );
      }, timeoutMs);
      this.events.once('open', onOpen);
    });
  }

  /**
   * Sends an envelope over the newest open connection (Slack picks one of the app's connections)
   * and resolves with the app's ack for it.
   */
  deliver(
    type: SocketEnvelopeType,
    payload: Record<string, unknown>,
    options: DeliverOptions = {},
  ): Promise<SocketAck> {
    const connection = this.newest();
    if (!connection) {
      return Promise.reject(
        new Error(`fake Slack: no open Socket Mode connection (${this.describeConnections()})`),
      );
    }
    const envelope: SocketEnvelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      accepts_response_payload: options.acceptsResponsePayload ?? acceptsResponsePayload(type, payload),
      ...(type === 'events_api'
        ? { retry_attempt: options.retryAttempt ?? 0, retry_reason: options.retryReason ?? '' }
        : {}),
    };
    const timeoutMs = options.timeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    const acked = new Promise<SocketAck>((resolve, reject) => {
      const onMessage = (message: SocketMessage) => {
        if (!isAck(message.data, envelope.envelope_id)) return;
        cleanup();
        resolve(message.data);
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen =
          this.received.map((m) => `#${m.connection} ${JSON.stringify(m.data)}`).join(', ') || 'nothing';
        reject(
          new Error(
            `fake Slack: no ack for ${type} envelope ${envelope.envelope_id} within ${timeoutMs} ms; received: ${seen}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('message', onMessage);
      };
      this.events.on('message', onMessage);
    });
    this.delivered.push(envelope);
    connection.ws.send(JSON.stringify(envelope));
    return acked;
  }

  /**
   * Asks every connected app to reconnect, as Slack does before recycling a socket
   * (`refresh_requested`, `warning`, `link_disabled`).
   */
  requestDisconnect(reason = 'refresh_requested'): void {
    for (const connection of this.open.values()) {
      connection.ws.send(
        JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake' } }),
      );
    }
  }

  /** Drops every socket without a close handshake, like a lost network link. */
  dropConnections(): void {
    for (const connection of this.open.values()) connection.ws.terminate();
  }

  reset(): void {
    this.received.length = 0;
    this.delivered.length = 0;
  }

  async close(): Promise<void> {
    for (const connection of this.open.values()) {
      clearInterval(connection.pinger);
      connection.ws.terminate();
    }
    this.open.clear();
    this.tickets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    this.connectionCount += 1;
    const info: SocketConnectionInfo = {
      id: this.connectionCount,
      openedAt: Date.now(),
      pingsReceived: 0,
      pongsReceived: 0,
    };
    const connection: Connection = { info, ws };
    this.connections.push(info);
    this.open.set(info.id, connection);
    ws.on('message', (data, isBinary) => {
      const message: SocketMessage = {
        connection: info.id,
        at: Date.now(),
        data: isBinary ? data : parse(data),
      };
      this.received.push(message);
      this.events.emit('message', message);
    });
    ws.on('ping', () => {
      info.pingsReceived += 1;
    });
    ws.on('pong', () => {
      info.pongsReceived += 1;
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', (code) => {
      clearInterval(connection.pinger);
      info.closedAt = Date.now();
      info.closeCode = code;
      this.open.delete(info.id);
      this.events.emit('close', info);
    });
    if (this.pingIntervalMs > 0) {
      connection.pinger = setInterval(() => ws.ping(Buffer.from(`ping ${Date.now()}`)), this.pingIntervalMs);
      connection.pinger.unref();
    }
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.open.size,
        debug_info: {
          host: `applink-fake-${randomBytes(4).toString('hex')}`,
          build_number: 1,
          approximate_connection_time: 18_060,
        },
        connection_info: { app_id: WORKSPACE.apiAppId },
      }),
    );
    this.events.emit('open', info);
  }

  private newest(): Connection | undefined {
    return [...this.open.values()].at(-1);
  }

  private describeConnections(): string {
    if (this.connections.length === 0) return 'none was ever opened';
    return this.connections
      .map((c) => `#${c.id} ${c.closedAt === undefined ? 'open' : `closed (${c.closeCode})`}`)
      .join(', ');
  }
}
