import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { parseJitCommand } from '../../src/slack/grammar.js';
import { extensionActionIds } from '../../src/slack/views/extension-card.js';
import { grantActionIds } from '../../src/slack/views/grant-card.js';
import { homeActionIds } from '../../src/slack/views/home.js';
import { callbackIds } from '../../src/slack/views/modals.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, signingSecret, startHarness, users } from '../support/harness.js';
import {
  blockActionPayload,
  postSigned,
  postSlashCommand,
  postViewSubmission,
  type SlackHttpResponse,
} from '../support/slack-signing.js';
import { newTriggerId } from '../support/slack-workspace.js';

/**
 * Property-based fuzzing of everything that arrives from outside over HTTP: slash command text,
 * button payloads, modal submissions and hook bodies. Whatever arrives, the bot answers (never a
 * 5xx, never the "something went wrong on our side" message, nothing logged as an error), and the
 * database holds either nothing new or one complete request with its audit event.
 * fast-check prints the seed and the shrunk input of a failure; `seed` in `fc.assert` replays it.
 */

const recallSecret = 'fuzz-recall-secret-0123456789';
const githubSecret = 'fuzz-github-secret-0123456789';
const form = 'application/x-www-form-urlencoded';
const crash = /Something went wrong on our side/;

let h: Harness;
/** Error-level log entries of the bot: each one is a handler that failed unexpectedly. */
const loggedErrors: string[] = [];
/** A pending request and an active grant of Alice, aimed at by people who may not touch them. */
let pendingId: string;
let grantId: string;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as {
          level: number;
          msg: string;
          err?: { message?: string; stack?: string };
        };
        // A listener that threw is reported by `trackHandling`, with the payload that made it throw.
        if (entry.level >= 50 && entry.msg !== listenerFailure) loggedErrors.push(describeLogged(entry));
      }
      done();
    },
  });
  h = await startHarness({
    env: { JIT_HOOK_SECRET: recallSecret, GITHUB_WEBHOOK_SECRET: githubSecret },
    logger: createLogger('error', sink),
  });
  trackHandling(h);
  pendingId = await h.request(users.alice, 'prod-db-two-level', '30m', 'INC-700 fuzz target');
  grantId = await h.request(users.alice, 'prod-db-write', '1h', 'INC-701 fuzz target');
  await h.click(users.bob, actionIds.approve, grantId, await h.approverMessage(grantId, users.bob));
  await h.dmTo(users.alice, `${grantId}\`: you have`);
});
afterAll(async () => {
  await h?.stop();
});
/** The message, the error and where in our code it was thrown: enough to find it. */
function describeLogged(entry: { msg: string; err?: { message?: string; stack?: string } }): string {
  return `${entry.msg}: ${describeError(entry.err)}`;
}

function describeError(err: { message?: string; stack?: string; original?: unknown } | undefined): string {
  const stack = `${err?.stack ?? ''}\n${JSON.stringify(err ?? {})}`;
  const where = /src\/[\w/.-]+:\d+/.exec(stack)?.[0] ?? 'unknown place';
  return `${err?.message ?? ''} (${where})`;
}

/** What `createSlackApp` logs for a listener that threw; Bolt logs it after the middleware returns. */
const listenerFailure = 'unhandled error in a Slack listener';

/** Where this test's Slack traffic starts, so a test is blamed only for its own. */
let seen = { calls: 0, responses: 0 };
beforeEach(() => {
  seen = { calls: h.fake.calls.length, responses: h.fake.responses.length };
  loggedErrors.length = 0;
});
afterEach(() => {
  const crashes = [
    ...h.fake.calls.slice(seen.calls).filter((c) => crash.test(JSON.stringify(c.args))),
    ...h.fake.responses.slice(seen.responses).filter((r) => crash.test(JSON.stringify(r.body))),
  ];
  expect(crashes).toEqual([]);
});

/**
 * Clicks and form submissions are acknowledged before their handlers finish. A global middleware
 * (Bolt awaits every listener inside it) says when the handlers of a payload are done, so the
 * database is compared after them, not in the middle.
 */
