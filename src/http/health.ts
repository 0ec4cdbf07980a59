import type { Redis } from 'ioredis';
import type { PrismaClient } from '../generated/prisma/client.js';
import { type Route, sendJson } from './routes.js';

const checkTimeoutMs = 2_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${checkTimeoutMs} ms`)),
      checkTimeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(name: string, probe: () => Promise<unknown>): Promise<[string, string]> {
  try {
    await withTimeout(probe(), name);
    return [name, 'ok'];
  } catch (error) {
    // The error text of a failed connection can carry the URL; report only its kind.
    return [name, `unreachable (${(error as NodeJS.ErrnoException).code ?? (error as Error).name})`];
  }
}

/** `/healthz`: the process is up. `/readyz`: PostgreSQL and Redis answer (503 otherwise). */
export function healthRoutes(deps: { db: PrismaClient; redis: Redis }): Route[] {
  return [
    { path: '/healthz', method: 'GET', handler: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      path: '/readyz',
      method: 'GET',
      handler: async (_req, res) => {
        const checks = Object.fromEntries(
          await Promise.all([
            check('database', () => deps.db.$queryRaw`SELECT 1`),
            check('redis', () => deps.redis.ping()),
          ]),
        );
        const ready = Object.values(checks).every((v) => v === 'ok');
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
      },
    },
  ];
}
