import { setFlagsFromString } from 'node:v8';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { statementNamer } from './statement-names.js';

export type { PrismaClient } from '../generated/prisma/client.js';

/**
 * Transactions are short (one state change, its audit event and outbox row), so a small pool
 * serves the bot and its workers; several replicas together stay far below max_connections.
 */
const POOL_SIZE = 10;

export const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 } as const;

/**
 * Prisma's query compiler is WebAssembly, and its start-up runs enough of it that V8 would
 * optimise most of the module at once: about 80 MB of resident memory held for the life of the
 * process (`npm run bench -- idle-rss`: 206 MB idle without this, 127 MB with it). A larger
 * tiering budget leaves code that runs only at start-up on the baseline compiler and still
 * optimises what stays hot under load. It must be set before the first query compiles the module.
 */
function leaveStartupWasmOnBaselineTier(): void {
  setFlagsFromString('--wasm-tiering-budget=100000000');
}

/** `poolSize`: connections at most (tests, which run many databases at once, take fewer). */
export function createPrismaClient(databaseUrl: string, options: { poolSize?: number } = {}): PrismaClient {
  leaveStartupWasmOnBaselineTier();
  const namer = statementNamer(databaseUrl);
  const adapter = new PrismaPg(
    {
      connectionString: databaseUrl,
      max: options.poolSize ?? POOL_SIZE,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    },
    namer ? { statementNameGenerator: namer } : {},
  );
  // Every transaction that appends to the audit chain waits for its lock: under a burst (a freeze
  // of thousands of grants while requests keep coming) the default 2 s wait for a connection and
  // 5 s run time would turn queueing into errors.
  // `minimal` errors: any other format captures a stack trace (`new Error()`) with every query to
  // point a developer's error at their line, 2.6 % of the bot's CPU in the lifecycle benchmark;
  // our logs carry the error's own stack and message either way.
  return new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS, errorFormat: 'minimal' });
}
