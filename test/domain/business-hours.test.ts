import { describe, expect, it } from 'vitest';
import {
  type BusinessHours,
  describeBusinessHours,
  isWithinBusinessHours,
} from '../../src/domain/business-hours.js';

const weekdaysOnly = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;
const office: BusinessHours = { days: weekdaysOnly, from: '08:00', to: '19:00' };
const nightShift: BusinessHours = { days: weekdaysOnly, from: '22:00', to: '06:00' };
const sundayTwoToThree: BusinessHours = { days: ['sun'], from: '02:00', to: '03:00' };

// 2026-03-29 and 2026-10-25 are the Sundays Europe changes clocks; New York changes on 2026-03-08
// and 2026-11-01. The comments give local wall-clock time.
const cases: ReadonlyArray<[string, string, string, BusinessHours, boolean]> = [
  // Berlin in winter (UTC+1): the from minute is in, the to minute is out.
  ['Fri 07:59 CET', '2026-03-27T06:59Z', 'Europe/Berlin', office, false],
  ['Fri 08:00 CET', '2026-03-27T07:00Z', 'Europe/Berlin', office, true],
  ['Fri 18:59 CET', '2026-03-27T17:59Z', 'Europe/Berlin', office, true],
  ['Fri 19:00 CET', '2026-03-27T18:00Z', 'Europe/Berlin', office, false],
  ['Sat 11:00 CET', '2026-03-28T10:00Z', 'Europe/Berlin', office, false],
  ['Sun 12:00 CEST', '2026-03-29T10:00Z', 'Europe/Berlin', office, false],
  // The Monday after the spring change (UTC+2): the same UTC hours mean other local ones.
  ['Mon 07:59 CEST', '2026-03-30T05:59Z', 'Europe/Berlin', office, false],
  ['Mon 08:00 CEST', '2026-03-30T06:00Z', 'Europe/Berlin', office, true],
  ['Mon 18:59 CEST', '2026-03-30T16:59Z', 'Europe/Berlin', office, true],
  ['Mon 19:00 CEST', '2026-03-30T17:00Z', 'Europe/Berlin', office, false],
  // Around the autumn change.
  ['Fri 08:00 CEST', '2026-10-23T06:00Z', 'Europe/Berlin', office, true],
  ['Fri 19:00 CEST', '2026-10-23T17:00Z', 'Europe/Berlin', office, false],
  ['Mon 07:00 CET', '2026-10-26T06:00Z', 'Europe/Berlin', office, false],
  ['Mon 08:00 CET', '2026-10-26T07:00Z', 'Europe/Berlin', office, true],
  ['Mon 18:59 CET', '2026-10-26T17:59Z', 'Europe/Berlin', office, true],
  // The night of the spring change: 02:00–03:00 does not exist that Sunday.
  [
    'Sun 01:59 CET, just before the skipped hour',
    '2026-03-29T00:59Z',
    'Europe/Berlin',
    sundayTwoToThree,
    false,
  ],
  [
    'Sun 03:00 CEST, just after the skipped hour',
    '2026-03-29T01:00Z',
    'Europe/Berlin',
    sundayTwoToThree,
    false,
  ],
  [
    'Sun 03:00 CEST in a window starting then',
    '2026-03-29T01:00Z',
    'Europe/Berlin',
    { days: ['sun'], from: '03:00', to: '04:00' },
    true,
  ],
  // The night of the autumn change: 02:00–03:00 happens twice, and both are in.
  ['Sun 01:59 CEST', '2026-10-24T23:59Z', 'Europe/Berlin', sundayTwoToThree, false],
  ['Sun 02:00 CEST', '2026-10-25T00:00Z', 'Europe/Berlin', sundayTwoToThree, true],
  ['Sun 02:30 CEST', '2026-10-25T00:30Z', 'Europe/Berlin', sundayTwoToThree, true],
  ['Sun 02:30 CET (the second time)', '2026-10-25T01:30Z', 'Europe/Berlin', sundayTwoToThree, true],
  ['Sun 02:59 CET', '2026-10-25T01:59Z', 'Europe/Berlin', sundayTwoToThree, true],
  ['Sun 03:00 CET', '2026-10-25T02:00Z', 'Europe/Berlin', sundayTwoToThree, false],
  // New York.
  ['Fri 07:59 EST', '2026-03-06T12:59Z', 'America/New_York', office, false],
  ['Fri 08:00 EST', '2026-03-06T13:00Z', 'America/New_York', office, true],
  ['Fri 18:59 EST', '2026-03-06T23:59Z', 'America/New_York', office, true],
  ['Fri 19:00 EST, already Saturday in UTC', '2026-03-07T00:00Z', 'America/New_York', office, false],
  ['Mon 07:59 EDT', '2026-03-09T11:59Z', 'America/New_York', office, false],
  ['Mon 08:00 EDT', '2026-03-09T12:00Z', 'America/New_York', office, true],
  ['Mon 19:00 EDT', '2026-03-09T23:00Z', 'America/New_York', office, false],
  ['Fri 08:00 EDT', '2026-10-30T12:00Z', 'America/New_York', office, true],
  ['Mon 07:00 EST', '2026-11-02T12:00Z', 'America/New_York', office, false],
  ['Mon 08:00 EST', '2026-11-02T13:00Z', 'America/New_York', office, true],
  [
    'Sun 01:30 EDT',
    '2026-11-01T05:30Z',
    'America/New_York',
    { days: ['sun'], from: '01:00', to: '02:00' },
    true,
  ],
  [
    'Sun 01:30 EST (the second time)',
    '2026-11-01T06:30Z',
    'America/New_York',
    { days: ['sun'], from: '01:00', to: '02:00' },
    true,
  ],
  // The local day is not the UTC day.
  ['Mon 08:30 in Tokyo, Sunday in UTC', '2026-03-29T23:30Z', 'Asia/Tokyo', office, true],
  ['Fri 18:59 in Tokyo', '2026-03-27T09:59Z', 'Asia/Tokyo', office, true],
  ['Fri 19:00 in Tokyo', '2026-03-27T10:00Z', 'Asia/Tokyo', office, false],
  // A window past midnight belongs to the day it starts on.
  ['Mon 21:59, before the night shift', '2026-03-30T21:59Z', 'UTC', nightShift, false],
  ['Mon 22:00, night shift starts', '2026-03-30T22:00Z', 'UTC', nightShift, true],
  ["Tue 05:59, Monday's night shift", '2026-03-31T05:59Z', 'UTC', nightShift, true],
  ["Tue 06:00, Monday's night shift is over", '2026-03-31T06:00Z', 'UTC', nightShift, false],
  ['Tue 12:00, midday', '2026-03-31T12:00Z', 'UTC', nightShift, false],
  ["Mon 05:59: Sunday's night is not listed", '2026-03-30T05:59Z', 'UTC', nightShift, false],
  ["Sat 05:59: Friday's night shift", '2026-03-28T05:59Z', 'UTC', nightShift, true],
  ['Sat 22:00: Saturday is not listed', '2026-03-28T22:00Z', 'UTC', nightShift, false],
  [
    "Sat 05:59 CET: Friday's night shift in Berlin",
    '2026-03-28T04:59Z',
    'Europe/Berlin',
    { days: ['fri'], from: '22:00', to: '06:00' },
    true,
  ],
  // from = to: the whole day.
  ['Sat 00:00, all day', '2026-03-28T00:00Z', 'UTC', { days: ['sat'], from: '00:00', to: '00:00' }, true],
  ['Sat 23:59, all day', '2026-03-28T23:59Z', 'UTC', { days: ['sat'], from: '00:00', to: '00:00' }, true],
  ['Sun 00:00, not listed', '2026-03-29T00:00Z', 'UTC', { days: ['sat'], from: '00:00', to: '00:00' }, false],
  ['Fri 23:59, not listed', '2026-03-27T23:59Z', 'UTC', { days: ['sat'], from: '00:00', to: '00:00' }, false],
];

