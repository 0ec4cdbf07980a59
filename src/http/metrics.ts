import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { PrismaClient } from '../generated/prisma/client.js';
import { type QueueKind, type Queues, queueNames } from '../jobs/queues.js';
import type { Route } from './routes.js';

/**
 * `/metrics` in Prometheus text format (prom-client: the de-facto Node client, maintained, and it
 * brings process metrics for free). Gauges are read from the database and the queues at scrape
 * time, so every replica reports the same totals.
 */
export function metricsRoute(deps: { db: PrismaClient; queues: Queues }): Route {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'jit_' });

  new Gauge({
    name: 'jit_requests',
    help: 'Access requests by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await deps.db.accessRequest.groupBy({ by: ['state'], _count: { _all: true } });
      this.reset();
      for (const row of rows) this.set({ state: row.state }, row._count._all);
    },
  });
  new Gauge({
    name: 'jit_queue_jobs',
    help: 'Jobs in each BullMQ queue by status',
    labelNames: ['queue', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const kind of Object.keys(queueNames) as QueueKind[]) {
        const counts = await deps.queues[kind].getJobCounts('waiting', 'active', 'delayed', 'failed');
        for (const [status, count] of Object.entries(counts)) this.set({ queue: kind, status }, count);
      }
    },
  });

  return {
    path: '/metrics',
    method: 'GET',
    handler: async (_req, res) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
    },
  };
}
