/**
 * Local demo: the real bot (HTTP mode, PostgreSQL, Redis, the PostgreSQL role provider) against
 * an in-process fake of Slack's Web API, driven through one request's whole life with signed
 * Slack payloads. Afterwards the bot keeps running on PORT (default 3000) until Ctrl-C.
 *
 *   npm run demo            walk through, then keep serving
 *   npm run demo -- --once  walk through, then exit
 */
import { escapeIdentifier } from 'pg';
import { startBot } from '../src/bot.js';
import { loadEnv } from '../src/config/env.js';
import { parsePolicy } from '../src/config/policy.js';
import { applyMigrations } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { actionIds } from '../src/slack/views/request-card.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { postBlockAction, postSlashCommand } from '../test/support/slack-signing.js';

const role = 'jit_demo_prod_write';
const login = 'jit_demo_alice';
const people = { alice: 'UDEMOALICE', bob: 'UDEMOBOB', sec: 'UDEMOSEC' };
const secret = 'demo-signing-secret';
const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://jit:jit@127.0.0.1:5432/jit';
const providerUrl =
  process.env.DEMO_PROVIDER_URL ?? 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit';

const say = (who: string, text: string) => console.log(`\n\x1b[1m${who}\x1b[0m ${text}`);
const plainText = (value: unknown) =>
  String(value)
    .replace(/<@(\w+)>/g, '@$1')
    .replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1');

async function prepareDatabaseRoles(): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const [name, options] of [
      [role, 'NOLOGIN'],
      [login, "LOGIN PASSWORD 'demo'"],
    ] as const) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
      if (!rowCount) await client.query(`CREATE ROLE ${escapeIdentifier(name)} ${options}`);
    }
    await client.query(`GRANT ${escapeIdentifier(role)} TO jit_granter WITH ADMIN OPTION`);
  } finally {
    await client.end();
  }
}

async function isMember(): Promise<boolean> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT pg_has_role($1, $2, $3) AS member', [login, role, 'MEMBER']);
    return Boolean(rows[0]?.member);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const once = process.argv.includes('--once');
  await applyMigrations(databaseUrl);
  await prepareDatabaseRoles();

  const fake = await startFakeSlack();
  fake.addUser({ id: people.alice, name: 'alice', email: `${login}@example.com` });
  fake.addUser({ id: people.bob, name: 'bob', email: 'bob@example.com' });
  fake.addUser({ id: people.sec, name: 'sec', email: 'sec@example.com' });

  const policy = parsePolicy(
    `
securityChannel: C0SECURITY
admins: { users: [${people.sec}] }
identity: { emailDomains: [example.com] }
providers:
  proddb:
    type: postgres
    url: \${DEMO_PROVIDER_URL}
resources:
  prod-db-write:
    description: Write access to the production database (demo role ${role})
    provider: proddb
    grant: { role: ${role} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${people.bob}] }
`,
    { DEMO_PROVIDER_URL: providerUrl },
  );
  const env = loadEnv({
    SLACK_BOT_TOKEN: fake.token,
    SLACK_SIGNING_SECRET: secret,
    SLACK_API_URL: fake.apiUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL,
    PORT: process.env.PORT ?? '3000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const bot = await startBot({
    env,
    policy,
    logger: createLogger(env.LOG_LEVEL),
    queuePrefix: process.env.DEMO_QUEUE_PREFIX ?? 'jit-demo',
  });
  const url = `http://127.0.0.1:${bot.port}/slack/events`;
  console.log(`jit-bot is up on http://127.0.0.1:${bot.port} (Slack Web API faked at ${fake.apiUrl})`);

  say('alice:', '/jit request prod-db-write 15s demo: checking INC-42');
  await postSlashCommand(url, secret, {
    text: 'request prod-db-write 15s demo: checking INC-42',
    user_id: people.alice,
    response_url: fake.responseUrl('demo'),
  });
  const reply = await fake.waitForResponse((r) => r.id === 'demo');
  say('jit-bot → alice (ephemeral):', plainText(reply.body.text));
  const requestId = /JIT-[0-9A-Z]{6}/.exec(String(reply.body.text))?.[0] as string;

  const ask = await fake.waitFor(
    'chat.postMessage',
    (c) => c.args.channel === `D${people.bob}` && String(c.args.text).includes(requestId),
  );
  say('jit-bot → bob (DM with Approve / Deny):', plainText(ask.args.text));

  say('bob:', 'clicks Approve');
  await postBlockAction(url, secret, {
    user_id: people.bob,
    action_id: actionIds.approve,
    value: requestId,
    channel_id: String(ask.args.channel),
    message_ts: String(ask.result.ts),
    response_url: fake.responseUrl('click'),
  });
  const granted = await fake.waitFor(
    'chat.postMessage',
    (c) => c.args.channel === `D${people.alice}` && String(c.args.text).includes('you have'),
  );
  say('jit-bot → alice (DM):', plainText(granted.args.text));
  say('PostgreSQL:', `${login} is a member of ${role}: ${await isMember()}`);

  console.log('\n… waiting for the grant to expire (15 s) …');
  const expired = await fake.waitFor(
    'chat.postMessage',
    (c) =>
      c.args.channel === `D${people.alice}` && String(c.args.text).includes(`${requestId}\`: your access`),
    { timeoutMs: 60_000 },
  );
  say('jit-bot → alice (DM):', plainText(expired.args.text));
  say('PostgreSQL:', `${login} is a member of ${role}: ${await isMember()}`);

  // The security channel has one card per request, updated in place as it moves.
  const card = await fake.waitFor(
    ['chat.postMessage', 'chat.update'],
    (c) =>
      c.ok &&
      c.args.channel === 'C0SECURITY' &&
      String(c.args.text).startsWith(`Grant ${requestId}:`) &&
      String(c.args.text).includes('(expired)'),
  );
  say("#security channel (the request's card, updated in place):", '');
  for (const line of plainText(
    fake.message('C0SECURITY', String(card.args.ts ?? card.result.ts))?.text,
  ).split('\n')) {
    console.log(`  ${line}`);
  }

  const stop = async () => {
    await bot.stop();
    await fake.close();
    process.exit(0);
  };
  if (once) return stop();
  console.log(`\nThe bot keeps running: curl http://127.0.0.1:${bot.port}/healthz  ·  Ctrl-C to stop.`);
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error('demo failed:', error);
  process.exit(1);
});