const handled = new EventEmitter().setMaxListeners(0);

function trackHandling(harness: Harness): void {
  harness.bot.app.use(async ({ body, next }) => {
    const marker = markerOf(body);
    try {
      await next();
      if (marker) handled.emit(marker, null);
    } catch (error) {
      if (marker) handled.emit(marker, describeError(error as Error));
      throw error;
    }
  });
}

function markerOf(body: unknown): string | undefined {
  const payload = body as { actions?: Array<{ action_ts?: unknown }>; view?: { id?: unknown } };
  const marker = payload.actions?.[0]?.action_ts ?? payload.view?.id;
  return typeof marker === 'string' && marker.startsWith('fuzz-') ? marker : undefined;
}

/** Sends a payload marked with `marker` and waits until its handlers are done, none of them failing. */
async function untilHandled(
  marker: string,
  send: () => Promise<SlackHttpResponse>,
): Promise<SlackHttpResponse> {
  const done = once(handled, marker, { signal: AbortSignal.timeout(10_000) });
  const response = await send();
  // Refused before any handler ran: nothing will be done.
  if (response.status !== 200) return response;
  const [failure] = (await done) as [string | null];
  expect(failure, 'a listener threw').toBeNull();
  return response;
}

const newMarker = () => `fuzz-${randomBytes(6).toString('hex')}`;

/** What the database holds that a request from outside could change. */
async function snapshot() {
  const [requests, approvals, extensions, freezes, lastAudit] = await Promise.all([
    h.db.prisma.accessRequest.findMany({ select: { id: true, state: true, version: true } }),
    h.db.prisma.approval.count(),
    h.db.prisma.extension.count(),
    h.db.prisma.freeze.count(),
    h.db.prisma.auditEvent.aggregate({ _max: { id: true } }),
  ]);
  return { requests, approvals, extensions, freezes, lastAuditId: lastAudit._max.id ?? 0n };
}
type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/**
 * Nothing changed but, at most, one new request written whole (with its `request.created` event)
 * and audit events of the kinds in `alsoAllowed` (refusals are audited).
 */
async function expectNothingButACompleteRequest(before: Snapshot, alsoAllowed: string[] = []): Promise<void> {
  expect(loggedErrors.splice(0)).toEqual([]);
  const after = await snapshot();
  const known = new Map(before.requests.map((r) => [r.id, r]));
  const created = after.requests.filter((r) => !known.has(r.id));
  const changed = after.requests.filter((r) => {
    const was = known.get(r.id);
    return was !== undefined && (was.state !== r.state || was.version !== r.version);
  });
  expect(changed).toEqual([]);
  expect(created.length).toBeLessThanOrEqual(1);
  expect([after.approvals, after.extensions, after.freezes]).toEqual([
    before.approvals,
    before.extensions,
    before.freezes,
  ]);
  const events = await h.db.prisma.auditEvent.findMany({ where: { id: { gt: before.lastAuditId } } });
  const newRequest = created[0];
  if (newRequest) {
    expect(newRequest.state).toBe('pending');
    expect(events.filter((e) => e.requestId === newRequest.id).map((e) => e.action)).toContain(
      'request.created',
    );
  }
  const unexpected = events.filter(
    (e) => !(newRequest && e.requestId === newRequest.id) && !alsoAllowed.includes(e.action),
  );
  expect(unexpected.map((e) => e.action)).toEqual([]);
}

/** Any text, in any script, with Slack's markup for mentions, channels and links mixed in. */
const anyText = (maxLength: number) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc
      .array(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom(
            '<@UALICE01>',
            '<@UBOB0001|bob>',
            '<!channel>',
            '<!here>',
            '<!subteam^S0DBA|@dba>',
            '<#C0SECURITY|security>',
            '<https://example.com/a?b=c|link>',
            ':boom:',
            '`code`',
            '*bold*',
            '&lt;&amp;&gt;',
            '\u202e',
            '\u0000',
            '👩‍👩‍👧‍👦',
          ),
        ),
        { maxLength: 20 },
      )
      .map((parts) => parts.join(' ')),
  );

