/**
 * Durations as users type them: `90s`, `30m`, `2h`, `1d`, `1h30m`.
 * The grammar is the product contract (SPEC), and it is deliberately strict: no fractions, no
 * spaces, no negative or zero values, units in descending order, each at most once. General
 * duration libraries accept far more (`1.5 hours`, `-2h`, `1e3`), which we would have to reject
 * again, so the parser is this one regular expression.
 */

const pattern = /^(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?(?:(\d{1,7})s)?$/;
const unitSeconds = [86_400, 3_600, 60, 1] as const;

/** Seconds in `text`, or null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const match = pattern.exec(text.trim().toLowerCase());
  if (!match || match[0] === '') return null;
  let total = 0;
  for (let i = 0; i < unitSeconds.length; i++) {
    const part = match[i + 1];
    if (part !== undefined) total += Number(part) * (unitSeconds[i] as number);
  }
  return total > 0 ? total : null;
}

/** `5400` → `1h30m`; the inverse of `parseDuration` for whole seconds. */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  let rest = Math.round(seconds);
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
