import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { policyYaml, signingSecret } from './bot.js';
import { createBenchDatabase, createRoles, dropRedisPrefix, granterUrl, redisUrl } from './services.js';
import { startSlackSide } from './slack.js';
import { type BenchResult, envInt } from './stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Where bench/tsconfig.build.json puts the compiled bot and baseline app. */
const built = join(root, 'node_modules', '.cache', 'jit-bench');

/**
 * Idle memory: the bot as production runs it (`node` on the compiled build, `main.ts`: env,
 * migrations, workers, HTTP mode), started as a process of its own against the fake Slack; once it
 * has logged that it started and has then sat idle, its resident set (VmRSS). Baseline: the bare
 * Bolt app, compiled the same way, in the same conditions.
 *
 * The bot's BullMQ prefix is the production default (`jit`), so it runs on its own Redis
 * database number (BENCH_RSS_REDIS_DB, default 13), whose `jit:*` keys are deleted afterwards.
 */
export async function idleRssBench(): Promise<BenchResult> {
  const early = 10_000;
  const settled = envInt('BENCH_RSS_IDLE_MS', 60_000);
  await promisify(execFile)(process.execPath, [
    join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    join(root, 'bench', 'tsconfig.build.json'),
  ]);
  const redisDb = envInt('BENCH_RSS_REDIS_DB', 13);
  const botRedisUrl = `${redisUrl.replace(/\/\d*$/, '')}/${redisDb}`;
  const db = await createBenchDatabase();
  const roles = await createRoles(1, 1);
  const slack = await startSlackSide();
  const dir = await mkdtemp(join(tmpdir(), 'jit-bench-'));
  try {
    const policyFile = join(dir, 'jit.config.yaml');
    await writeFile(policyFile, policyYaml(roles.roles));
    const common = {
      PATH: process.env.PATH ?? '',
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: slack.apiUrl,
    };
    const bot = await measure(
      join(built, 'src', 'main.js'),
      {
        ...common,
        PORT: String(await freePort()),
        DATABASE_URL: db.url,
        REDIS_URL: botRedisUrl,
        JIT_CONFIG: policyFile,
        BENCH_PROVIDER_URL: granterUrl,
        LOG_LEVEL: 'info',
      },
      /"msg":"jit-bot started"/,
      [early, settled],
    );
    const bare = await measure(
      join(built, 'bench', 'bare-bolt-main.js'),
      { ...common, PORT: String(await freePort()) },
      /bare Bolt app ready/,
      [early, settled],
    );
    return {
      name: 'idle-rss',
      baseline: 'bare Bolt app (HTTP receiver, one /jit listener), compiled and started the same way',
      rows: [
        {
          metric: `RSS ${early / 1000} s after start`,
          ours: bot[0].rssMb,
          baseline: bare[0].rssMb,
          unit: 'MB',
        },
        {
          metric: `idle RSS (${settled / 1000} s after start)`,
          ours: bot[1].rssMb,
          baseline: bare[1].rssMb,
          unit: 'MB',
          // The goal; this benchmark said < 150 MB before, which was not it.
          goal: '≤ 120 MB',
          met: bot[1].rssMb <= 120,
        },
        { metric: 'peak RSS (VmHWM)', ours: bot[1].peakMb, baseline: bare[1].peakMb, unit: 'MB' },
      ],
      notes: [
        `RSS read from /proc/<pid>/status, counted from the "started" log line; node ${process.version}, no command-line flags`,
        'V8 gives back the unused part of its young generation after a while idle, hence two readings',
      ],
    };
  } finally {
    await slack.close();
    await db.drop();
    await roles.drop();
    await dropRedisPrefix('jit', botRedisUrl);
    await rm(dir, { recursive: true, force: true });
  }
}

/** RSS and peak RSS (MB) of the script's process at each of `atMs` after it said it was ready. */
interface Reading {
  rssMb: number;
  peakMb: number;
}

async function measure(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
  atMs: [number, number],
): Promise<[Reading, Reading]> {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await untilOutput(child, ready);
    const readyAt = performance.now();
    const readings: Reading[] = [];
    for (const at of atMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, readyAt + at - performance.now())));
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      readings.push({ rssMb: kbField(status, 'VmRSS') / 1024, peakMb: kbField(status, 'VmHWM') / 1024 });
    }
    return readings as [Reading, Reading];
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

function untilOutput(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`not ready within 60 s; output: ${seen.slice(-2000)}`)),
      60_000,
    );
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before it was ready; output: ${seen.slice(-2000)}`));
    });
  });
}

function kbField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc status`);
  return Number(match[1]);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
