/**
 * The sandbox: try the Slack flow in a browser, with no Slack workspace. It starts the real bot
 * (HTTP mode, PostgreSQL, Redis, the PostgreSQL role provider on seeded demo roles) with the
 * in-repo fake of Slack's Web API, and a page at http://127.0.0.1:3001/sandbox that plays Slack:
 * pick a person, type `/jit …`, and see the ephemeral answers, DMs, the security channel, the App
 * Home tab and modals, rendered from the bot's own Block Kit. Every click and form submission
 * goes to the bot's `POST /slack/events` signed exactly as Slack signs it. A side panel shows who
 * holds which role on the target database, and the audit chain.
 *
 *   npm run sandbox          (SANDBOX_PORT, default 3001; the bot itself on PORT, default 3000)
 *
 * SANDBOX_HOST (default 127.0.0.1) is where the page listens; the compose demo sets 0.0.0.0
 * inside its container and publishes it on the host's loopback only.
 *
 * It exists only here: the bot has no sandbox routes, and this refuses to start with a Slack
 * token in the environment, so it cannot be pointed at a real workspace by mistake.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  postBlockAction,
  postEvent,
  postSlashCommand,
  postViewSubmission,
} from '../test/support/slack-signing.js';
import { newTriggerId } from '../test/support/slack-workspace.js';
import { type LocalBot, memberships, people, secret, securityChannel, startLocalBot } from './local-bot.js';

const personIds = Object.values(people).map((p) => p.id) as [string, ...string[]];
const personSchema = z.enum(personIds);

const commandSchema = z.object({ as: personSchema, text: z.string().max(3000) });
const actionSchema = z.object({
  as: personSchema,
  actionId: z.string().min(1).max(255),
  value: z.string().max(2000),
  blockId: z.string().max(255).optional(),
  /** The message the button is on; absent for the Home tab and modals. */
  message: z.object({ channel: z.string(), ts: z.string() }).optional(),
  home: z.boolean().optional(),
});
const submitSchema = z.object({
  as: personSchema,
  viewId: z.string().min(1),
  values: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))),
});

/** What each person sees: their modal (if one is open) and the answers only they saw. */
interface PersonView {
  modal: Record<string, unknown> | null;
  /** The modal came back in the answer to a submission (`response_action: update`), not from the Web API. */
  modalFromAnswer: boolean;
  ephemeral: Array<{ at: number; text: string; blocks?: unknown }>;
  triggers: Set<string>;
}

