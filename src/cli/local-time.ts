import { wallClockReading } from '../domain/wall-clock.js';

/**
 * Wall-clock time in a time zone, as a security engineer types it for a dry run
 * (`2026-11-28T23:00` meaning 23:00 in the policy's zone), turned into an instant. Around a
 * daylight-saving change a wall-clock time can be skipped (it never happens) or repeated (it
 * happens twice); both are said, never silently shifted.
 */

export type LocalTime = { ok: true; at: Date; note?: string } | { ok: false; reason: string };

const wallClock = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
const exact = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const dayMs = 86_400_000;

export function parseLocalTime(text: string, timezone: string): LocalTime {
  if (exact.test(text)) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return { ok: true, at };
  }
  const fields = wallClock
    .exec(text)
    ?.slice(1)
    .map((field) => Number(field ?? 0));
  const shape = `a time like 2026-11-28T23:00 (wall-clock time in ${timezone}) or 2026-11-28T22:00Z`;
  if (!fields) return { ok: false, reason: `"${text}" is not ${shape}` };
  const [year, month, day, hour, minute, second = 0] = fields as [
    number,
    number,
    number,
    number,
    number,
    number?,
  ];
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2026-02-30 over into March; a date or time that does not exist is refused.
  const check = new Date(local);
  const same = [
    check.getUTCFullYear() === year,
    check.getUTCMonth() === month - 1,
    check.getUTCDate() === day,
    check.getUTCHours() === hour,
    check.getUTCMinutes() === minute,
    check.getUTCSeconds() === second,
  ];
  if (same.includes(false)) return { ok: false, reason: `"${text}" is not a valid date and time` };
  // The zone's offsets around that day; a wall-clock time maps to the instants where one fits.
  const offsets = new Set([-dayMs, 0, dayMs].map((shift) => offsetAt(local + shift, timezone)));
  const instants = [...offsets]
    .map((offset) => local - offset)
    .filter((instant) => wallClockAt(instant, timezone) === local)
    .sort((a, b) => a - b);
  const [first, later] = instants;
  if (first === undefined) {
    return {
      ok: false,
      reason: `${text} does not exist in ${timezone}: the clocks skip it (daylight saving time starts)`,
    };
  }
  if (later === undefined) return { ok: true, at: new Date(first) };
  return {
    ok: true,
    at: new Date(first),
    note:
      `${text} happens twice in ${timezone} (daylight saving time ends); the first, ` +
      `${new Date(first).toISOString()}, is used. Pass ${new Date(later).toISOString()} for the second.`,
  };
}

/** `Sat 2026-11-28 23:00 Europe/Berlin (UTC+01:00)`. */
export function describeLocalTime(at: Date, timezone: string): string {
  const wall = new Date(wallClockAt(at.getTime(), timezone));
  const weekday = wall.toLocaleDateString('en-US', { weekday: 'short', timeZone: 'UTC' });
  const offsetMinutes = Math.round(offsetAt(at.getTime(), timezone) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${weekday} ${wall.toISOString().slice(0, 16).replace('T', ' ')} ${timezone} (UTC${offset})`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The wall-clock time in `timezone` at `instant`, written as if it were UTC (ms since epoch). */
function wallClockAt(instant: number, timezone: string): number {
  const clock = wallClockReading(new Date(instant), timezone);
  return Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute, clock.second);
}

function offsetAt(instant: number, timezone: string): number {
  return wallClockAt(instant, timezone) - Math.floor(instant / 1000) * 1000;
}
