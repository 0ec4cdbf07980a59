import { describe, expect, it } from 'vitest';
import {
  decideExtension,
  decideRequest,
  type EngineResource,
  type PolicyDecision,
  type PolicySettings,
  type RequesterContext,
} from '../../src/domain/policy.js';

const minute = 60;
const hour = 60 * minute;

const alice = 'UALICE01'; // on call
const sre = 'USRE0001'; // listed by id in the second rule
const eve = 'UEVE0001'; // nobody in particular
const blocked = 'UBLOCKED';

const berlin: PolicySettings = {
  timezone: 'Europe/Berlin',
  businessHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '19:00' },
};
const newYork: PolicySettings = { ...berlin, timezone: 'America/New_York' };
/** Friday and Saturday nights, 22:00 until 06:00 the next morning. */
const nightShift: PolicySettings = {
  timezone: 'Europe/Berlin',
  businessHours: { days: ['fri', 'sat'], from: '22:00', to: '06:00' },
};

const resource: EngineResource = {
  duration: { default: hour, max: 4 * hour, min: 5 * minute },
  approvals: [
    { from: { users: ['UBOB0001'], groups: ['S0DBA'] }, count: 1 },
    { from: { users: ['UCTO0001'], groups: [] }, count: 1 },
  ],
  autoApprove: [
    { requesterIn: { users: [], groups: ['S0ONCALL'] }, maxDuration: 30 * minute, businessHoursOnly: true },
    { requesterIn: { users: [sre], groups: [] }, maxDuration: 2 * hour, businessHoursOnly: false },
  ],
  optOut: { blockedUsers: [blocked], guests: 'review', maxRequestsPerHour: 3 },
};

// Local times in the comments. Berlin moves its clocks on 2026-03-29 and 2026-10-25, New York on
// 2026-03-08 and 2026-11-01.
const tuesdayAfternoon = '2026-03-31T12:00Z'; // Tue 14:00 CEST
const saturdayNoon = '2026-03-28T11:00Z'; // Sat 12:00 CET

const context = (
  overrides: Omit<Partial<RequesterContext>, 'at'> & { at?: Date | string } = {},
): RequesterContext => {
  const { at, ...rest } = overrides;
  return {
    userId: alice,
    groups: new Set(['S0ONCALL']),
    isGuest: false,
    recentRequests: 0,
    freezes: [],
    ...rest,
    at: new Date(at ?? tuesdayAfternoon),
  };
};

const autoApproved = (rule: string) => ({ outcome: 'auto-approve' as const, rule });
const denied = (rule: string) => ({ outcome: 'deny' as const, rule });
const needsPeople = (review: string[] = []) => ({ outcome: 'approval' as const, levels: [0, 1], review });

type Case = [
  name: string,
  overrides: { resource?: Partial<EngineResource>; settings?: PolicySettings; durationSec?: number },
  context: RequesterContext,
  expected: Partial<PolicyDecision>,
  /** Fragments the reasons must contain, in any of them. */
  mentions: string[],
];