async function main(): Promise<void> {
  if (process.env.SLACK_BOT_TOKEN || process.env.SLACK_APP_TOKEN) {
    console.error(
      'The sandbox never runs with a real Slack token: unset SLACK_BOT_TOKEN and SLACK_APP_TOKEN.',
    );
    process.exit(2);
  }
  const local = await startLocalBot({ queuePrefix: process.env.SANDBOX_QUEUE_PREFIX ?? 'jit-sandbox' });
  const sandbox = createSandbox(local);
  const server = createServer((req, res) => {
    sandbox.handle(req, res).catch((error: unknown) => {
      send(res, 500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  const port = Number(process.env.SANDBOX_PORT ?? 3001);
  await new Promise<void>((resolve) => server.listen(port, process.env.SANDBOX_HOST ?? '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  console.log(
    `jit-bot sandbox: http://127.0.0.1:${bound}/sandbox  (the bot: http://127.0.0.1:${local.bot.port})`,
  );
  const stop = async () => {
    server.close();
    await local.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

export function createSandbox(local: LocalBot) {
  const { fake } = local;
  const persons = new Map<string, PersonView>(
    personIds.map((id) => [
      id,
      { modal: null, modalFromAnswer: false, ephemeral: [], triggers: new Set<string>() },
    ]),
  );
  const person = (id: string) => persons.get(id) as PersonView;
  let responses = 0;

  /** A response_url that remembers whose answer it is. */
  function responseUrl(userId: string): string {
    return fake.responseUrl(`${userId}-${++responses}`);
  }

  /** A trigger id for one click or command, so the modal it opens is shown to that person. */
  function trigger(userId: string): string {
    const id = newTriggerId();
    person(userId).triggers.add(id);
    return id;
  }

  /** The modal the bot opened for the person's latest trigger, if any came since. */
  function latestModal(userId: string): Record<string, unknown> | null {
    const me = person(userId);
    const opened = fake.calls.filter(
      (c) => c.ok && c.method === 'views.open' && me.triggers.has(String(c.args.trigger_id)),
    );
    const last = opened.at(-1);
    if (!last) return me.modal;
    me.triggers.delete(String(last.args.trigger_id));
    const id = String((last.result.view as { id: string }).id);
    me.modal = fake.view(id) ?? null;
    me.modalFromAnswer = false;
    return me.modal;
  }

  function ephemeralsOf(userId: string) {
    const fromUrls = fake.responses
      .filter((r) => r.ok && r.id.startsWith(`${userId}-`))
      .map((r) => ({ at: r.at, text: String(r.body.text ?? ''), blocks: r.body.blocks }));
    const posted = fake
      .callsTo('chat.postEphemeral')
      .filter((c) => c.ok && c.args.user === userId)
      .map((c) => ({ at: c.at, text: String(c.args.text ?? ''), blocks: c.args.blocks }));
    return [...fromUrls, ...posted].sort((a, b) => a.at - b.at).slice(-10);
  }

  async function state(userId: string) {
    const modal = latestModal(userId);
    // A modal the bot changed with views.update is re-read; one replaced by an answer is kept.
    const current = modal && !person(userId).modalFromAnswer ? (fake.view(String(modal.id)) ?? modal) : modal;
    person(userId).modal = current;
    return {
      people: Object.values(people),
      you: userId,
      dm: fake.messagesIn(`D${userId}`),
      security: fake.messagesIn(securityChannel),
      ephemeral: ephemeralsOf(userId),
      home: fake.homeView(userId) ?? null,
      modal: current,
      target: await memberships(),
      audit: await auditTail(local),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    if (req.method === 'GET' && (url.pathname === '/sandbox' || url.pathname === '/sandbox/')) {
      return sendFile(res, 'page.html', 'text/html; charset=utf-8');
    }
    if (req.method === 'GET' && url.pathname === '/sandbox/blocks.js') {
      return sendFile(res, 'blocks.js', 'text/javascript; charset=utf-8');
    }
    if (req.method === 'GET' && url.pathname === '/sandbox/state') {
      const as = personSchema.safeParse(url.searchParams.get('as'));
      if (!as.success) return send(res, 400, { error: 'as must be one of the sandbox people' });
      return send(res, 200, await state(as.data));
    }
    if (req.method === 'POST' && url.pathname === '/sandbox/command') {
      const input = commandSchema.safeParse(await readJson(req));
      if (!input.success) return send(res, 400, { error: input.error.issues[0]?.message });
      const { as, text } = input.data;
      const answer = await postSlashCommand(local.eventsUrl, secret, {
        text: text.replace(/^\/jit\s*/, ''),
        user_id: as,
        user_name: nameOf(as),
        channel_id: 'C0GENERAL',
        response_url: responseUrl(as),
        trigger_id: trigger(as),
      });
      return send(res, 200, { status: answer.status, body: answer.body });
    }
    if (req.method === 'POST' && url.pathname === '/sandbox/home') {
      const as = personSchema.safeParse(((await readJson(req)) as { as?: unknown })?.as);
      if (!as.success) return send(res, 400, { error: 'as must be one of the sandbox people' });
      const answer = await postEvent(local.eventsUrl, secret, {
        type: 'app_home_opened',
        user: as.data,
        channel: `D${as.data}`,
        tab: 'home',
        event_ts: `${Date.now() / 1000}`,
      });
      return send(res, 200, { status: answer.status });
    }
    if (req.method === 'POST' && url.pathname === '/sandbox/action') {
      const input = actionSchema.safeParse(await readJson(req));
      if (!input.success) return send(res, 400, { error: input.error.issues[0]?.message });
      const { as, actionId, value, blockId, message, home } = input.data;
      const answer = await postBlockAction(local.eventsUrl, secret, {
        user_id: as,
        action_id: actionId,
        value,
        ...(blockId ? { block_id: blockId } : {}),
        ...(message ? { channel_id: message.channel, message_ts: message.ts } : {}),
        ...(home
          ? {
              container: { type: 'view', view_id: String(fake.homeView(as)?.id ?? '') },
              view: fake.homeView(as),
            }
          : {}),
        response_url: responseUrl(as),
        trigger_id: trigger(as),
      });
      return send(res, 200, { status: answer.status });
    }
    if (req.method === 'POST' && url.pathname === '/sandbox/submit') {
      const input = submitSchema.safeParse(await readJson(req));
      if (!input.success) return send(res, 400, { error: input.error.issues[0]?.message });
      const { as, viewId, values } = input.data;
      const view = fake.view(viewId);
      if (!view) return send(res, 404, { error: `no view ${viewId}` });
      const answer = await postViewSubmission(local.eventsUrl, secret, {
        user_id: as,
        callback_id: String(view.callback_id ?? ''),
        private_metadata: String(view.private_metadata ?? ''),
        state_values: values,
        view_id: viewId,
        trigger_id: trigger(as),
      });
      const body = answer.body ? (JSON.parse(answer.body) as Record<string, unknown>) : {};
      if (body.response_action === 'errors') return send(res, 200, { errors: body.errors });
      if (body.response_action === 'update') {
        person(as).modal = {
          ...(body.view as Record<string, unknown>),
          id: viewId,
          hash: `answer-${Date.now()}`,
        };
        person(as).modalFromAnswer = true;
        return send(res, 200, { updated: true });
      }
      person(as).modal = null;
      person(as).modalFromAnswer = false;
      return send(res, 200, { closed: true });
    }
    if (req.method === 'POST' && url.pathname === '/sandbox/close') {
      const as = personSchema.safeParse(((await readJson(req)) as { as?: unknown })?.as);
      if (as.success) person(as.data).modal = null;
      return send(res, 200, { closed: true });
    }
    send(res, 404, { error: 'not found' });
  }

  return { handle, state };
}

function nameOf(userId: string): string {
  return Object.values(people).find((p) => p.id === userId)?.name ?? userId;
}

async function auditTail(local: LocalBot) {
  const events = await local.bot.deps.db.auditEvent.findMany({ orderBy: { id: 'desc' }, take: 15 });
  return events.map((e) => ({
    id: String(e.id),
    at: e.at.toISOString(),
    action: e.action,
    actor: e.actor,
    requestId: e.requestId,
    hash: e.hash.slice(0, 12),
    prevHash: e.prevHash.slice(0, 12),
  }));
}

async function sendFile(res: ServerResponse, name: string, type: string): Promise<void> {
  const body = await readFile(new URL(`./sandbox/${name}`, import.meta.url));
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body, (_key, value) => (typeof value === 'bigint' ? String(value) : value)));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 100_000) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    return {};
  }
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href) {
  main().catch((error: unknown) => {
    console.error('sandbox failed:', error);
    process.exit(1);
  });
}
