import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, type TestDatabase, uniqueName } from '../support/db.js';
import { freePort } from '../support/ports.js';

/**
 * The sandbox page in a real browser (Debian's Chromium, driven by playwright-core): a newcomer
 * asks for access, the approver approves from the DM, the grant appears on the target database
 * and in the side panel, the requester releases it from the Home tab behind its confirmation, and
 * a second request is denied with a reason through the Deny modal. Every click on the page is a
 * signed Slack payload to the real bot. The run saves the screenshots the README shows.
 */

const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let db: TestDatabase;
let browser: Browser;
let page: Page;
let server: Server;
let origin: string;
let stopSandbox: () => Promise<void>;
let names: { login: string; role: string };

beforeAll(async () => {
  db = await createTestDatabase();
  const prefix = uniqueName('jitsbx').replace(/[^a-z0-9_]/g, '_');
  // The sandbox's modules read these when they load. The roles and logins keep the sandbox's
  // own names (`jit_demo_…`) for the screenshots; the demo test takes a prefix of its own.
  process.env.DATABASE_URL = db.url;
  process.env.REDIS_URL = redisUrl();
  process.env.PORT = String(await freePort());
  process.env.LOG_LEVEL = 'error';
  const { startLocalBot, people, roles } = await import('../../scripts/local-bot.js');
  const { createSandbox } = await import('../../scripts/sandbox.js');
  names = { login: people.alice.login, role: roles.write };
  const local = await startLocalBot({ queuePrefix: prefix });
  const sandbox = createSandbox(local);
  server = createServer((req, res) => {
    sandbox.handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stopSandbox = () => local.stop();
  if (!existsSync(executablePath))
    throw new Error(`no Chromium at ${executablePath}: apt-get install chromium`);
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await mkdir(docs, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await stopSandbox?.();
  await db?.drop();
});

async function as(name: string): Promise<void> {
  await page.click(`[data-person="${name}"]`);
  await page.locator(`[data-person="${name}"].current`).waitFor();
}

async function tab(name: 'dm' | 'security' | 'home'): Promise<void> {
  await page.click(`#tabs [data-tab="${name}"]`);
}

async function send(text: string): Promise<void> {
  await page.fill('#composer', text);
  await page.click('#composer-form button[type="submit"]');
}

async function requestState(id: string) {
  return db.prisma.accessRequest.findUnique({ where: { id }, select: { state: true, endReason: true } });
}

const holds = async () =>
  (
    await db.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_auth_members m
    JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
    WHERE r.rolname = ${names.role} AND u.rolname = ${names.login}`
  )[0]?.n === 1;

describe('the sandbox in Chromium', () => {
  it('walks request → approve → grant → release, then a deny with a reason', async () => {
    await page.goto(`${origin}/sandbox?as=UDEMOALICE`);
    await page.waitForSelector('body[data-ready="true"]');

    // alice asks; the answer only she sees names the request.
    await send('/jit request prod-db-write 1h investigating INC-42');
    const answer = page.locator('#ephemeral .ephemeral', { hasText: 'sent to its approvers' });
    await answer.waitFor();
    const id = /JIT-[0-9A-Z]{6}/.exec((await answer.textContent()) ?? '')?.[0] as string;
    expect(id).toBeDefined();

    // bob sees the approver card in his DMs, with who, what, as which login and until when.
    await as('bob');
    const card = page.locator('#dm .message', { hasText: id });
    await card.getByRole('button', { name: 'Approve' }).waitFor();
    expect((await card.textContent()) ?? '').toContain(names.login);
    await page.screenshot({ path: `${docs}sandbox-approver-card.png` });
    await card.getByRole('button', { name: 'Approve' }).click();

    // The grant lands on the real database and in the side panel.
    await expect.poll(holds, { timeout: 15_000 }).toBe(true);
    await page.locator('#target td', { hasText: names.login }).waitFor();
    // The target is granted first, then the grant recorded: wait for the record.
    await expect.poll(async () => (await requestState(id))?.state, { timeout: 15_000 }).toBe('active');

    // alice's grant DM, with Release now.
    await as('alice');
    await page
      .locator('#dm .message', { hasText: 'you have' })
      .getByRole('button', { name: 'Release now' })
      .waitFor();
    await page.screenshot({ path: `${docs}sandbox-grant-card.png` });

    // The security channel: one card for the request, saying who approved.
    await as('sec');
    await tab('security');
    const securityCard = page.locator('#security .message', { hasText: 'Approved by' });
    await securityCard.getByRole('button', { name: 'Revoke' }).waitFor();
    expect((await securityCard.textContent()) ?? '').toContain('@bob');
    await page.screenshot({ path: `${docs}sandbox-security-channel.png` });

    // alice releases from her Home tab; the confirmation asks first.
    await as('alice');
    await tab('home');
    const release = page.locator('#home').getByRole('button', { name: 'Release now' });
    await release.waitFor();
    await page.screenshot({ path: `${docs}sandbox-home.png` });
    await release.click();
    await page.locator('#confirm:not([hidden])').waitFor();
    expect((await page.locator('#confirm-title').textContent()) ?? '').toBe(`Release ${id}?`);
    await page.click('#confirm-ok');
    await expect.poll(holds, { timeout: 15_000 }).toBe(false);
    await expect.poll(async () => (await requestState(id))?.state).toBe('released');
    await page.locator('#target .none').waitFor();

    // A second request, denied by bob with a reason through the Deny modal.
    await tab('dm');
    const asked = page.locator('#ephemeral .ephemeral', { hasText: 'sent to its approvers' });
    const before = await asked.count();
    await send('/jit request prod-db-write 30m another look at INC-42');
    await expect.poll(() => asked.count(), { timeout: 10_000 }).toBe(before + 1);
    const secondId = /JIT-[0-9A-Z]{6}/.exec((await asked.nth(before).textContent()) ?? '')?.[0] as string;
    expect(secondId).not.toBe(id);
    await as('bob');
    await page.locator('#dm .message', { hasText: secondId }).getByRole('button', { name: 'Deny' }).click();
    await page.locator('#modal:not([hidden])').waitFor();
    await page.locator('#modal-body textarea, #modal-body input').first().fill('not while INC-42 is open');
    await page.click('#modal-submit');
    await expect.poll(async () => (await requestState(secondId))?.state, { timeout: 15_000 }).toBe('denied');
    expect((await requestState(secondId))?.endReason).toBe('not while INC-42 is open');
    await as('alice');
    await page.locator('#dm .message', { hasText: 'not while INC-42 is open' }).waitFor();
    expect(await holds()).toBe(false);
  }, 90_000);

  it('break-glass: access at once, an alert for the security team, and sec flags it', async () => {
    await as('alice');
    await tab('dm');
    await send('/jit break-glass prod-db-write 15m INC-43 primary down');
    const answer = page.locator('#ephemeral .ephemeral', { hasText: 'break-glass on' });
    await answer.waitFor();
    const id = /JIT-[0-9A-Z]{6}/.exec((await answer.textContent()) ?? '')?.[0] as string;
    await expect.poll(holds, { timeout: 15_000 }).toBe(true);

    // sec: the loud alert in the channel, and a review DM with Acknowledge and Flag.
    await as('sec');
    await tab('security');
    await page.locator('#security .message', { hasText: /BREAK-GLASS/ }).waitFor();
    await tab('dm');
    const review = page.locator('#dm .message', { hasText: `${id}` }).filter({ hasText: 'broke glass' });
    await review.getByRole('button', { name: 'Flag' }).click();
    await page.locator('#confirm:not([hidden])').waitFor();
    expect((await page.locator('#confirm-title').textContent()) ?? '').toBe(`Flag ${id}?`);
    await page.click('#confirm-ok');
    await expect.poll(holds, { timeout: 15_000 }).toBe(false);
    await expect.poll(async () => (await requestState(id))?.state, { timeout: 15_000 }).toBe('revoked');
    await review.filter({ hasText: 'flagged by' }).waitFor();
  }, 60_000);
});
