import pg from 'pg';
import { adminUrl } from './services.js';

/**
 * Watches PostgreSQL while a benchmark runs: every `everyMs` it samples what the busy backends
 * wait on (`pg_stat_activity.wait_event_type:wait_event`, `CPU` when running), whether an
 * autovacuum worker is at work, and the checkpoint counters, so a stall seen in the results can
 * be laid next to what the database was doing at that moment.
 */
export interface PgWatch {
  stop(): Promise<PgReport>;
}

export interface PgSample {
  at: number;
  /** Busy backends by what they wait on. */
  waits: Record<string, number>;
  autovacuum: string[];
  checkpoints: number;
}

export interface PgReport {
  samples: PgSample[];
  /** Wait → share of all busy-backend samples, largest first. */
  overall: Array<[string, number]>;
  /** Times (ms since epoch) a checkpoint was seen to start or finish. */
  checkpointsAt: number[];
}

export async function watchPostgres(everyMs = 100): Promise<PgWatch> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const samples: PgSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const [activity, bgwriter] = await Promise.all([
        client.query<{ wait: string; backend: string; query: string }>(
          `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait, backend_type AS backend,
                  left(query, 60) AS query
           FROM pg_stat_activity
           WHERE pid <> pg_backend_pid() AND (state = 'active' OR backend_type = 'autovacuum worker')`,
        ),
        client.query<{ n: string }>(
          'SELECT (checkpoints_timed + checkpoints_req)::text AS n FROM pg_stat_bgwriter',
        ),
      ]);
      const waits: Record<string, number> = {};
      const autovacuum: string[] = [];
      for (const row of activity.rows) {
        if (row.backend === 'autovacuum worker') autovacuum.push(row.query);
        else if (row.backend === 'client backend') waits[row.wait] = (waits[row.wait] ?? 0) + 1;
      }
      samples.push({ at, waits, autovacuum, checkpoints: Number(bgwriter.rows[0]?.n ?? 0) });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - (Date.now() - at))));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await client.end();
      const totals = waitTotals(samples);
      const all = [...totals.values()].reduce((sum, n) => sum + n, 0) || 1;
      const overall = [...totals]
        .sort((a, b) => b[1] - a[1])
        .map(([w, n]) => [w, n / all] as [string, number]);
      const checkpointsAt = samples
        .filter((s, i) => i > 0 && s.checkpoints !== samples[i - 1]?.checkpoints)
        .map((s) => s.at);
      return { samples, overall, checkpointsAt };
    },
  };
}

/** Busy-backend samples by what they waited on, summed over `samples`. */
function waitTotals(samples: readonly PgSample[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const sample of samples) {
    for (const [wait, n] of Object.entries(sample.waits)) totals.set(wait, (totals.get(wait) ?? 0) + n);
  }
  return totals;
}

/** The waits and autovacuum seen between `from` and `to`, in words, for a note. */
export function describeWindow(report: PgReport, from: number, to: number): string {
  const inside = report.samples.filter((s) => s.at >= from && s.at <= to);
  const totals = waitTotals(inside);
  const all = [...totals.values()].reduce((sum, n) => sum + n, 0);
  const waits = [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([w, n]) => `${w} ${((n / (all || 1)) * 100).toFixed(0)} %`)
    .join(', ');
  const busy = inside.length > 0 ? (all / inside.length).toFixed(1) : '0';
  const vacuum = [...new Set(inside.flatMap((s) => s.autovacuum))].slice(0, 2);
  const checkpoint = report.checkpointsAt.some((t) => t >= from && t <= to) ? 'a checkpoint; ' : '';
  return `${checkpoint}${busy} busy backends on average (${waits || 'none'})${vacuum.length > 0 ? `; autovacuum: ${vacuum.join(' | ')}` : ''}`;
}

export const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