describe('slash command text', () => {
  const verb = fc.constantFrom(
    'request',
    'REQUEST',
    'release',
    'extend',
    'list',
    'pending',
    'help',
    'revoke',
    'freeze',
    'unfreeze',
    'audit',
    'jit',
    '',
  );
  const resource = fc.oneof(
    fc.constantFrom('prod-db-write', 'prod-db-two-level', 'PROD-DB-WRITE'),
    fc.string(),
  );
  const duration = fc.oneof(
    fc.constantFrom(
      '1h',
      '30m',
      '90s',
      '1h30m',
      '4h',
      '5h',
      '0s',
      '-1h',
      '1.5h',
      '99999999999999d',
      '1 hour',
    ),
    fc.string({ maxLength: 8 }),
  );
  const idOrScope = fc.oneof(
    fc.stringMatching(/^(JIT|jit)-[0-9A-Z]{6}$/),
    fc.constantFrom('all', '<@UALICE01>', 'prod-db-write'),
  );
  const text = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(verb, resource, duration, anyText(200)).map((p) => p.join(' ')) },
    { weight: 2, arbitrary: fc.tuple(verb, idOrScope, anyText(100)).map((p) => p.join(' ')) },
    { weight: 2, arbitrary: anyText(300) },
    { weight: 1, arbitrary: fc.string({ minLength: 3990, maxLength: 4100 }).map((s) => `request ${s}`) },
  );
  // Not admins: what they may do is what anyone may do, and what they may not is refused.
  const requester = fc.constantFrom(users.alice, users.eve, users.frank, 'UNKNOWN99');

  it('always gets an ephemeral answer or the form, and writes a whole request or nothing', async () => {
    let replies = 0;
    await fc.assert(
      fc.asyncProperty(text, requester, async (input, userId) => {
        const before = await snapshot();
        const id = `fuzz-slash-${++replies}`;
        const triggerId = newTriggerId();
        const http = await postSlashCommand(h.url, signingSecret, {
          text: input,
          user_id: userId,
          response_url: h.fake.responseUrl(id),
          trigger_id: triggerId,
        });
        expect(http.status).toBe(200);
        const answer = await answerTo(http, input, id, triggerId);
        if (answer !== 'form') {
          expect(answer.response_type).toBe('ephemeral');
          expect(String(answer.text ?? '').trim()).not.toBe('');
          expect(String(answer.text)).not.toMatch(crash);
        }
        await expectNothingButACompleteRequest(before, ['admin.refused']);
      }),
      { numRuns: 200 },
    );
  });

  // Found by the property above: PostgreSQL text cannot hold U+0000, so such a reason must be
  // refused (or cleaned) before it reaches the database.
  it.each([
    [
      '/jit request',
      async () =>
        (await h.slash(users.alice, 'request prod-db-write 1h INC-702 \u0000 null byte')).reply.body,
    ],
    [
      'the request form',
      async () =>
        (
          await h.submitView(
            users.alice,
            callbackIds.request,
            { channelId: null },
            {
              resource: { resource: { type: 'static_select', selected_option: { value: 'prod-db-write' } } },
              duration: { duration: { type: 'plain_text_input', value: '1h' } },
              reason: { reason: { type: 'plain_text_input', value: 'INC-703 \u0000 null byte' } },
            },
          )
        ).body,
    ],
  ])(
    'a reason with a NUL character through %s gets a clear answer and writes nothing',
    async (_via, send) => {
      const before = await snapshot();
      const answer = JSON.stringify(await send());
      expect(answer).not.toMatch(crash);
      expect(answer).toMatch(/reason/i);
      await expectNothingButACompleteRequest(before);
      expect((await snapshot()).requests).toHaveLength(before.requests.length);
    },
  );
});

