/**
 * Slack's side of a benchmark, in a process of its own (started by slack.ts): the fake Web API
 * the bot posts to, and the senders of signed slash commands. Keeping it out of the bot's process
 * means the bot's numbers carry none of Slack's work, and the senders' clocks are not held up
 * by the bot's event loop.
 */
import type { FakeUserSeed } from '../test/support/fake-slack.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { postSlashCommand } from '../test/support/slack-signing.js';

export interface BlastSpec {
  url: string;
  secret: string;
  /** Command texts (`help`, `request …`), used in turn. */
  texts: string[];
  /** Sending users, used in turn. */
  userIds: string[];
  total: number;
  concurrency: number;
  /** Each sender sends at most one command per interval (0: back to back). */
  intervalMs: number;
}

export interface BlastResult {
  /** Time from sending to the HTTP answer (the ack), per command, in ms. */
  latenciesMs: number[];
  /** Answers other than 200. */
  failures: number;
  elapsedMs: number;
}

export type SlackSideRequest =
  | { op: 'users'; users: FakeUserSeed[] }
  | { op: 'blast'; spec: BlastSpec }
  | { op: 'responses' }
  | { op: 'responseCount' }
  | { op: 'calls' }
  | { op: 'close' };

export interface SlackSideReady {
  apiUrl: string;
  token: string;
}

async function blast(spec: BlastSpec, responseUrl: () => string): Promise<BlastResult> {
  const latenciesMs: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    let due = performance.now() + Math.random() * spec.intervalMs;
    for (let i = next++; i < spec.total; i = next++) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      due = Math.max(due + spec.intervalMs, performance.now());
      const text = spec.texts[i % spec.texts.length] as string;
      const userId = spec.userIds[i % spec.userIds.length] as string;
      const sent = performance.now();
      const answer = await postSlashCommand(spec.url, spec.secret, {
        text,
        user_id: userId,
        response_url: responseUrl(),
      });
      latenciesMs.push(performance.now() - sent);
      if (answer.status !== 200) failures++;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, lane));
  return { latenciesMs, failures, elapsedMs: performance.now() - started };
}

async function main(): Promise<void> {
  const fake = await startFakeSlack();
  const send = (message: unknown) => process.send?.(message);
  process.on('message', async (message: { id: number; request: SlackSideRequest }) => {
    const { id, request } = message;
    try {
      switch (request.op) {
        case 'users':
          for (const user of request.users) fake.addUser(user);
          send({ id, result: null });
          break;
        case 'blast':
          send({ id, result: await blast(request.spec, () => fake.responseUrl()) });
          break;
        case 'responses': {
          const ok = fake.responses.filter((r) => r.ok);
          const texts = ok.map((r) => String(r.body.text ?? ''));
          send({ id, result: { ok: ok.length, failed: fake.responses.length - ok.length, texts } });
          break;
        }
        case 'responseCount':
          send({ id, result: fake.responses.length });
          break;
        case 'calls': {
          const counts: Record<string, number> = {};
          for (const call of fake.calls) counts[call.method] = (counts[call.method] ?? 0) + 1;
          send({ id, result: counts });
          break;
        }
        case 'close':
          await fake.close();
          send({ id, result: null });
          process.disconnect();
          break;
      }
    } catch (error) {
      send({ id, error: error instanceof Error ? error.message : String(error) });
    }
  });
  send({ ready: { apiUrl: fake.apiUrl, token: fake.token } satisfies SlackSideReady });
}

void main();