const cases: Case[] = [
  // autoApprove
  [
    'an on-call engineer, 30m, on a Tuesday afternoon',
    {},
    context(),
    autoApproved('autoApprove[0]'),
    [
      'autoApprove[0] approves it',
      'user group S0ONCALL',
      '30m is within its maxDuration of 30m',
      'within business hours (Mon–Fri 08:00–19:00 Europe/Berlin)',
    ],
  ],
  [
    'an on-call engineer, one minute over the rule maxDuration',
    { durationSec: 31 * minute },
    context(),
    needsPeople(),
    [
      'autoApprove[0] does not apply: 31m is longer than its maxDuration of 30m',
      'autoApprove[1] does not apply: the requester (UALICE01) is in none of its users or groups (users USRE0001)',
    ],
  ],
  [
    'an on-call engineer on a Saturday, where the rule is businessHoursOnly',
    {},
    context({ at: saturdayNoon }),
    needsPeople(),
    ['it is outside business hours (Mon–Fri 08:00–19:00 Europe/Berlin) and the rule is businessHoursOnly'],
  ],
  [
    'every missed condition of a rule at once',
    { durationSec: hour },
    context({ at: saturdayNoon }),
    needsPeople(),
    ['1h is longer than its maxDuration of 30m and it is outside business hours'],
  ],
  [
    'a user listed by id, 2h on a Saturday (that rule has no hours)',
    { durationSec: 2 * hour },
    context({ userId: sre, groups: new Set(), at: saturdayNoon }),
    autoApproved('autoApprove[1]'),
    ['the requester (USRE0001) is listed in its users', '2h is within its maxDuration of 2h'],
  ],
  [
    'the first matching rule, in order, when two match',
    {},
    context({ userId: sre }),
    autoApproved('autoApprove[0]'),
    [],
  ],
  [
    'the listed user, one second over their rule maxDuration',
    { durationSec: 2 * hour + 1 },
    context({ userId: sre, groups: new Set() }),
    needsPeople(),
    ['2h1s is longer than its maxDuration of 2h'],
  ],
  [
    'someone in no rule',
    {},
    context({ userId: eve, groups: new Set() }),
    needsPeople(),
    [
      'autoApprove[0] does not apply: the requester (UEVE0001) is in none of its users or groups (groups S0ONCALL)',
    ],
  ],
  [
    'someone in a group no rule names',
    {},
    context({ userId: eve, groups: new Set(['S0OTHER']) }),
    needsPeople(),
    ['none of its users or groups'],
  ],
  [
    'a rule without maxDuration or hours: anything up to the resource maximum',
    { durationSec: 4 * hour, resource: { autoApprove: [{ requesterIn: { users: [eve], groups: [] } }] } },
    context({ userId: eve, groups: new Set(), at: saturdayNoon }),
    autoApproved('autoApprove[0]'),
    ['autoApprove[0] approves it: the requester (UEVE0001) is listed in its users.'],
  ],
  [
    'a resource without autoApprove rules',
    { resource: { autoApprove: [] } },
    context(),
    needsPeople(),
    ['The resource has no autoApprove rules.'],
  ],
  [
    'a resource that leaves autoApprove out',
    { resource: { autoApprove: undefined } },
    context(),
    needsPeople(),
    ['The resource has no autoApprove rules.'],
  ],
  [
    'the levels still needed, named with their approvers',
    { resource: { autoApprove: [] } },
    context(),
    needsPeople(),
    [
      'It needs human approval, level by level (level 1: 1 of users UBOB0001 and groups S0DBA; level 2: 1 of users UCTO0001).',
    ],
  ],
  // review beats auto-approve
  [
    'a guest on call, where guests: review',
    {},
    context({ isGuest: true }),
    needsPeople(['optOut.guests']),
    [
      'Human review is required by optOut.guests (guest account).',
      'autoApprove[0] would approve it (the requester is in user group S0ONCALL',
      'but human review comes first',
    ],
  ],
  [
    'outside business hours, where outsideBusinessHours: review, for a rule without hours',
    { resource: { optOut: { outsideBusinessHours: 'review' } } },
    context({ userId: sre, groups: new Set(), at: saturdayNoon }),
    needsPeople(['optOut.outsideBusinessHours']),
    ['optOut.outsideBusinessHours (outside business hours)', 'autoApprove[1] would approve it'],
  ],
  [
    'two review rules, both named',
    { resource: { optOut: { guests: 'review', outsideBusinessHours: 'review' } } },
    context({ userId: sre, groups: new Set(), isGuest: true, at: saturdayNoon }),
    needsPeople(['optOut.guests', 'optOut.outsideBusinessHours']),
    [
      'Human review is required by optOut.guests (guest account) and optOut.outsideBusinessHours (outside business hours).',
    ],
  ],
  [
    'review with no autoApprove rules at all',
    { resource: { autoApprove: [] } },
    context({ isGuest: true }),
    needsPeople(['optOut.guests']),
    ['optOut.guests', 'no autoApprove rules'],
  ],
  // deny rules beat auto-approve
  [
    'a blocked account on call',
    {},
    context({ userId: blocked }),
    denied('optOut.blockedUsers'),
    ['may not request this resource'],
  ],
  [
    'a guest, where guests: deny',
    { resource: { optOut: { guests: 'deny' } } },
    context({ isGuest: true }),
    denied('optOut.guests'),
    ['Guest accounts'],
  ],
  [
    'outside business hours, where outsideBusinessHours: deny',
    { resource: { optOut: { outsideBusinessHours: 'deny' } } },
    context({ userId: sre, groups: new Set(), at: saturdayNoon }),
    denied('optOut.outsideBusinessHours'),
    ['only be requested during business hours'],
  ],
  [
    'the request over maxRequestsPerHour',
    {},
    context({ recentRequests: 3 }),
    denied('optOut.maxRequestsPerHour'),
    ['3 requests for this resource in the last hour; the limit is 3'],
  ],
  [
    'the last request under maxRequestsPerHour',
    {},
    context({ recentRequests: 2 }),
    autoApproved('autoApprove[0]'),
    [],
  ],
  // freeze beats everything
  [
    'an on-call request under a freeze',
    {},
    context({ freezes: [{ scope: 'resource', target: 'prod-db-write', reason: 'migration in progress' }] }),
    denied('freeze'),
    ['Frozen (prod-db-write) by the security team: migration in progress.'],
  ],
  [
    'a blocked guest over the rate limit under a freeze',
    { resource: { optOut: { blockedUsers: [blocked], guests: 'deny', maxRequestsPerHour: 1 } } },
    context({
      userId: blocked,
      isGuest: true,
      recentRequests: 5,
      freezes: [{ scope: 'all', target: '', reason: 'incident INC-9.' }],
    }),
    denied('freeze'),
    ['Frozen (all access) by the security team: incident INC-9.'],
  ],
  [
    'several freezes, each named',
    {},
    context({
      freezes: [
        { scope: 'user', target: alice, reason: 'laptop lost' },
        { scope: 'all', target: '', reason: 'incident' },
      ],
    }),
    denied('freeze'),
    [
      'Frozen (user UALICE01) by the security team: laptop lost.',
      'Frozen (all access) by the security team: incident.',
    ],
  ],
  // the resource's duration limits
  [
    'more than the resource maximum',
    { durationSec: 4 * hour + 1 },
    context({ userId: sre }),
    denied('duration.max'),
    ["4h1s is longer than the resource's maximum of 4h."],
  ],
  [
    'less than the resource minimum',
    { durationSec: 4 * minute },
    context(),
    denied('duration.min'),
    ["4m is shorter than the resource's minimum of 5m."],
  ],
];