/** Where the answer to a slash command is: the ack, the request form, or a response_url post. */
async function answerTo(
  http: SlackHttpResponse,
  text: string,
  responseId: string,
  triggerId: string,
): Promise<'form' | Record<string, unknown>> {
  if (http.body) return JSON.parse(http.body) as Record<string, unknown>;
  if (text.length <= 4000 && parseJitCommand(text).kind === 'open-modal') {
    const opened = await h.fake.waitFor('views.open', (c) => c.args.trigger_id === triggerId);
    expect(opened.ok).toBe(true);
    return 'form';
  }
  return (await h.fake.waitForResponse((r) => r.id === responseId)).body;
}

const fixtureIds = ['FIXTURE:pending', 'FIXTURE:grant'] as const;
/** Someone trying what they may not is audited; that is the only write such a try makes. */
const refusals = ['admin.refused', 'approval.refused'];
const resolveFixture = (value: string) =>
  value === 'FIXTURE:pending' ? pendingId : value === 'FIXTURE:grant' ? grantId : value;

describe('button payloads', () => {
  const messageActionIds = [
    ...Object.values(actionIds),
    ...Object.values(grantActionIds),
    ...Object.values(extensionActionIds),
  ];
  /** What Slack sends is fixed by where the button is: a message (with a response_url) or a view. */
  const inMessage = fc.record({
    kind: fc.constant('message' as const),
    actionId: fc.constantFrom(...messageActionIds),
    channelId: fc.oneof(fc.constantFrom('C0REQUESTS', `D${users.eve}`), fc.string({ maxLength: 20 })),
    messageTs: fc.oneof(fc.constant('1700000000.000100'), fc.string({ maxLength: 20 })),
  });
  const inView = fc.record({
    kind: fc.constant('view' as const),
    // The buttons the App Home renders.
    actionId: fc.constantFrom(
      homeActionIds.approve,
      homeActionIds.release,
      grantActionIds.extend,
      grantActionIds.revoke,
    ),
    viewId: fc.string({ maxLength: 20 }),
  });
  const click = fc.record({
    where: fc.oneof(inMessage, inView),
    clicker: fc.constantFrom(users.bob, users.eve, users.frank, users.sec, 'UNKNOWN99'),
    value: fc.option(
      fc.oneof(
        fc.constantFrom(...fixtureIds),
        fc.stringMatching(/^(JIT|EXT)-[0-9A-Z]{6}$/),
        fc.string({ unit: 'binary', maxLength: 2100 }),
      ),
      { nil: undefined },
    ),
    actionExtras: fc.dictionary(
      fc.constantFrom('type', 'block_id', 'text', 'selected_option', 'style'),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 3 },
    ),
    payloadExtras: fc.dictionary(fc.stringMatching(/^x_[a-z]{1,8}$/), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 3,
    }),
    noState: fc.boolean(),
  });

  it('are acknowledged, and change nothing a person with no right to act could not', async () => {
    await fc.assert(
      fc.asyncProperty(click, async (input) => {
        const before = await snapshot();
        const fixture = input.value !== undefined && (fixtureIds as readonly string[]).includes(input.value);
        // Fixtures belong to Alice: only Eve, who may do nothing with them, clicks on them.
        const clicker = fixture ? users.eve : input.clicker;
        const { where } = input;
        const payload = blockActionPayload({
          user_id: clicker,
          action_id: where.actionId,
          value: input.value === undefined ? '' : resolveFixture(input.value),
          ...(where.kind === 'message'
            ? { channel_id: where.channelId, message_ts: where.messageTs, response_url: h.fake.responseUrl() }
            : { container: { type: 'view', view_id: where.viewId } }),
        });
        const [action] = payload.actions as Array<Record<string, unknown>>;
        const marker = newMarker();
        Object.assign(action as Record<string, unknown>, input.actionExtras, {
          action_id: where.actionId,
          action_ts: marker,
        });
        if (input.value === undefined) delete (action as Record<string, unknown>).value;
        if (input.noState) delete payload.state;
        Object.assign(payload, input.payloadExtras);
        const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
        const response = await untilHandled(marker, () => postSigned(h.url, signingSecret, body, form));
        expect(response.status).toBe(200);
        await expectNothingButACompleteRequest(before, refusals);
      }),
      { numRuns: 150 },
    );
  });
});

