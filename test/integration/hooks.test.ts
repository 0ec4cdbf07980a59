import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookRoutes } from '../../src/http/hooks/routes.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { grantedRequest } from '../support/granted-request.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

/**
 * The recall hooks over real HTTP, against real PostgreSQL roles: `POST /hooks/recall` signed
 * with JIT_HOOK_SECRET and `POST /hooks/github` signed the way GitHub does. A refused call
 * changes nothing and leaves a `hook.rejected` audit event.
 */

const recallSecret = 'recall-hook-secret-0123456789';
const githubSecret = 'github-hook-secret-0123456789';
const env = { JIT_HOOK_SECRET: recallSecret, GITHUB_WEBHOOK_SECRET: githubSecret };

interface HookResponse {
  status: number;
  json: Record<string, unknown>;
}

const nowSec = () => Math.floor(Date.now() / 1000);
const hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex');

async function answer(response: Response): Promise<HookResponse> {
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function postRecall(
  origin: string,
  body: string,
  options: { secret?: string; timestamp?: number; headers?: Record<string, string> } = {},
): Promise<HookResponse> {
  const timestamp = options.timestamp ?? nowSec();
  const signature = `v0=${hmac(options.secret ?? recallSecret, `v0:${timestamp}:${body}`)}`;
  const response = await fetch(`${origin}/hooks/recall`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-jit-timestamp': String(timestamp),
      'x-jit-signature': signature,
      ...options.headers,
    },
    body,
  });
  return answer(response);
}

async function postGitHub(
  origin: string,
  event: string,
  payload: unknown,
  options: { secret?: string; form?: boolean; delivery?: string } = {},
): Promise<HookResponse> {
  const json = JSON.stringify(payload);
  const body = options.form ? new URLSearchParams({ payload: json }).toString() : json;
  const response = await fetch(`${origin}/hooks/github`, {
    method: 'POST',
    headers: {
      'content-type': options.form ? 'application/x-www-form-urlencoded' : 'application/json',
      'x-github-event': event,
      'x-github-delivery': options.delivery ?? randomUUID(),
      'x-hub-signature-256': `sha256=${hmac(options.secret ?? githubSecret, body)}`,
    },
    body,
  });
  return answer(response);
}

function closedPullRequest(number: number, merged = true) {
  return {
    action: 'closed',
    number,
    pull_request: {
      number,
      html_url: `https://github.com/acme/api/pull/${number}`,
      merged,
      title: 'Fix the migration',
      body: 'A description GitHub sends along, ignored here.',
    },
    repository: { name: 'api', full_name: 'acme/api', owner: { login: 'acme' } },
    sender: { login: 'octocat' },
  };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    env,
    extraResources: `
  staging-db:
    description: Staging database
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [UBOB0001] }`,
  });
});
afterAll(async () => {
  await h?.stop();
});

const grant = (requester: string, reason: string, resource = 'prod-db-write') =>
  grantedRequest(h, { requester, resource, duration: '1h', reason });

const stateOf = async (id: string) =>
  (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state;

const auditOf = (action: string) =>
  h.db.prisma.auditEvent.findMany({ where: { action }, orderBy: { id: 'asc' } });

/** Every audit event except hook rejections: what a refused call must not add to. */
const changeCount = () => h.db.prisma.auditEvent.count({ where: { action: { not: 'hook.rejected' } } });

/** Ends every open grant, so a test's lists of recalled grants are its own. */
async function endAllGrants(): Promise<void> {
  await h.slash(users.sec, 'freeze all cleaning up between tests');
  await h.slash(users.sec, 'unfreeze all');
}

/** Checks that a refused call changed nothing and was audited with the status and why. */
async function expectRefusedAndAudited(
  call: () => Promise<HookResponse>,
  expected: { status: number; hook: 'recall' | 'github'; why: RegExp; error: RegExp },
  grantId: string,
  login: string,
): Promise<void> {
  const rejectedBefore = (await auditOf('hook.rejected')).length;
  const changesBefore = await changeCount();
  const { version } = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id: grantId } });

  const response = await call();

  expect(response.status).toBe(expected.status);
  expect(String(response.json.error)).toMatch(expected.error);
  const after = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id: grantId } });
  expect(after).toMatchObject({ state: 'active', version });
  expect(await h.isMember(login)).toBe(true);
  expect(await changeCount()).toBe(changesBefore);
  const rejected = await auditOf('hook.rejected');
  expect(rejected).toHaveLength(rejectedBefore + 1);
  const event = rejected.at(-1);
  expect(event).toMatchObject({
    actor: `hook:${expected.hook}`,
    requestId: null,
    details: { hook: expected.hook, status: expected.status },
  });
  expect(String((event?.details as { why?: string } | undefined)?.why)).toMatch(expected.why);
}

