import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the two on-call APIs the bot asks, for exactly those calls:
 * PagerDuty REST v2 `GET /oncalls?schedule_ids[]=…&include[]=users` (`Authorization: Token
 * token=…`, the v2 `Accept` header, `limit`/`offset`/`more` paging, errors as
 * `{"error":{"message","code"}}`), and Opsgenie `GET /v2/schedules/{identifier}/on-calls`
 * (`Authorization: GenieKey …`, `scheduleIdentifierType`, `flat=true` answers
 * `{"data":{"onCallRecipients":[…]}}`). `down` makes both answer 503; `delayMs` holds answers.
 */
export interface FakeOnCall {
  url: string;
  pagerDutyToken: string;
  opsgenieKey: string;
  /** Who is on call now, by schedule id (PagerDuty) or name (Opsgenie). */
  setOnCall(schedule: string, emails: string[]): void;
  down: boolean;
  delayMs: number;
  /** Every request, as method and path with query. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFakeOnCall(): Promise<FakeOnCall> {
  const onCall = new Map<string, string[]>();
  const requests: string[] = [];
  const state = { down: false, delayMs: 0 };
  const pagerDutyToken = 'pd-token-0123456789';
  const opsgenieKey = 'og-key-0123456789';

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  function pagerDuty(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (req.headers.authorization !== `Token token=${pagerDutyToken}`) {
      return send(res, 401, { error: { message: 'Unauthorized', code: 2006 } });
    }
    if (req.headers.accept !== 'application/vnd.pagerduty+json;version=2') {
      return send(res, 400, { error: { message: 'Invalid Accept header', code: 2001 } });
    }
    const schedules = url.searchParams.getAll('schedule_ids[]');
    const withUsers = url.searchParams.getAll('include[]').includes('users');
    const limit = Number(url.searchParams.get('limit') ?? 25);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const all = schedules.flatMap((id) =>
      (onCall.get(id) ?? []).map((email, i) => ({
        escalation_level: 1,
        schedule: { id, type: 'schedule_reference' },
        user: withUsers
          ? { id: `PU${i}`, type: 'user', email, name: email.split('@')[0] }
          : { id: `PU${i}`, type: 'user_reference', summary: email.split('@')[0] },
      })),
    );
    const page = all.slice(offset, offset + limit);
    send(res, 200, { oncalls: page, limit, offset, more: offset + limit < all.length, total: null });
  }

  function opsgenie(req: IncomingMessage, res: ServerResponse, url: URL, identifier: string) {
    if (req.headers.authorization !== `GenieKey ${opsgenieKey}`) {
      return send(res, 401, { message: 'Could not authenticate', took: 0, requestId: 'r' });
    }
    if (
      url.searchParams.get('scheduleIdentifierType') !== 'name' ||
      url.searchParams.get('flat') !== 'true'
    ) {
      return send(res, 422, { message: 'expected scheduleIdentifierType=name and flat=true', took: 0 });
    }
    const emails = onCall.get(identifier);
    if (!emails) return send(res, 404, { message: 'Schedule not found', took: 0, requestId: 'r' });
    send(res, 200, {
      data: { _parent: { name: identifier }, onCallRecipients: emails },
      took: 0,
      requestId: 'r',
    });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const answer = () => {
      if (state.down) return send(res, 503, { error: { message: 'Service Unavailable' } });
      if (req.method === 'GET' && url.pathname === '/oncalls') return pagerDuty(req, res, url);
      const og = /^\/v2\/schedules\/([^/]+)\/on-calls$/.exec(url.pathname);
      if (req.method === 'GET' && og?.[1]) return opsgenie(req, res, url, decodeURIComponent(og[1]));
      send(res, 404, { error: { message: 'Not Found' } });
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pagerDutyToken,
    opsgenieKey,
    setOnCall: (schedule, emails) => void onCall.set(schedule, emails),
    get down() {
      return state.down;
    },
    set down(value) {
      state.down = value;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value) {
      state.delayMs = value;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
