/** Numbers and the table every benchmark prints. */

export interface Row {
  metric: string;
  ours: number;
  baseline: number;
  unit: string;
  /** Whether a larger number is better (throughput) or worse (latency, memory). */
  higherIsBetter?: boolean;
  goal?: string;
  /** Undefined when the row has no goal of its own (context only). */
  met?: boolean;
}

export interface BenchResult {
  name: string;
  /** What "baseline" means for this benchmark, in a line. */
  baseline: string;
  rows: Row[];
  notes: string[];
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** ours / baseline: how many times the baseline's number ours is. */
export function ratio(ours: number, baseline: number): number {
  return baseline === 0 ? Number.POSITIVE_INFINITY : ours / baseline;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function formatTable(result: BenchResult): string {
  const header = ['metric', 'ours', 'baseline', 'ratio', 'goal', 'met?'];
  const lines = result.rows.map((row) => [
    row.metric,
    `${formatNumber(row.ours)} ${row.unit}`,
    `${formatNumber(row.baseline)} ${row.unit}`,
    `${formatNumber(ratio(row.ours, row.baseline))}×`,
    row.goal ?? '',
    row.met === undefined ? '' : row.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => line[i]?.length ?? 0)),
  );
  const render = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [render(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(render)].join(
    '\n',
  );
}

export function printResult(result: BenchResult): void {
  console.log(`\n## ${result.name}\nbaseline: ${result.baseline}\n`);
  console.log(formatTable(result));
  for (const note of result.notes) console.log(`- ${note}`);
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start;
}

/** A positive integer from the environment, or the default. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}
