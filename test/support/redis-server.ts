import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';

/**
 * A Redis of a test's own, as a child process, for tests that wipe or restart Redis: the shared
 * one on 6379 serves every other test file at the same time. No persistence, so a restart comes
 * back empty, as a Redis that lost its data would. `REDIS_SERVER` names another binary.
 */
export interface DedicatedRedis {
  readonly url: string;
  readonly port: number;
  /** FLUSHALL: every key gone, connections kept. */
  flushAll(): Promise<void>;
  /** Kills the server (SIGKILL) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Stops it for good. */
  close(): Promise<void>;
}

const READY_LINE = /Ready to accept connections/;
const START_TIMEOUT_MS = 10_000;

export async function startDedicatedRedis(): Promise<DedicatedRedis> {
  const port = await freeLocalPort();
  let child: ChildProcess | undefined = await launch(port);
  const url = `redis://127.0.0.1:${port}`;
  // A test process that ends without closing it must not leave a server behind.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
  };
  return {
    url,
    port,
    async flushAll() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        await redis.flushall();
      } finally {
        redis.disconnect();
      }
    },
    stop,
    async start() {
      if (child) throw new Error(`redis-server on port ${port} is already running`);
      child = await launch(port);
    },
    async close() {
      process.off('exit', killOnExit);
      await stop();
    },
  };
}

async function launch(port: number): Promise<ChildProcess> {
  const binary = process.env.REDIS_SERVER ?? 'redis-server';
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  // BullMQ's requirement, as in production; the working directory only matters if it ever wrote.
  args.push('--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--dir', tmpdir());
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${binary} did not start within ${START_TIMEOUT_MS} ms:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
      if (READY_LINE.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary} (install redis-server or set REDIS_SERVER): ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${binary} exited (${signal ?? code}) before it was ready:\n${output}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return child;
}

async function freeLocalPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port from the OS');
  return address.port;
}