describe('modal submissions', () => {
  const text = (maxLength: number) =>
    fc.oneof(fc.constantFrom('', ' ', 'INC-42 checking replication lag'), anyText(maxLength));
  const stateValues = fc.oneof(
    fc.record({
      resource: fc.record({
        resource: fc.record({
          type: fc.constant('static_select'),
          selected_option: fc.option(
            fc.record({
              value: fc.oneof(fc.constantFrom('prod-db-write', 'prod-db-two-level'), fc.string()),
            }),
            { nil: null },
          ),
        }),
      }),
      duration: fc.record({
        duration: fc.record({
          type: fc.constant('plain_text_input'),
          value: fc.option(fc.oneof(fc.constantFrom('1h', '30m', '', '5h', '90s', '-1h'), fc.string()), {
            nil: null,
          }),
        }),
      }),
      reason: fc.record({
        reason: fc.record({
          type: fc.constant('plain_text_input'),
          value: fc.option(text(600), { nil: null }),
        }),
      }),
    }),
    fc.dictionary(
      fc.constantFrom('resource', 'duration', 'reason', 'other'),
      fc.dictionary(fc.constantFrom('resource', 'duration', 'reason', 'x'), fc.jsonValue({ maxDepth: 3 }), {
        maxKeys: 2,
      }),
      { maxKeys: 4 },
    ),
  );
  const metadata = fc.oneof(
    fc
      .record({ channelId: fc.option(fc.string({ maxLength: 40 }), { nil: null }) })
      .map((m) => JSON.stringify(m)),
    fc
      .record({
        requestId: fc.oneof(
          fc.constantFrom(...fixtureIds),
          fc.stringMatching(/^JIT-[0-9A-Z]{6}$/),
          fc.string(),
        ),
      })
      .map((m) => JSON.stringify(m)),
    fc
      .record({
        extensionId: fc.oneof(fc.stringMatching(/^EXT-[0-9A-Z]{6}$/), fc.string()),
        channel: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
        ts: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
      })
      .map((m) => JSON.stringify(m)),
    fc.jsonValue({ maxDepth: 3 }).map((m) => JSON.stringify(m)),
    fc.string({ unit: 'binary', maxLength: 3100 }),
  );
  const submission = fc.record({
    callbackId: fc.constantFrom(...Object.values(callbackIds)),
    submitter: fc.constantFrom(users.alice, users.eve, users.frank, 'UNKNOWN99'),
    metadata,
    values: stateValues,
  });

  it('answer with success or an error shown on the form, never a half-written request', async () => {
    await fc.assert(
      fc.asyncProperty(submission, async (input) => {
        const before = await snapshot();
        const fixture = fixtureIds.some((f) => input.metadata.includes(f));
        const privateMetadata = input.metadata
          .replaceAll('FIXTURE:pending', pendingId)
          .replaceAll('FIXTURE:grant', grantId);
        const marker = newMarker();
        const response = await untilHandled(marker, () =>
          postViewSubmission(h.url, signingSecret, {
            view_id: marker,
            user_id: fixture ? users.eve : input.submitter,
            callback_id: input.callbackId,
            private_metadata: privateMetadata,
            state_values: input.values as Record<string, Record<string, unknown>>,
          }),
        );
        expect(response.status).toBe(200);
        if (response.body) {
          const answer = JSON.parse(response.body) as {
            response_action: string;
            errors?: Record<string, unknown>;
          };
          expect(['errors', 'update', 'clear', 'push']).toContain(answer.response_action);
          for (const message of Object.values(answer.errors ?? {})) {
            expect(typeof message).toBe('string');
            expect(String(message).trim()).not.toBe('');
            expect(String(message)).not.toMatch(crash);
          }
        }
        await expectNothingButACompleteRequest(before, refusals);
      }),
      { numRuns: 150 },
    );
  });
});

