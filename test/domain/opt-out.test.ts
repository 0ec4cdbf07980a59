import { describe, expect, it } from 'vitest';
import {
  describeOptOutRules,
  evaluateOptOut,
  type OptOutContext,
  type OptOutDecision,
  type OptOutRules,
} from '../../src/domain/opt-out.js';

const blocked = 'UBLOCKED1';
const person = 'UPERSON01';

const tuesdayNoon = new Date('2026-03-31T12:00:00Z');
const saturdayNoon = new Date('2026-03-28T12:00:00Z');

const context = (overrides: Partial<OptOutContext> = {}): OptOutContext => ({
  requesterId: person,
  isGuest: false,
  at: tuesdayNoon,
  timezone: 'Europe/Berlin',
  businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '19:00' },
  recentRequests: 0,
  ...overrides,
});

const allow: OptOutDecision = { decision: 'allow' };
const denied = (rule: string) => expect.objectContaining({ decision: 'deny', rule });
const review = (...rules: string[]) => ({ decision: 'review', rules });

const strict: OptOutRules = {
  blockedUsers: [blocked],
  guests: 'deny',
  outsideBusinessHours: 'deny',
  maxRequestsPerHour: 3,
};
const lenient: OptOutRules = { blockedUsers: [], guests: 'review', outsideBusinessHours: 'review' };

describe('evaluateOptOut', () => {
  it.each<[string, OptOutRules | undefined, Partial<OptOutContext>, unknown]>([
    ['no rules at all', undefined, { isGuest: true, at: saturdayNoon }, allow],
    ['empty rules', { blockedUsers: [] }, { isGuest: true, at: saturdayNoon, recentRequests: 99 }, allow],
    ['a full member in business hours, under the limit', strict, { recentRequests: 2 }, allow],
    ['a blocked user', strict, { requesterId: blocked }, denied('optOut.blockedUsers')],
    [
      'a blocked user, where the other rules only ask for review',
      { ...lenient, blockedUsers: [blocked] },
      { requesterId: blocked, isGuest: true },
      denied('optOut.blockedUsers'),
    ],
    ['a guest, guests: deny', strict, { isGuest: true }, denied('optOut.guests')],
    ['a guest, guests: review', lenient, { isGuest: true }, review('optOut.guests')],
    ['a full member, guests: deny', { guests: 'deny' }, { isGuest: false }, allow],
    [
      'on a Saturday, outsideBusinessHours: deny',
      strict,
      { at: saturdayNoon },
      denied('optOut.outsideBusinessHours'),
    ],
    [
      'on a Saturday, outsideBusinessHours: review',
      lenient,
      { at: saturdayNoon },
      review('optOut.outsideBusinessHours'),
    ],
    [
      'a guest on a Saturday, both review: both named, in rule order',
      lenient,
      { isGuest: true, at: saturdayNoon },
      review('optOut.guests', 'optOut.outsideBusinessHours'),
    ],
    [
      'deny wins over review',
      { guests: 'review', outsideBusinessHours: 'deny' },
      { isGuest: true, at: saturdayNoon },
      denied('optOut.outsideBusinessHours'),
    ],
    [
      'the first deny in rule order is reported',
      strict,
      { requesterId: blocked, isGuest: true, at: saturdayNoon, recentRequests: 9 },
      denied('optOut.blockedUsers'),
    ],
    [
      'a guest on a Saturday, both deny',
      strict,
      { isGuest: true, at: saturdayNoon },
      denied('optOut.guests'),
    ],
    [
      'N earlier requests with a limit of N',
      strict,
      { recentRequests: 3 },
      denied('optOut.maxRequestsPerHour'),
    ],
    ['N − 1 earlier requests with a limit of N', strict, { recentRequests: 2 }, allow],
    [
      'the rate limit beside a review',
      { ...lenient, maxRequestsPerHour: 1 },
      { isGuest: true, recentRequests: 1 },
      denied('optOut.maxRequestsPerHour'),
    ],
    ['a limit of 1, first request', { maxRequestsPerHour: 1 }, { recentRequests: 0 }, allow],
  ])('%s', (_name, rules, overrides, expected) => {
    expect(evaluateOptOut(rules, context(overrides))).toEqual(expected);
  });

  it('tells the requester which rule and what to do instead', () => {
    const cases: ReadonlyArray<[Partial<OptOutContext>, RegExp, RegExp]> = [
      [{ requesterId: blocked }, /may not request/, /security team/],
      [{ isGuest: true }, /Guest accounts/, /full member/],
      [
        { at: saturdayNoon },
        /business hours \(Mon–Fri 08:00–19:00 Europe\/Berlin\)/,
        /Ask again during business hours/,
      ],
      [{ recentRequests: 3 }, /3 requests .* last hour; the limit is 3/, /Wait before asking again/],
    ];
    for (const [overrides, reason, instead] of cases) {
      const decision = evaluateOptOut(strict, context(overrides));
      if (decision.decision !== 'deny') throw new Error(`expected a deny for ${JSON.stringify(overrides)}`);
      expect(decision.reason).toMatch(reason);
      expect(decision.instead).toMatch(instead);
      expect(decision.reason).toMatch(/\.$/);
      expect(decision.instead).toMatch(/\.$/);
    }
  });

  it('judges business hours in the policy time zone', () => {
    // 06:30 UTC on this Tuesday is 08:30 in Berlin (in) and 02:30 in New York (out).
    const at = new Date('2026-03-31T06:30:00Z');
    expect(evaluateOptOut(strict, context({ at, timezone: 'Europe/Berlin' }))).toEqual(allow);
    expect(evaluateOptOut(strict, context({ at, timezone: 'America/New_York' }))).toEqual(
      denied('optOut.outsideBusinessHours'),
    );
  });
});

describe('describeOptOutRules', () => {
  it.each([
    ['optOut.guests', 'guest account'],
    ['optOut.guests,optOut.outsideBusinessHours', 'guest account, outside business hours'],
    ['optOut.somethingNew', 'optOut.somethingNew'],
  ])('%s → %s', (stored, words) => {
    expect(describeOptOutRules(stored)).toBe(words);
  });
});