describe('POST /hooks/recall', () => {
  it('recalls a grant by request id: revoked on PostgreSQL, the requester told why, audited', async () => {
    const id = await grant(users.alice, 'investigating INC-42');
    expect(await h.isMember(h.login('alice'))).toBe(true);

    const response = await postRecall(
      h.origin,
      JSON.stringify({ requestId: id.toLowerCase(), reason: 'INC-42 resolved in PagerDuty' }),
    );

    expect(response).toMatchObject({
      status: 200,
      json: { revoked: [id], denied: [], retrying: [], unchanged: [], message: `Recalled 1: ${id}.` },
    });
    expect(await stateOf(id)).toBe('revoked');
    expect(await h.isMember(h.login('alice'))).toBe(false);
    const dm = await h.dmTo(users.alice, `${id}\`: your access`);
    expect(JSON.stringify(dm.args.blocks)).toContain('INC-42 resolved in PagerDuty');
    const [event] = (await auditOf('request.revoked')).filter((e) => e.requestId === id);
    expect(event).toMatchObject({
      actor: 'hook:recall',
      fromState: 'active',
      details: { reason: 'INC-42 resolved in PagerDuty' },
    });
    await h.fake.waitFor(
      'chat.postMessage',
      (c) =>
        c.args.channel === securityChannel &&
        String(c.args.text).startsWith(`request.revoked ${id} by hook:recall`),
    );
  });

  it('a second recall of the same request is a no-op that says so', async () => {
    const id = await grant(users.alice, 'investigating INC-43');
    const body = JSON.stringify({ requestId: id, reason: 'INC-43 resolved' });
    expect((await postRecall(h.origin, body)).json.revoked).toEqual([id]);
    const changesBefore = await changeCount();

    // Signed anew, as a sender retrying does: the same signed call again is a replay (see below).
    const again = await postRecall(h.origin, body, { timestamp: nowSec() + 1 });

    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ revoked: [], retrying: [], unchanged: [{ id }] });
    expect(String(again.json.message)).toBe(`${id}: the request is already revoked; nothing to take back.`);
    expect(await changeCount()).toBe(changesBefore);
  });

  it('two recalls of one grant at once revoke it once', async () => {
    const id = await grant(users.eve, 'investigating INC-44');
    const body = JSON.stringify({ requestId: id, reason: 'INC-44 resolved' });

    // Two senders (or one retrying) sign on their own: the same signed call twice is a replay.
    const answers = await Promise.all([
      postRecall(h.origin, body),
      postRecall(h.origin, body, { timestamp: nowSec() - 1 }),
    ]);

    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers.flatMap((a) => a.json.revoked as string[])).toEqual([id]);
    expect(answers.flatMap((a) => a.json.unchanged as unknown[])).toHaveLength(1);
    expect((await auditOf('request.revoked')).filter((e) => e.requestId === id)).toHaveLength(1);
    expect(await h.isMember(h.login('eve'))).toBe(false);
  });

  it('denies a request still waiting for approval, so it is never granted', async () => {
    const id = await h.request(users.dave, 'prod-db-write', '1h', 'waiting on INC-45');
    await h.approverMessage(id, users.bob);

    const response = await postRecall(h.origin, JSON.stringify({ requestId: id, reason: 'INC-45 closed' }));

    expect(response.json).toMatchObject({ denied: [id], revoked: [] });
    expect(await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).toMatchObject({
      state: 'denied',
      decidedBy: 'hook:recall',
      decisionRule: 'recall',
      endReason: 'INC-45 closed',
    });
    await h.click(users.bob, actionIds.approve, id, await h.approverMessage(id, users.bob));
    expect(await stateOf(id)).toBe('denied');
  });

  it('recalls by user and resource, leaving the user’s other resources and other users alone', async () => {
    await endAllGrants();
    const prod = await grant(users.alice, 'rotating keys');
    const staging = await grant(users.alice, 'rotating keys', 'staging-db');
    const eves = await grant(users.eve, 'rotating keys');

    const response = await postRecall(
      h.origin,
      JSON.stringify({ user: users.alice, resource: 'prod-db-write', reason: 'offboarding' }),
    );

    expect(response).toMatchObject({ status: 200, json: { revoked: [prod], unchanged: [] } });
    expect([await stateOf(prod), await stateOf(staging), await stateOf(eves)]).toEqual([
      'revoked',
      'active',
      'active',
    ]);
    expect(await h.isMember(h.login('eve'))).toBe(true);

    const nothing = await postRecall(
      h.origin,
      JSON.stringify({ user: users.dave, resource: 'prod-db-write', reason: 'offboarding' }),
    );
    expect(nothing).toMatchObject({
      status: 200,
      json: { revoked: [], message: 'Nothing to recall: no grant matched.' },
    });
  });

  it('refuses a captured recall sent again within its window, leaving the newer grant alone', async () => {
    await endAllGrants();
    const first = await grant(users.alice, 'patching');
    const body = JSON.stringify({ user: users.alice, resource: 'prod-db-write', reason: 'INC-77 contained' });
    const signedAt = nowSec();
    const recalled = await postRecall(h.origin, body, { timestamp: signedAt });
    expect(recalled.json, JSON.stringify(recalled)).toMatchObject({ revoked: [first] });

    // Alice is granted again; whoever captured the call above sends it once more.
    const newer = await grant(users.alice, 'patching again, approved');
    await expectRefusedAndAudited(
      () => postRecall(h.origin, body, { timestamp: signedAt }),
      { status: 409, hook: 'recall', why: /already received/, error: /already received/ },
      newer,
      h.login('alice'),
    );
    // Upper-case hex is the same signature to the check, and the same call to the memory.
    const upper = `v0=${hmac(recallSecret, `v0:${signedAt}:${body}`).toUpperCase()}`;
    const shouted = await postRecall(h.origin, body, {
      timestamp: signedAt,
      headers: { 'x-jit-signature': upper },
    });
    expect(shouted.status).toBe(409);
    expect(await stateOf(newer)).toBe('active');
  });

  describe('refuses, changes nothing, and audits', () => {
    let id: string;
    beforeAll(async () => {
      id = await grant(users.carol, 'holding for refusals');
    });
    const recall = () => JSON.stringify({ requestId: id, reason: 'should not happen' });

    it('a signature made with another secret', async () => {
      await expectRefusedAndAudited(
        () => postRecall(h.origin, recall(), { secret: 'not-the-recall-secret-000' }),
        { status: 401, hook: 'recall', why: /^signature mismatch$/, error: /signature mismatch/ },
        id,
        h.login('carol'),
      );
      const event = (await auditOf('hook.rejected')).at(-1);
      expect(JSON.stringify(event?.details)).not.toMatch(/should not happen|v0=/);
      await h.fake.waitFor(
        'chat.postMessage',
        (c) => c.args.channel === securityChannel && String(c.args.text) === 'hook.rejected by hook:recall',
      );
    });

    it('a stale timestamp, even correctly signed', async () => {
      await expectRefusedAndAudited(
        () => postRecall(h.origin, recall(), { timestamp: nowSec() - 6 * 60 }),
        { status: 401, hook: 'recall', why: /more than 5 minutes/, error: /more than 5 minutes/ },
        id,
        h.login('carol'),
      );
    });

    it('a call without signature headers', async () => {
      const unsigned = () =>
        fetch(`${h.origin}/hooks/recall`, { method: 'POST', body: recall() }).then(answer);
      await expectRefusedAndAudited(
        unsigned,
        { status: 401, hook: 'recall', why: /headers are required/, error: /X-Jit-Signature/ },
        id,
        h.login('carol'),
      );
    });

    it.each([
      ['bad JSON', '{"requestId":', /not JSON/, /must be JSON/],
      ['a missing reason', '{"requestId":"JIT-7K2MQ9"}', /reason/, /reason: is required/],
      ['an empty reason', '{"requestId":"JIT-7K2MQ9","reason":"  "}', /reason/, /reason: is required/],
      [
        'a malformed id',
        '{"requestId":"7K2MQ9","reason":"x"}',
        /requestId/,
        /requestId: must be a request id/,
      ],
      ['an unknown key', '{"requestId":"JIT-7K2MQ9","reason":"x","force":true}', /force/, /force/],
      ['a bad user id', '{"user":"alice","resource":"prod-db-write","reason":"x"}', /user/, /Slack user id/],
      ['an array', '[]', /body/, /Bad body/],
    ])('%s (400)', async (_what, body, why, error) => {
      await expectRefusedAndAudited(
        () => postRecall(h.origin, body),
        { status: 400, hook: 'recall', why, error },
        id,
        h.login('carol'),
      );
    });

    it('an unknown resource, listing the known ones (400)', async () => {
      await expectRefusedAndAudited(
        () =>
          postRecall(
            h.origin,
            JSON.stringify({ user: users.carol, resource: 'prod-db-read', reason: 'offboarding' }),
          ),
        {
          status: 400,
          hook: 'recall',
          why: /Unknown resource/,
          error: /Unknown resource "prod-db-read". Available: prod-db-two-level, prod-db-write, staging-db\./,
        },
        id,
        h.login('carol'),
      );
    });

    it('an unknown request id (404)', async () => {
      await expectRefusedAndAudited(
        () => postRecall(h.origin, JSON.stringify({ requestId: 'JIT-ZZZZZZ', reason: 'INC-1 closed' })),
        { status: 404, hook: 'recall', why: /No request JIT-ZZZZZZ/, error: /No request JIT-ZZZZZZ/ },
        id,
        h.login('carol'),
      );
    });

    it('another method (405)', async () => {
      const get = () => fetch(`${h.origin}/hooks/recall`).then(answer);
      await expectRefusedAndAudited(
        get,
        { status: 405, hook: 'recall', why: /method GET/, error: /Use POST/ },
        id,
        h.login('carol'),
      );
    });

    it('a body over 64 KiB (413), before looking at it', async () => {
      const huge = JSON.stringify({ requestId: id, reason: 'x'.repeat(70 * 1024) });
      await expectRefusedAndAudited(
        () => postRecall(h.origin, huge),
        { status: 413, hook: 'recall', why: /body over 65536 bytes/, error: /larger than 65536 bytes/ },
        id,
        h.login('carol'),
      );
    });

    it('a body over 64 KiB sent without a Content-Length (413)', async () => {
      const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
      let sent = 0;
      const streamed = () =>
        fetch(`${h.origin}/hooks/recall`, {
          method: 'POST',
          headers: { 'x-jit-timestamp': String(nowSec()), 'x-jit-signature': `v0=${'0'.repeat(64)}` },
          // Chunked: the cap has to hold while the body is still arriving.
          body: new ReadableStream({
            pull(controller) {
              if (sent++ < 8) controller.enqueue(chunk);
              else controller.close();
            },
          }),
          duplex: 'half',
        } as RequestInit).then(answer);
      await expectRefusedAndAudited(
        streamed,
        { status: 413, hook: 'recall', why: /body over 65536 bytes/, error: /larger than 65536 bytes/ },
        id,
        h.login('carol'),
      );
    });
  });
});

