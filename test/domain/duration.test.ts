import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/domain/duration.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['30m', 1_800],
    ['2h', 7_200],
    ['1d', 86_400],
    ['1h30m', 5_400],
    ['1d2h3m4s', 86_400 + 7_200 + 180 + 4],
    ['1d30s', 86_400 + 30],
    ['0h30m', 1_800],
    ['120m', 7_200],
    ['1H30M', 5_400],
    ['1D', 86_400],
    ['  2h ', 7_200],
    ['\t45m\n', 2_700],
    ['9999d', 9_999 * 86_400],
    ['9999999s', 9_999_999],
  ])('%j → %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each([
    '',
    '   ',
    '0s',
    '0m',
    '0h0m',
    '0d0h0m0s',
    '-1h',
    '+1h',
    '1.5h',
    '1,5h',
    '1h 30m',
    '30m1h',
    '1s1m',
    '1h1h',
    'h',
    '1',
    '60',
    '1w',
    '1y',
    '1ms',
    '1e3s',
    'abc',
    '1hour',
    '1 h',
    'h1',
    'Infinity',
    'NaN',
    '0x10s',
    '１h',
    '10000d',
    '99999999999999999999d',
    '100000h',
    '10000000s',
  ])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [90, '1m30s'],
    [1_800, '30m'],
    [5_400, '1h30m'],
    [86_400, '1d'],
    [90_061, '1d1h1m1s'],
    [86_430, '1d30s'],
    [0, '0s'],
    [-5, '0s'],
    [89.6, '1m30s'],
  ])('%d → %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('round-trips through parseDuration for every second of the first day', () => {
    for (let seconds = 1; seconds <= 86_400; seconds++) {
      const text = formatDuration(seconds);
      if (parseDuration(text) !== seconds) expect.fail(`${seconds} → ${text} → ${parseDuration(text)}`);
    }
  });

  it('round-trips for spread-out values up to the largest parseable number of days', () => {
    // A fixed linear congruential sequence: varied values, same ones on every run.
    let state = 12_345;
    const next = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state;
    };
    const values = [86_401, 9_999 * 86_400, 9_999 * 86_400 + 86_399];
    for (let i = 0; i < 5_000; i++) values.push(1 + (next() % (9_999 * 86_400 + 86_399)));
    for (const seconds of values) {
      const text = formatDuration(seconds);
      expect(text).toMatch(/^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/);
      expect(parseDuration(text)).toBe(seconds);
    }
  });

  it('parses back what it prints for every canonical text', () => {
    for (const text of ['1d', '1d1s', '23h59m59s', '1h', '59m', '1m', '59s', '1s']) {
      const seconds = parseDuration(text);
      expect(seconds).not.toBeNull();
      expect(formatDuration(seconds as number)).toBe(text);
    }
  });
});