describe('isWithinBusinessHours', () => {
  it.each(cases)('%s (%s in %s, %j) → %s', (_local, iso, timezone, hours, expected) => {
    expect(isWithinBusinessHours(new Date(iso), timezone, hours)).toBe(expected);
  });
});

describe('describeBusinessHours', () => {
  it.each<[BusinessHours, string, string]>([
    [office, 'Europe/Berlin', 'Mon–Fri 08:00–19:00 Europe/Berlin'],
    [{ days: ['mon', 'wed', 'fri'], from: '09:00', to: '17:30' }, 'UTC', 'Mon, Wed, Fri 09:00–17:30 UTC'],
    [{ days: ['sat', 'sun'], from: '10:00', to: '14:00' }, 'UTC', 'Sat, Sun 10:00–14:00 UTC'],
    [
      { days: ['sun', 'fri', 'tue', 'mon', 'wed', 'mon'], from: '08:00', to: '19:00' },
      'UTC',
      'Mon–Wed, Fri, Sun 08:00–19:00 UTC',
    ],
    [
      { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '08:00', to: '19:00' },
      'UTC',
      'every day 08:00–19:00 UTC',
    ],
    [nightShift, 'UTC', 'Mon–Fri 22:00–06:00 (into the next day) UTC'],
    [{ days: ['sat'], from: '00:00', to: '00:00' }, 'America/New_York', 'Sat all day America/New_York'],
  ])('%j in %s → %s', (hours, timezone, expected) => {
    expect(describeBusinessHours(timezone, hours)).toBe(expected);
  });
});
