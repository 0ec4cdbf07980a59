import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Metrics, RequestOutcome } from './app/deps.js';
import { isFinal, requestStates } from './domain/lifecycle.js';

/** The bot's instruments, with the registry `/metrics` serves them from. */
export interface BotMetrics extends Metrics {
  registry: Registry;
}

/** People decide: 10 s to a day. */
const approvalBuckets = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400];
/** The expiry job is due at `expiresAt`: from on time to an hour behind (a target or Redis down). */
const latenessBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Every outcome, so each series exists (at 0) from the first scrape and `rate()` sees the first one. */
const outcomes: readonly RequestOutcome[] = ['created', ...requestStates.filter(isFinal)];

/**
 * One registry per bot rather than prom-client's global one: several bots in one process (tests,
 * a restart) would otherwise register the same names twice. Counters and histograms are per
 * process — Prometheus sums them over replicas; the gauges `/metrics` reads at scrape time come
 * from the shared database and Redis instead (src/http/metrics.ts).
 */
export function createMetrics(): BotMetrics {
  const registry = new Registry();
  // Unprefixed (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`…) so stock Node.js
  // dashboards work as they are.
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'jit_requests_total',
    help: 'Access requests created, and requests that reached a final state, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of outcomes) requests.inc({ outcome }, 0);
  const approvalLatency = new Histogram({
    name: 'jit_approval_latency_seconds',
    help: 'Time from a request to the approval by a person that completed its last level',
    buckets: approvalBuckets,
    registers: [registry],
  });
  const expiryLateness = new Histogram({
    name: 'jit_expiry_lateness_seconds',
    help: 'How long after its expiry time a grant was taken back and recorded as expired',
    buckets: latenessBuckets,
    registers: [registry],
  });
  const revokeFailures = new Counter({
    name: 'jit_revoke_failures_total',
    help: 'Attempts to take a grant back on its target that failed (each is retried)',
    labelNames: ['resource'],
    registers: [registry],
  });

  return {
    registry,
    requestCreated: () => requests.inc({ outcome: 'created' }),
    requestEnded: (state, count = 1) => requests.inc({ outcome: state }, count),
    approvalLatency: (seconds) => approvalLatency.observe(Math.max(0, seconds)),
    expiryLateness: (seconds) => expiryLateness.observe(Math.max(0, seconds)),
    revokeFailed: (resource) => revokeFailures.inc({ resource }),
  };
}

/** For code that builds its own `Deps` and has nobody scraping it. */
export const noMetrics: Metrics = {
  requestCreated: () => undefined,
  requestEnded: () => undefined,
  approvalLatency: () => undefined,
  expiryLateness: () => undefined,
  revokeFailed: () => undefined,
};
