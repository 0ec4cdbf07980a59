import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Queues } from '../jobs/queues.js';
import type { Route } from './routes.js';

// `prioritized`: routine audit posts wait there, behind alerts (see jobs/queues.ts).
const jobStates = ['waiting', 'prioritized', 'delayed', 'active', 'failed'] as const;

/**
 * `/metrics` in Prometheus text format, from the bot's registry (src/metrics.ts: counters and
 * histograms the use cases feed, process metrics). The gauges added here are read from the
 * database and the queues at scrape time, so every replica reports the same totals: aggregate
 * them with `max`, not `sum`. A source that does not answer drops its series from that scrape
 * rather than failing it, so the process's own metrics still arrive; /readyz says what is wrong.
 */
export function metricsRoute(deps: {
  registry: Registry;
  db: PrismaClient;
  queues: Queues;
  logger: Logger;
}): Route {
  const { registry, db, queues, logger } = deps;
  // Like /readyz, log only the kind of error: a failed connection's message can carry the URL.
  const unavailable = (source: string) => (error: unknown) => {
    const kind = (error as NodeJS.ErrnoException).code ?? (error as Error).name;
    logger.warn({ source, kind }, 'metrics: a source did not answer; its series are left out');
  };

  new Gauge({
    name: 'jit_requests',
    help: 'Access requests by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db.accessRequest
        .groupBy({ by: ['state'], _count: { _all: true } })
        .catch(unavailable('database'));
      for (const row of rows ?? []) this.set({ state: row.state }, row._count._all);
    },
  });
  new Gauge({
    name: 'jit_grants_active',
    help: 'Grants in force now (requests in state active)',
    registers: [registry],
    async collect() {
      this.reset();
      const count = await db.accessRequest
        .count({ where: { state: 'active' } })
        .catch(unavailable('database'));
      if (count !== undefined) this.set(count);
    },
  });
  new Gauge({
    name: 'jit_queue_jobs',
    help: 'Jobs in each BullMQ queue by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      // Every queue the bot has, including ones added later, without a list to keep in step.
      const all = Object.values(queues).filter((value): value is Queue => value instanceof Queue);
      const counts = await Promise.all(all.map((queue) => queue.getJobCounts(...jobStates))).catch(
        unavailable('redis'),
      );
      for (const [i, queue] of all.entries()) {
        for (const state of jobStates) {
          const count = counts?.[i]?.[state];
          if (count !== undefined) this.set({ queue: queue.name, state }, count);
        }
      }
    },
  });

  return {
    path: '/metrics',
    method: 'GET',
    handler: async (_req, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      res.end(body);
    },
  };
}
