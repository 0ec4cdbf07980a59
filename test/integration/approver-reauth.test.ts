import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extensionActionIds } from '../../src/slack/views/extension-card.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, securityChannel, startHarness, users } from '../support/harness.js';

/**
 * `approverReauth: oidc` end to end against a real OpenID Connect provider (`oidc-provider`)
 * started here: Approve gives the approver a one-time link; the bot's page sends the browser to
 * the provider and back; only a fresh, MFA sign-in by the approver themself approves. A sign-in
 * by someone else, one that is stale by the bot's clock, one without MFA, and a replayed
 * callback approve nothing. The "browser" is fetch with a cookie jar per site, following the
 * redirects by hand.
 */

const PUBLIC_URL = 'https://jit.example.com/bot/';
const CLIENT_SECRET = 'reauth-client-secret-for-tests-only';

let h: Harness;
let idp: Provider;
let idpServer: Server;
/** Added to the bot's clock: a sign-in then looks as old as this to it. */
let clockOffsetMs = 0;
/** Who the provider signs in next, and how (its own login page is replaced by this). */
let nextLogin: { accountId: string; amr: string[] } = { accountId: 'bob', amr: ['pwd', 'mfa'] };

beforeAll(async () => {
  idpServer = createServer();
  await new Promise<void>((resolve) => idpServer.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;
  // Set once the harness exists: the emails are the harness's logins.
  let emails: Record<string, string> = {};
  idp = new Provider(issuer, {
    clients: [
      {
        client_id: 'jit-bot',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${PUBLIC_URL}oidc/callback`],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    // Like most company providers, the ID token says how the person signed in (amr, acr).
    claims: { openid: ['sub', 'amr', 'acr'], email: ['email'] },
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, ...(emails[id] ? { email: emails[id] } : {}) }),
    }),
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // No consent screen: the company's own app.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (!accountId || !clientId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId });
      grant.addOIDCScope('openid email');
      await grant.save();
      return grant;
    },
    cookies: { keys: ['reauth-test-cookie-key'] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
  });
  idp.use(async (ctx, next) => {
    const interaction = /^\/interaction\/([^/]+)$/.exec(ctx.path);
    if (!interaction) return next();
    const { accountId, amr } = nextLogin;
    await idp.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId, amr } },
      { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
  });
  idpServer.on('request', idp.callback());

  h = await startHarness({
    clock: { now: () => new Date(Date.now() + clockOffsetMs) },
    env: { JIT_PUBLIC_URL: PUBLIC_URL, OIDC_SECRET: CLIENT_SECRET },
    extraPolicy: `
oidc:
  issuer: ${issuer}
  clientId: jit-bot
  clientSecret: \${OIDC_SECRET}
  maxAge: 5m
  requireAmr: [mfa]`,
    extraResources: `
  reauth-db:
    description: Critical; approvers sign in again
    provider: proddb
    grant: { role: {{role}} }
    duration: { default: 30m, max: 1h }
    approverReauth: oidc
    approvals:
      - from: { users: [${users.bob}] }`,
  });
  emails = { bob: `${h.login('bob')}@example.com`, eve: `${h.login('eve')}@example.com` };
});
afterAll(async () => {
  await h?.stop();
  await new Promise<void>((resolve) => (idpServer ? idpServer.close(() => resolve()) : resolve()));
});

/** Cookies of one site, paths ignored (every path here is the same site's). */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** A public address of the bot, pointed at the bot under test. */
function toBot(url: string): string {
  const parsed = new URL(url);
  expect(url.startsWith(PUBLIC_URL)).toBe(true);
  return `${h.origin}${parsed.pathname.slice('/bot'.length)}${parsed.search}`;
}

/** Presses Approve as bob and returns the link the ephemeral answer carries. */
async function approveLink(requestId: string): Promise<string> {
  const card = await h.approverMessage(requestId, users.bob);
  return linkFromClick(requestId, () => h.click(users.bob, actionIds.approve, requestId, card));
}

async function linkFromClick(subject: string, click: () => Promise<unknown>): Promise<string> {
  const before = h.fake.responses.length;
  await click();
  const reply = await h.fake.waitForResponse(
    (r) =>
      h.fake.responses.indexOf(r) >= before &&
      String(r.body.text).includes(subject) &&
      String(r.body.text).includes('sign in again'),
  );
  expect(reply.body.response_type).toBe('ephemeral');
  const link = /<(https:[^|>]+)\|Sign in and approve>/.exec(String(reply.body.text))?.[1];
  expect(link?.startsWith(`${PUBLIC_URL}approve/`)).toBe(true);
  return link as string;
}

/**
 * The browser: the bot's page, its button, the provider's redirects, up to the redirect back to
 * the bot's callback (not fetched yet), with the cookie the bot set.
 */
async function signInUntilCallback(link: string): Promise<{ callback: string; cookie: string }> {
  const bot = new Jar();
  const shown = await fetch(toBot(link));
  expect(shown.status).toBe(200);
  expect(await shown.text()).toContain('Sign in and approve');
  const started = await fetch(toBot(link), { method: 'POST', redirect: 'manual' });
  expect(started.status).toBe(303);
  // Sent back only to the callback, at its public path (the bot is served under /bot/ here).
  expect(started.headers.getSetCookie()[0]).toMatch(
    /; Path=\/bot\/oidc\/callback; HttpOnly; SameSite=Lax; Max-Age=600; Secure$/,
  );
  bot.take(started);
  const idpJar = new Jar();
  let url = started.headers.get('location') as string;
  for (let hop = 0; !url.startsWith(PUBLIC_URL); hop++) {
    expect(hop).toBeLessThan(10);
    const step = await fetch(url, { redirect: 'manual', headers: { cookie: idpJar.header() } });
    idpJar.take(step);
    expect(step.headers.get('location'), `${step.status} at ${url}`).toBeTruthy();
    url = new URL(step.headers.get('location') as string, url).toString();
  }
  return { callback: url, cookie: bot.header() };
}

async function signIn(link: string): Promise<{ page: Response; callback: string; cookie: string }> {
  const { callback, cookie } = await signInUntilCallback(link);
  const page = await fetch(toBot(callback), { headers: { cookie } });
  return { page, callback, cookie };
}

const stateOf = async (id: string) =>
  (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).state;

describe('approverReauth: oidc', () => {
  it('Approve alone does not approve; a fresh MFA sign-in by the approver does, and says so on the trail', async () => {
    const id = await h.request(users.alice, 'reauth-db', '30m');
    const link = await approveLink(id);
    expect(await stateOf(id)).toBe('pending');
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);

    nextLogin = { accountId: 'bob', amr: ['pwd', 'mfa'] };
    const { page, callback, cookie } = await signIn(link);
    const text = await page.text();
    expect(page.status, text).toBe(200);
    expect(text).toContain(`You approved ${id}`);
    await h.dmTo(users.alice, `${id}\`: you have`);
    expect(await h.isMember(h.login('alice'))).toBe(true);
    const approved = await h.db.prisma.auditEvent.findFirstOrThrow({
      where: { requestId: id, action: 'request.approved' },
    });
    expect(approved.actor).toBe(users.bob);
    expect(approved.details).toMatchObject({ reauth: { subject: 'bob', amr: ['pwd', 'mfa'] } });

    // The same callback again (a replay): used up, nothing more happens.
    const replay = await fetch(toBot(callback), { headers: { cookie } });
    expect(replay.status).toBe(410);
    await h.slash(users.alice, `release ${id}`);
  });

  it("refuses someone else's sign-in, a stale one and one without MFA, and audits each", async () => {
    const id = await h.request(users.alice, 'reauth-db', '30m');
    const cases: Array<[() => void, string]> = [
      [() => (nextLogin = { accountId: 'eve', amr: ['pwd', 'mfa'] }), 'was not yours'],
      [() => (nextLogin = { accountId: 'bob', amr: ['pwd'] }), 'did not use mfa'],
      [
        () => {
          nextLogin = { accountId: 'bob', amr: ['pwd', 'mfa'] };
          // Past maxAge (5m), within the link's 10 minutes.
          clockOffsetMs = 7 * 60 * 1000;
        },
        'was not fresh',
      ],
    ];
    try {
      for (const [arrange, reason] of cases) {
        clockOffsetMs = 0;
        const link = await approveLink(id);
        arrange();
        const { page } = await signIn(link);
        expect(page.status).toBe(403);
        expect(await page.text()).toContain(reason);
      }
    } finally {
      clockOffsetMs = 0;
    }
    expect(await stateOf(id)).toBe('pending');
    expect(await h.db.prisma.approval.count({ where: { requestId: id } })).toBe(0);
    const failed = await h.db.prisma.auditEvent.findMany({
      where: { requestId: id, action: 'approval.reauth_failed' },
    });
    expect(failed).toHaveLength(3);
    // Someone else's account signing in for an approver is alerted top-level.
    await h.fake.waitFor(
      'chat.postMessage',
      (c) =>
        c.ok &&
        c.args.channel === securityChannel &&
        c.args.thread_ts === undefined &&
        JSON.stringify(c.args.blocks).includes('approval.reauth_failed') &&
        JSON.stringify(c.args.blocks).includes(id),
      { timeoutMs: 10_000 },
    );
    await h.slash(users.alice, `release ${id}`);
  });

  it('a callback in another browser (without the state cookie) approves nothing; then the right one does', async () => {
    const id = await h.request(users.alice, 'reauth-db', '30m');
    const link = await approveLink(id);
    nextLogin = { accountId: 'bob', amr: ['pwd', 'mfa'] };
    const { callback, cookie } = await signInUntilCallback(link);
    const elsewhere = await fetch(toBot(callback));
    expect(elsewhere.status).toBe(410);
    expect(await elsewhere.text()).toContain('different browser');
    expect(await stateOf(id)).toBe('pending');

    const here = await fetch(toBot(callback), { headers: { cookie } });
    expect(here.status).toBe(200);
    await expect.poll(() => stateOf(id), { timeout: 15_000 }).toBe('active');
    // Once the request is decided, another link's page says so.
    const late = await fetch(toBot(link));
    expect(late.status).toBe(410);
    await h.slash(users.alice, `release ${id}`);
  });

  it('asks the same for an extension of the grant: its approval counts only after the sign-in', async () => {
    const id = await h.request(users.alice, 'reauth-db', '30m');
    nextLogin = { accountId: 'bob', amr: ['pwd', 'mfa'] };
    expect((await signIn(await approveLink(id))).page.status).toBe(200);
    await expect.poll(() => stateOf(id), { timeout: 15_000 }).toBe('active');
    const before = (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).expiresAt as Date;

    const { reply } = await h.slash(users.alice, `extend ${id} 10m`);
    const extensionId = /EXT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0] as string;
    expect(extensionId).toBeDefined();
    const call = await h.fake.waitFor(
      'chat.postMessage',
      (c) => c.ok && c.args.channel === `D${users.bob}` && String(c.args.text).includes(extensionId),
    );
    const card = { channel: String(call.args.channel), ts: String(call.result.ts) };
    const link = await linkFromClick(extensionId, () =>
      h.click(users.bob, extensionActionIds.approve, extensionId, card),
    );
    const extension = () => h.db.prisma.extension.findUniqueOrThrow({ where: { id: extensionId } });
    expect((await extension()).state).toBe('pending');

    const { page } = await signIn(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`You approved ${extensionId}`);
    expect((await extension()).state).toBe('approved');
    const after = (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id } })).expiresAt as Date;
    expect(after.getTime() - before.getTime()).toBe(10 * 60 * 1000);
    const extended = await h.db.prisma.auditEvent.findFirstOrThrow({
      where: { requestId: id, action: 'extension.approved' },
    });
    expect(extended.details).toMatchObject({ reauth: { subject: 'bob' } });
    await h.slash(users.alice, `release ${id}`);
  });
});