describe('hook bodies', () => {
  const hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex');
  const nowSec = () => Math.floor(Date.now() / 1000);
  const headerSafe = (maxLength: number) => fc.stringMatching(new RegExp(`^[\\x21-\\x7e]{0,${maxLength}}$`));

  const recallBody = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc
      .record(
        {
          requestId: fc.oneof(fc.stringMatching(/^(JIT|jit)-[0-9A-Z]{6}$/), fc.jsonValue()),
          reason: fc.oneof(anyText(600), fc.jsonValue()),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          user: fc.oneof(fc.stringMatching(/^[UW][A-Z0-9]{8}$/), fc.jsonValue()),
          resource: fc.oneof(fc.constantFrom('prod-db-write', 'nope'), fc.jsonValue()),
          reason: fc.oneof(anyText(600), fc.jsonValue()),
          extra: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
  );
  const recallSigning = fc.constantFrom('valid', 'stale', 'future', 'other-secret', 'garbage', 'missing');

  async function postRecall(body: string, signing: string): Promise<Response> {
    const timestamp = signing === 'stale' ? nowSec() - 600 : signing === 'future' ? nowSec() + 600 : nowSec();
    const secret = signing === 'other-secret' ? 'another-secret-0123456789' : recallSecret;
    const signature = signing === 'garbage' ? 'v0=zz' : `v0=${hmac(secret, `v0:${timestamp}:${body}`)}`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signing !== 'missing')
      Object.assign(headers, { 'x-jit-timestamp': String(timestamp), 'x-jit-signature': signature });
    return fetch(`${h.origin}/hooks/recall`, { method: 'POST', headers, body });
  }

  async function expectClearAnswer(response: Response): Promise<void> {
    expect(response.status).toBeLessThan(500);
    const answer = JSON.parse(await response.text()) as Record<string, unknown>;
    if (response.status >= 400) {
      expect(typeof answer.error).toBe('string');
      expect(String(answer.error).trim()).not.toBe('');
    }
  }

  it('recall: any body, any signature, gets a 2xx or a 4xx that says why', async () => {
    await fc.assert(
      fc.asyncProperty(recallBody, recallSigning, async (body, signing) => {
        const before = await snapshot();
        await expectClearAnswer(await postRecall(body, signing));
        await expectNothingButACompleteRequest(before, ['hook.rejected']);
      }),
      { numRuns: 200 },
    );
  });

  const githubBody = fc.oneof(
    fc.jsonValue(),
    fc.record(
      {
        action: fc.oneof(fc.constantFrom('closed', 'opened'), fc.jsonValue()),
        pull_request: fc.record(
          {
            number: fc.oneof(fc.integer(), fc.jsonValue()),
            html_url: fc.oneof(fc.webUrl(), fc.jsonValue()),
            merged: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
        repository: fc.record(
          { name: fc.jsonValue(), owner: fc.record({ login: fc.jsonValue() }, { requiredKeys: [] }) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
  );
  const githubCall = fc.record({
    event: fc.oneof(fc.constantFrom('pull_request', 'ping', 'push'), headerSafe(30)),
    payload: githubBody,
    formEncoded: fc.boolean(),
    signing: fc.constantFrom('valid', 'other-secret', 'garbage', 'missing'),
  });

  it('github: any event, body and signature gets a 2xx or a 4xx that says why', async () => {
    await fc.assert(
      fc.asyncProperty(githubCall, async (input) => {
        const before = await snapshot();
        const json = JSON.stringify(input.payload);
        const body = input.formEncoded ? new URLSearchParams({ payload: json }).toString() : json;
        const secret = input.signing === 'other-secret' ? 'another-secret-0123456789' : githubSecret;
        const headers: Record<string, string> = {
          'content-type': input.formEncoded ? form : 'application/json',
          'x-github-event': input.event,
          'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        };
        if (input.signing !== 'missing') {
          headers['x-hub-signature-256'] =
            input.signing === 'garbage' ? 'sha256=zz' : `sha256=${hmac(secret, body)}`;
        }
        await expectClearAnswer(await fetch(`${h.origin}/hooks/github`, { method: 'POST', headers, body }));
        await expectNothingButACompleteRequest(before, ['hook.rejected']);
      }),
      { numRuns: 200 },
    );
  });
});