describe('POST /hooks/github', () => {
  it('a closed pull request recalls exactly the grants whose reason names it', async () => {
    await endAllGrants();
    const byShortForm = await grant(users.alice, 'deploying acme/api#123');
    const byUrl = await grant(users.dave, 'reviewing https://github.com/acme/api/pull/123/files');
    const otherNumber = await grant(
      users.eve,
      'deploying acme/api#12 and https://github.com/acme/api/pull/1234',
    );
    const otherRepo = await grant(users.carol, 'deploying acme/web#123');

    const response = await postGitHub(h.origin, 'pull_request', closedPullRequest(123));

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ pullRequest: 'acme/api#123', unchanged: [], retrying: [] });
    expect([...(response.json.revoked as string[])].sort()).toEqual([byShortForm, byUrl].sort());
    expect([
      await stateOf(byShortForm),
      await stateOf(byUrl),
      await stateOf(otherNumber),
      await stateOf(otherRepo),
    ]).toEqual(['revoked', 'revoked', 'active', 'active']);
    expect(await h.isMember(h.login('alice'))).toBe(false);
    expect(await h.isMember(h.login('dave'))).toBe(false);
    expect(await h.isMember(h.login('eve'))).toBe(true);
    expect(await h.isMember(h.login('carol'))).toBe(true);
    const [event] = (await auditOf('request.revoked')).filter((e) => e.requestId === byShortForm);
    expect(event).toMatchObject({
      actor: 'hook:github',
      details: { reason: 'Pull request acme/api#123 was merged (https://github.com/acme/api/pull/123).' },
    });

    const redelivered = await postGitHub(h.origin, 'pull_request', closedPullRequest(123));
    expect(redelivered.json).toMatchObject({ revoked: [], retrying: [] });
    expect(redelivered.json.unchanged).toEqual([]);
  });

  it('handles each delivery once: a replayed delivery id recalls nothing new, a missing one is refused', async () => {
    await endAllGrants();
    const delivery = randomUUID();
    const first = await grant(users.alice, 'deploying acme/api#321');
    const closed = await postGitHub(h.origin, 'pull_request', closedPullRequest(321), { delivery });
    expect(closed.json.revoked).toEqual([first]);

    // A follow-up fix for the same pull request, granted after it closed; the delivery comes again.
    const followUp = await grant(users.alice, 'follow-up to acme/api#321');
    const replayed = await postGitHub(h.origin, 'pull_request', closedPullRequest(321), { delivery });
    expect(replayed).toMatchObject({ status: 200, json: { duplicate: true, delivery } });
    expect(await stateOf(followUp)).toBe('active');
    expect(await h.isMember(h.login('alice'))).toBe(true);

    const body = JSON.stringify(closedPullRequest(321));
    await expectRefusedAndAudited(
      () =>
        fetch(`${h.origin}/hooks/github`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'pull_request',
            'x-hub-signature-256': `sha256=${hmac(githubSecret, body)}`,
          },
          body,
        }).then(answer),
      {
        status: 400,
        hook: 'github',
        why: /X-GitHub-Delivery/,
        error: /X-GitHub-Delivery header is required/,
      },
      followUp,
      h.login('alice'),
    );
  });

  it('takes the payload form field when the webhook sends form-encoded bodies', async () => {
    const id = await grant(users.alice, 'hotfix acme/api#77');
    const response = await postGitHub(h.origin, 'pull_request', closedPullRequest(77, false), { form: true });
    expect(response.json).toMatchObject({ revoked: [id] });
    expect((await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).endReason).toBe(
      'Pull request acme/api#77 was closed without merging (https://github.com/acme/api/pull/77).',
    );
  });

  it('answers ping, and acknowledges other events and actions without acting', async () => {
    const id = await grant(users.alice, 'hotfix acme/api#88');
    expect(
      await postGitHub(h.origin, 'ping', { zen: 'Keep it logically awesome.', hook_id: 1 }),
    ).toMatchObject({
      status: 200,
      json: { message: 'pong' },
    });
    expect(await postGitHub(h.origin, 'push', { ref: 'refs/heads/main' })).toMatchObject({
      status: 202,
      json: { ignored: 'event push' },
    });
    const opened = await postGitHub(h.origin, 'pull_request', {
      ...closedPullRequest(88),
      action: 'reopened',
    });
    expect(opened).toMatchObject({ status: 202, json: { ignored: 'pull_request.reopened' } });
    expect(await stateOf(id)).toBe('active');
  });

  it('refuses a bad signature, changing nothing, and audits it', async () => {
    const id = await grant(users.eve, 'hotfix acme/api#99');
    await expectRefusedAndAudited(
      () =>
        postGitHub(h.origin, 'pull_request', closedPullRequest(99), { secret: 'not-the-github-secret-00' }),
      { status: 401, hook: 'github', why: /^signature mismatch$/, error: /signature mismatch/ },
      id,
      h.login('eve'),
    );
    await expectRefusedAndAudited(
      () =>
        fetch(`${h.origin}/hooks/github`, {
          method: 'POST',
          headers: { 'x-github-event': 'pull_request' },
          body: JSON.stringify(closedPullRequest(99)),
        }).then(answer),
      { status: 401, hook: 'github', why: /X-Hub-Signature-256 header is required/, error: /required/ },
      id,
      h.login('eve'),
    );
    await expectRefusedAndAudited(
      () => postGitHub(h.origin, 'pull_request', { action: 'closed', pull_request: { number: 99 } }),
      { status: 400, hook: 'github', why: /bad body/, error: /repository/ },
      id,
      h.login('eve'),
    );
  });
});

