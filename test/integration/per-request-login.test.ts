import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { extensionActionIds } from '../../src/slack/views/extension-card.js';
import { grantActionIds } from '../../src/slack/views/grant-card.js';
import { actionIds } from '../../src/slack/views/request-card.js';
import { type Harness, startHarness, users } from '../support/harness.js';

/**
 * A resource with `login: per-request`, through the whole bot: the grant makes a login for the
 * request with VALID UNTIL, the requester's Get password button gives them alone a one-time link
 * to the bot's page, the page shows a password that works on the real PostgreSQL, once, and the
 * release drops the login. The provider logs in as a login with CREATEROLE made here.
 */

const PUBLIC_URL = 'https://jit.example.com/bot/';
const suffix = randomBytes(4).toString('hex');
const maker = `maker_${suffix}`;
const makerPassword = `pw_${suffix}`;
const id = pg.escapeIdentifier;

let admin: pg.Client;
let h: Harness;
/** Everything the bot logs, at debug level, with the production redaction. */
const logLines: string[] = [];
const logger = createLogger(
  'debug',
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

beforeAll(async () => {
  admin = new pg.Client({ connectionString: 'postgresql://jit:jit@127.0.0.1:5432/jit' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${id(maker)} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(makerPassword)}`);
  await admin.query(`GRANT pg_signal_backend TO ${id(maker)}`);
  h = await startHarness({
    logger,
    env: {
      JIT_PUBLIC_URL: PUBLIC_URL,
      MAKER_DB_URL: `postgresql://${maker}:${makerPassword}@127.0.0.1:5432/jit`,
    },
    extraProviders: `
  reportsdb:
    type: postgres
    url: \${MAKER_DB_URL}`,
    extraResources: `
  reports-per-request:
    description: Reports, as a login made for the request
    provider: reportsdb
    grant: { role: {{role}}, login: per-request }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${users.bob}] }`,
  });
  await admin.query(`GRANT ${id(h.role)} TO ${id(maker)} WITH ADMIN OPTION`);
});

afterAll(async () => {
  await h?.stop();
  if (!admin) return;
  const { rows } = await admin.query<{ rolname: string }>(
    `SELECT rolname FROM pg_roles WHERE rolname LIKE $1 || '_jit_%'`,
    [h.login('alice')],
  );
  for (const { rolname } of rows) await admin.query(`DROP ROLE IF EXISTS ${id(rolname)}`);
  await admin.query(`DROP ROLE IF EXISTS ${id(maker)}`);
  await admin.end();
});

async function grantedRequest(): Promise<{
  requestId: string;
  login: string;
  dm: { channel: string; ts: string };
}> {
  const requestId = await h.request(users.alice, 'reports-per-request', '1h');
  await h.click(users.bob, actionIds.approve, requestId, await h.approverMessage(requestId, users.bob));
  const call = await h.dmTo(users.alice, `${requestId}\`: you have`);
  const login = `${h.login('alice')}_jit_${requestId.slice('JIT-'.length).toLowerCase()}`;
  expect(String(call.args.text)).toContain(`\`${login}\`, a login made for this request`);
  return { requestId, login, dm: { channel: String(call.args.channel), ts: String(call.result.ts) } };
}

/** Presses Get password as `userId` and returns the private answer's text. */
async function pressGetPassword(userId: string, requestId: string, dm: { channel: string; ts: string }) {
  const before = h.fake.responses.length;
  await h.click(userId, grantActionIds.credential, requestId, dm);
  const reply = await h.fake.waitForResponse(
    (r) => h.fake.responses.indexOf(r) >= before && String(r.body.text).includes(requestId),
  );
  expect(reply.body.response_type).toBe('ephemeral');
  return String(reply.body.text);
}

/** The link in an answer, pointed at the bot under test instead of its public address. */
function pageOf(text: string): string {
  const link = /<(https:[^|>]+)\|/.exec(text)?.[1];
  expect(link?.startsWith(`${PUBLIC_URL}credentials/`)).toBe(true);
  return `${h.origin}${new URL(link as string).pathname.slice('/bot'.length)}`;
}

