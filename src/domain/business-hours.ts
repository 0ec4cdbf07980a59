import { wallClockReading } from './wall-clock.js';

/**
 * Business hours: a weekly window of local wall-clock time in the policy's time zone. Pure: the
 * instant to judge is passed in.
 */

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

export interface BusinessHours {
  days: readonly Weekday[];
  /** `HH:MM`, inclusive. */
  from: string;
  /**
   * `HH:MM`, exclusive. Earlier than `from`: the window runs past midnight, and the early hours
   * belong to the day it started on (`fri 22:00–06:00` covers Saturday 05:59). Equal to `from`:
   * the whole day.
   */
  to: string;
}

/** The local weekday (0 = Monday) and minute of the day of `at` in `timezone`. */
function localTime(at: Date, timezone: string): { day: number; minute: number } {
  const clock = wallClockReading(at, timezone);
  const day = weekdays.indexOf(clock.weekday.toLowerCase() as Weekday);
  if (day < 0) throw new Error(`unexpected weekday "${clock.weekday}" for ${timezone}`);
  return { day, minute: clock.hour * 60 + clock.minute };
}

function minuteOf(clock: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(clock);
  if (!match) throw new Error(`"${clock}" is not a time like 08:00`);
  return Number(match[1]) * 60 + Number(match[2]);
}

export function isWithinBusinessHours(at: Date, timezone: string, hours: BusinessHours): boolean {
  const { day, minute } = localTime(at, timezone);
  const listed = (d: number) => hours.days.includes(weekdays[(d + 7) % 7] as Weekday);
  const from = minuteOf(hours.from);
  const to = minuteOf(hours.to);
  if (from === to) return listed(day);
  if (from < to) return listed(day) && minute >= from && minute < to;
  return (listed(day) && minute >= from) || (listed(day - 1) && minute < to);
}

const dayNames = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** `Mon–Fri 08:00–19:00 Europe/Berlin`, as the requester is told it. */
export function describeBusinessHours(timezone: string, hours: BusinessHours): string {
  const from = minuteOf(hours.from);
  const to = minuteOf(hours.to);
  const times =
    from === to ? 'all day' : `${hours.from}–${hours.to}${from > to ? ' (into the next day)' : ''}`;
  return `${describeDays(hours.days)} ${times} ${timezone}`;
}

/** Runs of three or more days as ranges: `Mon–Fri`, `Mon, Wed, Fri`, `Mon–Wed, Sat, Sun`. */
function describeDays(days: readonly Weekday[]): string {
  const indexes = [...new Set(days.map((d) => weekdays.indexOf(d)))].sort((a, b) => a - b);
  if (indexes.length === 7) return 'every day';
  const runs: number[][] = [];
  for (const i of indexes) {
    const run = runs.at(-1);
    if (run && run.at(-1) === i - 1) run.push(i);
    else runs.push([i]);
  }
  return runs
    .flatMap((run) =>
      run.length >= 3
        ? [`${dayNames[run[0] as number]}–${dayNames[run.at(-1) as number]}`]
        : run.map((i) => dayNames[i]),
    )
    .join(', ');
}
