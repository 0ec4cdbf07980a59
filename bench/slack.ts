import { type ChildProcess, fork } from 'node:child_process';
import type { FakeUserSeed } from '../test/support/fake-slack.js';
import type { BlastResult, BlastSpec, SlackSideReady, SlackSideRequest } from './slack-side.js';

/** The handle on the Slack-side process (slack-side.ts): fake Web API and command senders. */
export interface SlackSide {
  apiUrl: string;
  token: string;
  addUsers(users: FakeUserSeed[]): Promise<void>;
  blast(spec: BlastSpec): Promise<BlastResult>;
  /** What the fake received on response_url: how many were accepted, and their texts. */
  responses(): Promise<{ ok: number; failed: number; texts: string[] }>;
  /** How many response_url posts the fake has received. */
  responseCount(): Promise<number>;
  /** Web API calls received, by method. */
  calls(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startSlackSide(): Promise<SlackSide> {
  const child: ChildProcess = fork(new URL('./slack-side.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const ready = new Promise<SlackSideReady>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the Slack side exited early (${code})`)));
    child.on('message', (raw) => {
      const message = raw as { ready?: SlackSideReady; id?: number; result?: unknown; error?: string };
      if (message.ready) return resolve(message.ready);
      const waiter = message.id === undefined ? undefined : pending.get(message.id);
      if (!waiter || message.id === undefined) return;
      pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
  });
  const call = <T>(request: SlackSideRequest): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, request });
    });
  const { apiUrl, token } = await ready;
  return {
    apiUrl,
    token,
    addUsers: (users) => call({ op: 'users', users }),
    blast: (spec) => call({ op: 'blast', spec }),
    responses: () => call({ op: 'responses' }),
    responseCount: () => call({ op: 'responseCount' }),
    calls: () => call({ op: 'calls' }),
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await call({ op: 'close' });
      await exited;
    },
  };
}
