/**
 * What a clock on the wall in an IANA time zone shows at an instant. Read through
 * `Intl.DateTimeFormat`, so daylight-saving changes follow the time-zone database Node ships with.
 */

export interface WallClockReading {
  year: number;
  /** 1 = January. */
  month: number;
  day: number;
  /** English short name: `Mon` … `Sun`. */
  weekday: string;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    // `h23`, not `hour12: false`: the latter renders midnight as 24:00 in some ICU versions.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

export function wallClockReading(at: Date, timezone: string): WallClockReading {
  const parts = formatterFor(timezone).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: Number(part('year')),
    month: Number(part('month')),
    day: Number(part('day')),
    weekday: part('weekday'),
    hour: Number(part('hour')),
    minute: Number(part('minute')),
    second: Number(part('second')),
  };
}