async function loginRow(login: string) {
  const { rows } = await admin.query<{ canlogin: boolean; until: Date | null }>(
    'SELECT rolcanlogin AS canlogin, rolvaliduntil AS until FROM pg_roles WHERE rolname = $1',
    [login],
  );
  return rows[0] ?? null;
}

describe('per-request logins in the bot', () => {
  it('gives the requester a one-time page with a password that works until the grant ends', async () => {
    const { requestId, login, dm } = await grantedRequest();
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
    expect((await loginRow(login))?.until?.getTime()).toBe(request.expiresAt?.getTime());

    const page = pageOf(await pressGetPassword(users.alice, requestId, dm));
    const shown = await fetch(page);
    expect(shown.status).toBe(200);
    expect(shown.headers.get('cache-control')).toBe('no-store');
    expect(shown.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await shown.text()).toContain('<form method="post">');

    const issued = await fetch(page, { method: 'POST' });
    expect(issued.status).toBe(200);
    const html = await issued.text();
    const password = /<dt>Password<\/dt><dd><code>([^<]+)<\/code>/.exec(html)?.[1] as string;
    expect(html).toContain(`<code>${login}</code>`);
    const session = new pg.Client({ host: '127.0.0.1', port: 5432, database: 'jit', user: login, password });
    await session.connect();
    await session.end();

    // Once only, whoever asks again.
    const again = await fetch(page, { method: 'POST' });
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('used already');

    // The password went nowhere but the page: not to Slack, not to the logs. The audit says who.
    expect(JSON.stringify(h.fake.calls)).not.toContain(password);
    expect(JSON.stringify(h.fake.responses)).not.toContain(password);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(password);
    const audit = await h.db.prisma.auditEvent.findMany({
      where: { requestId, action: 'credential.issued' },
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: users.alice, details: { login } });

    await h.slash(users.alice, `release ${requestId}`);
    await expect.poll(() => loginRow(login), { timeout: 15_000 }).toBeNull();
  });

  it('gives a link to the requester only, and none once the grant has ended', async () => {
    const { requestId, dm } = await grantedRequest();
    expect(await pressGetPassword(users.bob, requestId, dm)).toMatch(/Only the requester/);
    expect(await h.db.prisma.credentialPickup.count({ where: { requestId } })).toBe(0);

    const page = pageOf(await pressGetPassword(users.alice, requestId, dm));
    await h.slash(users.alice, `release ${requestId}`);
    await expect
      .poll(
        async () => (await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id: requestId } })).state,
      )
      .toBe('released');
    const late = await fetch(page, { method: 'POST' });
    expect(late.status).toBe(410);
    expect(await pressGetPassword(users.alice, requestId, dm)).toMatch(/no password to get/);
  });

  it('answers a made-up or malformed link with nothing issued', async () => {
    const issued = () => h.db.prisma.auditEvent.count({ where: { action: 'credential.issued' } });
    const before = await issued();
    expect((await fetch(`${h.origin}/credentials/${'A'.repeat(43)}`, { method: 'POST' })).status).toBe(410);
    expect((await fetch(`${h.origin}/credentials/not-a-token`, { method: 'POST' })).status).toBe(404);
    expect(await issued()).toBe(before);
  });

  it('moves VALID UNTIL when the grant is extended', async () => {
    const { requestId, login } = await grantedRequest();
    const before = (await loginRow(login))?.until?.getTime() as number;
    const { reply } = await h.slash(users.alice, `extend ${requestId} 30m`);
    const extensionId = /EXT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0] as string;
    const card = await h.fake.waitFor(
      'chat.postMessage',
      (c) => c.ok && c.args.channel === `D${users.bob}` && String(c.args.text).includes(extensionId),
    );
    await h.click(users.bob, extensionActionIds.approve, extensionId, {
      channel: String(card.args.channel),
      ts: String(card.result.ts),
    });
    await expect
      .poll(async () => (await loginRow(login))?.until?.getTime(), { timeout: 15_000 })
      .toBeGreaterThan(before);
    const request = await h.db.prisma.accessRequest.findUniqueOrThrow({ where: { id: requestId } });
    expect((await loginRow(login))?.until?.getTime()).toBe(request.expiresAt?.getTime());
  });
});
