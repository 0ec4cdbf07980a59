import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type { PrismaClient } from '../generated/prisma/client.js';

/**
 * Transactions are short (one state change, its audit event and outbox row), so a small pool
 * serves the bot and its workers; several replicas together stay far below max_connections.
 */
const POOL_SIZE = 10;

export const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 30_000 } as const;

export function createPrismaClient(databaseUrl: string): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: POOL_SIZE,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // Every transaction that appends to the audit chain waits for its lock: under a burst (a freeze
  // of thousands of grants while requests keep coming) the default 2 s wait for a connection and
  // 5 s run time would turn queueing into errors.
  return new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS });
}
