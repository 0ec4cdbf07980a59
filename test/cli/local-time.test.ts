import { describe, expect, it } from 'vitest';
import { describeLocalTime, parseLocalTime } from '../../src/cli/local-time.js';

// Berlin moves its clocks on 2026-03-29 (02:00 → 03:00) and 2026-10-25 (03:00 → 02:00); New York
// on 2026-03-08 and 2026-11-01.
describe('parseLocalTime', () => {
  it.each([
    ['winter in Berlin (UTC+1)', '2026-11-28T23:00', 'Europe/Berlin', '2026-11-28T22:00:00.000Z'],
    ['summer in Berlin (UTC+2)', '2026-07-01T09:30', 'Europe/Berlin', '2026-07-01T07:30:00.000Z'],
    ['with seconds', '2026-07-01T09:30:15', 'Europe/Berlin', '2026-07-01T07:30:15.000Z'],
    ['just before the spring change', '2026-03-29T01:59', 'Europe/Berlin', '2026-03-29T00:59:00.000Z'],
    ['just after the spring change', '2026-03-29T03:00', 'Europe/Berlin', '2026-03-29T01:00:00.000Z'],
    ['after the autumn change', '2026-10-25T03:00', 'Europe/Berlin', '2026-10-25T02:00:00.000Z'],
    ['midnight across a date line in UTC', '2026-01-01T00:30', 'Europe/Berlin', '2025-12-31T23:30:00.000Z'],
    [
      'New York after its spring change (UTC-4)',
      '2026-03-09T08:00',
      'America/New_York',
      '2026-03-09T12:00:00.000Z',
    ],
    ['New York in winter (UTC-5)', '2026-11-02T19:00', 'America/New_York', '2026-11-03T00:00:00.000Z'],
    ['UTC', '2026-11-28T23:00', 'UTC', '2026-11-28T23:00:00.000Z'],
    [
      'an exact instant, whatever the zone',
      '2026-11-28T22:00Z',
      'America/New_York',
      '2026-11-28T22:00:00.000Z',
    ],
    ['an explicit offset', '2026-11-28T23:00+01:00', 'UTC', '2026-11-28T22:00:00.000Z'],
  ])('reads %s', (_name, text, zone, iso) => {
    expect(parseLocalTime(text, zone)).toEqual({ ok: true, at: new Date(iso) });
  });

  it('refuses a wall-clock time the spring change skips', () => {
    expect(parseLocalTime('2026-03-29T02:30', 'Europe/Berlin')).toEqual({
      ok: false,
      reason:
        '2026-03-29T02:30 does not exist in Europe/Berlin: the clocks skip it (daylight saving time starts)',
    });
    expect(parseLocalTime('2026-03-08T02:30', 'America/New_York')).toMatchObject({ ok: false });
  });

  it('takes the first of a wall-clock time the autumn change repeats, and says how to get the second', () => {
    const result = parseLocalTime('2026-10-25T02:30', 'Europe/Berlin');
    expect(result).toMatchObject({ ok: true, at: new Date('2026-10-25T00:30:00Z') });
    if (result.ok) {
      expect(result.note).toContain('happens twice in Europe/Berlin');
      expect(result.note).toContain('Pass 2026-10-25T01:30:00.000Z for the second');
    }
  });

  it.each([
    ['2026-11-28', 'no time'],
    ['2026-11-28 23:00', 'a space instead of T'],
    ['28.11.2026 23:00', 'another date order'],
    ['2026-02-30T10:00', 'a day that does not exist'],
    ['2026-11-28T24:00', 'hour 24'],
    ['2026-11-28T23:60', 'minute 60'],
    ['tomorrow', 'words'],
  ])('refuses %j (%s)', (text) => {
    expect(parseLocalTime(text, 'Europe/Berlin')).toMatchObject({ ok: false });
  });
});

describe('describeLocalTime', () => {
  it.each([
    ['2026-11-28T22:00Z', 'Europe/Berlin', 'Sat 2026-11-28 23:00 Europe/Berlin (UTC+01:00)'],
    ['2026-03-30T06:00Z', 'Europe/Berlin', 'Mon 2026-03-30 08:00 Europe/Berlin (UTC+02:00)'],
    ['2026-03-09T12:00Z', 'America/New_York', 'Mon 2026-03-09 08:00 America/New_York (UTC-04:00)'],
    ['2026-03-09T12:00Z', 'Asia/Kolkata', 'Mon 2026-03-09 17:30 Asia/Kolkata (UTC+05:30)'],
  ])('%s in %s', (iso, zone, expected) => {
    expect(describeLocalTime(new Date(iso), zone)).toBe(expected);
  });
});
