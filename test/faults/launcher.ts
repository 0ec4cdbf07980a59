import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Starts bot processes (test/support/bot-process.ts) and kills them. Loading the bot's code
 * costs seconds of CPU, so one process is always kept loaded and waiting: starting a bot tells
 * that one to start (well under a second) and loads the next. The waiting process has opened
 * nothing (no database, Redis or port) until it is told to start.
 */

export interface BotProcess {
  readonly name: string;
  readonly pid: number;
  /** Where Slack's requests go. */
  readonly url: string;
  readonly origin: string;
  /** SIGKILL, then waits until the process is gone. */
  kill(): Promise<void>;
  readonly killed: boolean;
}

export interface LaunchSettings {
  env: Record<string, string>;
  args: string[];
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const botScript = fileURLToPath(new URL('../support/bot-process.ts', import.meta.url));
const TIMEOUT_MS = 30_000;

interface Loaded {
  name: string;
  child: ChildProcess;
  /** Resolves with the line that matches, once it has been printed. */
  line(pattern: RegExp): Promise<RegExpExecArray>;
}

export class BotLauncher {
  private readonly children = new Set<ChildProcess>();
  private spare: Promise<Loaded> | undefined;
  private count = 0;
  private closed = false;

  /** `settingsFor(name)` gives each process its environment and arguments. */
  constructor(private readonly settingsFor: (name: string) => Promise<LaunchSettings>) {}

  async start(): Promise<BotProcess> {
    const next = this.spare ?? this.load();
    this.spare = undefined;
    const { name, child, line } = await next;
    child.stdin?.write('start\n');
    const port = Number((await line(/^ready (\d+)$/))[1]);
    // Loaded only now, so it does not slow down the start above (or others running alongside).
    this.spare ??= this.load();
    // A spare that failed to load is reported by the start that takes it.
    this.spare.catch(() => undefined);
    return {
      name,
      pid: child.pid as number,
      url: `http://127.0.0.1:${port}/slack/events`,
      origin: `http://127.0.0.1:${port}`,
      get killed() {
        return exited(child);
      },
      kill: () => killChild(child),
    };
  }

  /** Every process it started, the spare included; it starts no more after this. */
  async killAll(): Promise<void> {
    this.closed = true;
    this.spare = undefined;
    await Promise.all([...this.children].map(killChild));
  }

  private async load(): Promise<Loaded> {
    const name = `bot${++this.count}`;
    const { env, args } = await this.settingsFor(name);
    if (this.closed) throw new Error(`not starting ${name}: the launcher was closed`);
    const child = spawn(process.execPath, ['--import', 'tsx', botScript, '--wait-for-start', ...args], {
      cwd: repoRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString('utf8')).slice(-4_000);
      if (process.env.TEST_LOG_LEVEL) process.stderr.write(chunk);
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const line = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} printed no line like ${pattern} within ${TIMEOUT_MS} ms:\n${errors}`));
        }, TIMEOUT_MS);
        const onLine = (text: string) => {
          const match = pattern.exec(text);
          if (!match) return;
          done();
          resolve(match);
        };
        const onExit = (code: number | null, signal: string | null) => {
          done();
          reject(new Error(`${name} exited (${signal ?? code}) before printing ${pattern}:\n${errors}`));
        };
        const done = () => {
          clearTimeout(timer);
          lines.off('line', onLine);
          child.off('exit', onExit);
        };
        lines.on('line', onLine);
        child.once('exit', onExit);
      });
    await line(/^loaded$/);
    return { name, child, line };
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const gone = once(child, 'exit');
  child.kill('SIGKILL');
  await gone;
}
