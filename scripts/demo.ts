/**
 * Local demo: the real bot (HTTP mode, PostgreSQL, Redis, the PostgreSQL role provider) against
 * an in-process fake of Slack's Web API, driven through one request's whole life with signed
 * Slack payloads. Afterwards the bot keeps running on PORT (default 3000) until Ctrl-C.
 *
 *   npm run demo            walk through, then keep serving
 *   npm run demo -- --once  walk through, then exit
 */
import { actionIds } from '../src/slack/views/request-card.js';
import { postBlockAction, postSlashCommand } from '../test/support/slack-signing.js';
import { people as everyone, memberships, roles, secret, startLocalBot } from './local-bot.js';

const people = { alice: everyone.alice.id, bob: everyone.bob.id };
const role = roles.write;
const login = everyone.alice.login;

const say = (who: string, text: string) => console.log(`\n\x1b[1m${who}\x1b[0m ${text}`);
const plainText = (value: unknown) =>
  String(value)
    .replace(/<@(\w+)>/g, '@$1')
    .replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, '$1');

async function isMember(): Promise<boolean> {
  return (await memberships()).some((m) => m.login === login && m.role === role);
}

async function main(): Promise<void> {
  const once = process.argv.includes('--once');
  const local = await startLocalBot({ queuePrefix: process.env.DEMO_QUEUE_PREFIX ?? 'jit-demo' });
  const { bot, fake } = local;
  const url = local.eventsUrl;
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
    await local.stop();
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