describe('without the secrets', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    // The same routes the bot builds, with neither secret set, on the harness's database.
    const routes = hookRoutes({}, () => h.bot.deps);
    server = createServer((req, res) => {
      const route = routes.find((r) => req.url === r.path);
      if (route) void route.handler(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('answers 503 naming the variable to set, and audits the call', async () => {
    const id = await grant(users.dave, 'hotfix acme/api#5');
    await expectRefusedAndAudited(
      () => postRecall(origin, JSON.stringify({ requestId: id, reason: 'INC-5 closed' })),
      { status: 503, hook: 'recall', why: /JIT_HOOK_SECRET is not set/, error: /set JIT_HOOK_SECRET/ },
      id,
      h.login('dave'),
    );
    await expectRefusedAndAudited(
      () => postGitHub(origin, 'pull_request', closedPullRequest(5)),
      {
        status: 503,
        hook: 'github',
        why: /GITHUB_WEBHOOK_SECRET is not set/,
        error: /set GITHUB_WEBHOOK_SECRET/,
      },
      id,
      h.login('dave'),
    );
  });
});

describe('in Socket Mode', () => {
  let socket: Harness;
  beforeAll(async () => {
    socket = await startHarness({ socketMode: true, env });
  });
  afterAll(async () => {
    await socket?.stop();
  });

  it('serves the hooks on PORT', async () => {
    const id = await grantedRequest(socket, {
      requester: users.alice,
      resource: 'prod-db-write',
      duration: '1h',
      reason: 'deploying acme/api#321',
    });
    expect(socket.origin).toBe(`http://127.0.0.1:${socket.env.PORT}`);

    const bad = await postRecall(socket.origin, JSON.stringify({ requestId: id, reason: 'x' }), {
      secret: 'not-the-recall-secret-000',
    });
    expect(bad.status).toBe(401);
    expect(await socket.isMember(socket.login('alice'))).toBe(true);

    const response = await postGitHub(socket.origin, 'pull_request', closedPullRequest(321));
    expect(response).toMatchObject({ status: 200, json: { revoked: [id] } });
    expect(await socket.isMember(socket.login('alice'))).toBe(false);
  });
});