describe('decideRequest', () => {
  it.each(cases)('%s', (_name, overrides, ctx, expected, mentions) => {
    const decision = decideRequest(
      { ...resource, ...overrides.resource },
      overrides.settings ?? berlin,
      { durationSec: overrides.durationSec ?? 30 * minute },
      ctx,
    );
    expect(decision).toMatchObject(expected);
    const reasons = decision.reasons.join('\n');
    for (const fragment of mentions) expect(reasons).toContain(fragment);
    // Sentences a person reads: each one starts with a capital or a rule id, and ends.
    for (const reason of decision.reasons) expect(reason).toMatch(/^([A-Z0-9]|autoApprove\[)[\s\S]*[.]$/);
  });

  it('tells the requester what to do instead of a denied request', () => {
    const instead = (ctx: RequesterContext, durationSec = 30 * minute) => {
      const decision = decideRequest(resource, berlin, { durationSec }, ctx);
      return decision.outcome === 'deny' ? decision.instead : null;
    };
    expect(instead(context({ freezes: [{ scope: 'all', target: '', reason: 'x' }] }))).toBe(
      'Ask again once the freeze is lifted.',
    );
    expect(instead(context({ userId: blocked }))).toBe('Talk to the security team.');
    expect(instead(context(), 5 * hour)).toBe('Ask for 4h or less.');
    expect(instead(context(), minute)).toBe('Ask for at least 5m.');
  });
});

/** businessHoursOnly at the edges of the window, across daylight-saving changes. */
const hoursCases: ReadonlyArray<[string, PolicySettings, string, boolean]> = [
  ['Fri 07:59 CET, a minute early', berlin, '2026-03-27T06:59Z', false],
  ['Fri 08:00 CET, the first minute', berlin, '2026-03-27T07:00Z', true],
  ['Fri 18:59 CET, the last minute', berlin, '2026-03-27T17:59Z', true],
  ['Fri 19:00 CET, the end is exclusive', berlin, '2026-03-27T18:00Z', false],
  // The Monday after the spring change is UTC+2: 06:00Z is already 08:00.
  ['Mon 07:59 CEST after the spring change', berlin, '2026-03-30T05:59Z', false],
  ['Mon 08:00 CEST after the spring change', berlin, '2026-03-30T06:00Z', true],
  ['Mon 19:00 CEST after the spring change', berlin, '2026-03-30T17:00Z', false],
  // The Monday after the autumn change is UTC+1 again.
  ['Mon 07:00 CET after the autumn change', berlin, '2026-10-26T06:00Z', false],
  ['Mon 08:00 CET after the autumn change', berlin, '2026-10-26T07:00Z', true],
  ['Fri 18:59 CEST before the autumn change', berlin, '2026-10-23T16:59Z', true],
  ['Fri 19:00 CEST before the autumn change', berlin, '2026-10-23T17:00Z', false],
  // New York changes three weeks before Europe: on Mon 2026-03-09 it is UTC-4.
  ['Mon 07:59 EDT in New York', newYork, '2026-03-09T11:59Z', false],
  ['Mon 08:00 EDT in New York', newYork, '2026-03-09T12:00Z', true],
  ['Mon 18:59 EST in New York after its autumn change', newYork, '2026-11-02T23:59Z', true],
  ['Mon 19:00 EST in New York after its autumn change', newYork, '2026-11-03T00:00Z', false],
  ['Sun 12:00 in New York is a Sunday, whatever UTC says', newYork, '2026-03-08T16:00Z', false],
  // A window past midnight, across the night Berlin skips 02:00–03:00.
  ['Sat 22:00 CET, a night shift starting', nightShift, '2026-03-28T21:00Z', true],
  ['Sun 01:59 CET, before the skipped hour', nightShift, '2026-03-29T00:59Z', true],
  ['Sun 03:00 CEST, right after the skipped hour', nightShift, '2026-03-29T01:00Z', true],
  ['Sun 05:59 CEST, the last minute of the night', nightShift, '2026-03-29T03:59Z', true],
  ['Sun 06:00 CEST, the night is over', nightShift, '2026-03-29T04:00Z', false],
  ['Sun 22:00 CEST, Sunday is not a night-shift day', nightShift, '2026-03-29T20:00Z', false],
  // And the night the hour 02:00–03:00 happens twice.
  ['Sun 02:30 CEST, the first time', nightShift, '2026-10-25T00:30Z', true],
  ['Sun 02:30 CET, the second time', nightShift, '2026-10-25T01:30Z', true],
  ['Sun 06:00 CET after the autumn change', nightShift, '2026-10-25T05:00Z', false],
];

describe('decideRequest with businessHoursOnly', () => {
  it.each(hoursCases)('%s', (_name, settings, at, inHours) => {
    const decision = decideRequest(resource, settings, { durationSec: 30 * minute }, context({ at }));
    expect(decision.outcome).toBe(inHours ? 'auto-approve' : 'approval');
    expect(decision.reasons.join(' ')).toContain(
      inHours ? 'it is within business hours' : 'it is outside business hours',
    );
  });

  it('judges the time in the policy time zone, not in UTC', () => {
    // 2026-03-31T06:30Z: 06:30 in UTC (outside 08:00–19:00), 08:30 in Berlin (inside).
    const at = '2026-03-31T06:30Z';
    const utc = { ...berlin, timezone: 'UTC' };
    const ask = { durationSec: 30 * minute };
    expect(decideRequest(resource, berlin, ask, context({ at })).outcome).toBe('auto-approve');
    expect(decideRequest(resource, utc, ask, context({ at })).outcome).toBe('approval');
  });
});

describe('decideExtension', () => {
  const extension: ReadonlyArray<
    [string, { grantedSec: number; extraSec: number }, RequesterContext, Partial<PolicyDecision>, string[]]
  > = [
    [
      'within the rule maxDuration counted on the total',
      { grantedSec: 15 * minute, extraSec: 15 * minute },
      context(),
      autoApproved('autoApprove[0]'),
      ["the grant's total of 30m (15m so far and 15m more) is within its maxDuration of 30m"],
    ],
    [
      'a small extension whose total passes the rule maxDuration',
      { grantedSec: 20 * minute, extraSec: 15 * minute },
      context(),
      needsPeople(),
      ["the grant's total of 35m (20m so far and 15m more) is longer than its maxDuration of 30m"],
    ],
    [
      'exactly up to the resource maximum, by a rule without maxDuration',
      { grantedSec: 3 * hour, extraSec: hour },
      context({ userId: eve, groups: new Set() }),
      autoApproved('autoApprove[2]'),
      [],
    ],
    [
      'beyond the resource maximum, even for a rule without maxDuration',
      { grantedSec: 3 * hour, extraSec: hour + 1 },
      context({ userId: eve, groups: new Set() }),
      needsPeople(),
      [
        "The grant's total of 4h1s (3h so far and 1h1s more) is longer than the resource's maximum of 4h",
        'only human approval at every level can allow it',
        'level 1: 1 of users UBOB0001 and groups S0DBA',
      ],
    ],
    [
      'beyond the maximum by a guest: review is still named',
      { grantedSec: 4 * hour, extraSec: hour },
      context({ userId: eve, groups: new Set(), isGuest: true }),
      needsPeople(['optOut.guests']),
      ['Human review is required by optOut.guests', "resource's maximum of 4h"],
    ],
    [
      'outside business hours for a businessHoursOnly rule',
      { grantedSec: 10 * minute, extraSec: 10 * minute },
      context({ at: saturdayNoon }),
      needsPeople(),
      ['outside business hours'],
    ],
    [
      'by a guest, where guests: review',
      { grantedSec: 10 * minute, extraSec: 10 * minute },
      context({ isGuest: true }),
      needsPeople(['optOut.guests']),
      ['would approve it'],
    ],
    [
      'under a freeze',
      { grantedSec: 10 * minute, extraSec: 10 * minute },
      context({ freezes: [{ scope: 'user', target: alice, reason: 'offboarding' }] }),
      denied('freeze'),
      ['Frozen (user UALICE01)'],
    ],
    [
      'by a blocked account',
      { grantedSec: 10 * minute, extraSec: 10 * minute },
      context({ userId: blocked }),
      denied('optOut.blockedUsers'),
      [],
    ],
  ];
  const withOpenRule: EngineResource = {
    ...resource,
    autoApprove: [...(resource.autoApprove ?? []), { requesterIn: { users: [eve], groups: [] } }],
  };

  it.each(extension)('%s', (_name, ask, ctx, expected, mentions) => {
    const decision = decideExtension(withOpenRule, berlin, ask, ctx);
    expect(decision).toMatchObject(expected);
    for (const fragment of mentions) expect(decision.reasons.join('\n')).toContain(fragment);
  });
});
