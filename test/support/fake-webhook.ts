import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyRecallSignature } from '../../src/http/hooks/signature.js';

/**
 * An outside system behind the webhook provider: a real HTTP server that checks the signature
 * the way a receiver should (same scheme as the bot's recall hook), keeps who holds what, and
 * answers `verify` from that. Tests change `held` directly to act behind the bot's back, and
 * queue answers with `respondNext` to play an outage.
 */

export interface WebhookCall {
  action: string;
  body: Record<string, unknown>;
  signatureOk: boolean;
  status: number;
  /** Path and query the call was sent to (tests give each caller its own URL to tell them apart). */
  path: string;
}

export interface CannedAnswer {
  status: number;
  body?: string;
  /** Never answer (a receiver that hangs). */
  hang?: boolean;
  /** Answer only once this settles (a receiver that is slow to apply a call). */
  after?: Promise<unknown>;
}

export class FakeWebhookReceiver {
  readonly calls: WebhookCall[] = [];
  /** `requestId` of every grant the outside system holds. */
  readonly held = new Set<string>();
  readonly url: string;
  private readonly canned: CannedAnswer[] = [];
  /**
   * Runs for each call once it has been applied (the receiver already holds or dropped the
   * grant) and before it is answered; an answer it returns replaces the normal one. Tests use it
   * to stop the caller at exactly that point.
   */
  onCall: ((call: WebhookCall) => CannedAnswer | undefined) | undefined;

  constructor(
    private readonly server: Server,
    readonly secret: string,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/jit?token=in-the-url`;
  }

  /** The next calls get these answers, in order, whatever they ask. */
  respondNext(...answers: CannedAnswer[]): void {
    this.canned.push(...answers);
  }

  callsFor(action: string): WebhookCall[] {
    return this.calls.filter((call) => call.action === action);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  /** @internal */
  answer(raw: Buffer, headers: Record<string, string | string[] | undefined>, path = '/'): CannedAnswer {
    const check = verifyRecallSignature({
      secret: this.secret,
      timestamp: header(headers, 'x-jit-timestamp'),
      signature: header(headers, 'x-jit-signature'),
      body: raw,
      now: new Date(),
    });
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    const action = String(body.action);
    const canned = this.canned.shift();
    const answer = !check.ok
      ? { status: 401, body: `bad signature: ${check.why}` }
      : (canned ?? this.apply(action, String(body.requestId)));
    const call = { action, body, signatureOk: check.ok, status: answer.status, path };
    const replaced = this.onCall?.(call);
    if (replaced) call.status = replaced.status;
    this.calls.push(call);
    return replaced ?? answer;
  }

  private apply(action: string, requestId: string): CannedAnswer {
    if (action === 'grant') this.held.add(requestId);
    else if (action === 'revoke') this.held.delete(requestId);
    else if (action !== 'verify') return { status: 400, body: `unknown action ${action}` };
    return { status: 200, body: JSON.stringify({ active: this.held.has(requestId) }) };
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function startFakeWebhookReceiver(secret: string): Promise<FakeWebhookReceiver> {
  let receiver: FakeWebhookReceiver | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (receiver as FakeWebhookReceiver).answer(Buffer.concat(chunks), req.headers, req.url);
      if (answer.hang) return;
      const send = () =>
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '');
      if (answer.after) void answer.after.then(send, send);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver = new FakeWebhookReceiver(server, secret);
  return receiver;
}
