import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/domain/duration.js';
import {
  type ApprovalRecord,
  type ApprovalRefusal,
  checkApprovable,
  checkDenier,
  checkDuration,
  checkReason,
  currentLevel,
  decideApproval,
  maxReasonLength,
  type ResolvedLevel,
} from '../../src/domain/policy.js';

const level = (approvers: string[], count = 1): ResolvedLevel => ({ approvers: new Set(approvers), count });
const approved = (approverId: string, atLevel: number): ApprovalRecord => ({ approverId, level: atLevel });

const requester = 'UREQ';

describe('decideApproval', () => {
  const oneLevel = [level(['UA', 'UB', requester])];
  const twoLevels = [level(['UA', 'UB']), level(['UC', 'UD'])];
  const sharedApprover = [level(['UA', 'UB']), level(['UA', 'UC'])];
  const twoOfThree = [level(['UA', 'UB', 'UC'], 2)];

  const refusals: ReadonlyArray<[string, ResolvedLevel[], ApprovalRecord[], string, ApprovalRefusal]> = [
    ['the requester, even when listed as an approver', oneLevel, [], requester, 'self'],
    [
      'the requester after others approved',
      twoOfThree.map((l) => ({ ...l, approvers: new Set([...l.approvers, requester]) })),
      [approved('UA', 0)],
      requester,
      'self',
    ],
    ['a second click by the same approver', twoOfThree, [approved('UA', 0)], 'UA', 'repeat'],
    ['someone outside every level', oneLevel, [], 'UX', 'not-approver'],
    ['a level-2 approver while level 1 is unsatisfied', twoLevels, [], 'UC', 'not-approver'],
    ['a level-1 approver once level 1 is done', twoLevels, [approved('UA', 0)], 'UB', 'not-approver'],
    ['a person who approved level 1, for level 2', sharedApprover, [approved('UA', 0)], 'UA', 'repeat'],
    [
      'anyone once every level is satisfied',
      twoLevels,
      [approved('UA', 0), approved('UC', 1)],
      'UD',
      'complete',
    ],
  ];

  it.each(refusals)('refuses %s', (_name, levels, approvals, actor, code) => {
    const result = decideApproval(levels, approvals, actor, requester);
    expect(result).toMatchObject({ ok: false, code });
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(10);
  });

  const accepted: ReadonlyArray<[string, ResolvedLevel[], ApprovalRecord[], string, number, boolean]> = [
    ['the only approval needed', oneLevel, [], 'UA', 0, true],
    ['the first of two levels', twoLevels, [], 'UB', 0, false],
    ['level 2 after level 1', twoLevels, [approved('UA', 0)], 'UD', 1, true],
    ['the first of two needed at one level', twoOfThree, [], 'UA', 0, false],
    ['a second, different person at that level', twoOfThree, [approved('UA', 0)], 'UC', 0, true],
    [
      'level 2 by its other approver when the shared one used level 1',
      sharedApprover,
      [approved('UA', 0)],
      'UC',
      1,
      true,
    ],
    [
      'level 2 by the shared approver when someone else did level 1',
      sharedApprover,
      [approved('UB', 0)],
      'UA',
      1,
      true,
    ],
  ];

  it.each(accepted)('accepts %s', (_name, levels, approvals, actor, atLevel, complete) => {
    expect(decideApproval(levels, approvals, actor, requester)).toEqual({
      ok: true,
      value: { level: atLevel, complete },
    });
  });

  describe('an approver the later levels cannot do without', () => {
    // UB is the only level-2 approver besides UA's level-1 colleague: if UB took level 1, level 2
    // could never be completed, since a person counts once.
    const onlyLater = [level(['UA', 'UB']), level(['UB'])];
    const stranding: ReadonlyArray<[string, ResolvedLevel[], ApprovalRecord[], string, string]> = [
      ['the only level-2 approver, at level 1', onlyLater, [], 'UB', 'level 2'],
      [
        'the only level-2 approver besides the requester',
        [level(['UA', 'UB']), level(['UB', requester])],
        [],
        'UB',
        'level 2',
      ],
      [
        'the last level-1 seat, when level 2 needs them',
        [level(['UA', 'UB', 'UC'], 2), level(['UC'])],
        [approved('UA', 0)],
        'UC',
        'level 2',
      ],
      [
        'level 1, when levels 2 and 3 need two people and only they and one other remain',
        [level(['UA', 'UB']), level(['UB', 'UC']), level(['UC'])],
        [],
        'UB',
        'level 2',
      ],
      [
        'level 1, when they are needed for either level 2 or 3',
        [level(['UA', 'UB']), level(['UB', 'UC']), level(['UB', 'UC'])],
        [],
        'UB',
        'level 2 or 3',
      ],
    ];

    it.each(stranding)(
      'refuses %s, and says which level needs them',
      (_name, levels, approvals, actor, needed) => {
        const result = decideApproval(levels, approvals, actor, requester);
        expect(result).toMatchObject({ ok: false, code: 'needed-later' });
        if (!result.ok) expect(result.reason).toContain(`you are needed for ${needed}`);
      },
    );

    it('says to wait for someone else at the current level', () => {
      expect(decideApproval(onlyLater, [], 'UB', requester)).toEqual({
        ok: false,
        code: 'needed-later',
        reason:
          'you are needed for level 2, which cannot be completed without you (each person counts once); ' +
          'wait until level 1 is approved by someone else',
      });
    });

    it('lets the request complete in the right order', () => {
      expect(decideApproval(onlyLater, [], 'UA', requester)).toEqual({
        ok: true,
        value: { level: 0, complete: false },
      });
      expect(decideApproval(onlyLater, [approved('UA', 0)], 'UB', requester)).toEqual({
        ok: true,
        value: { level: 1, complete: true },
      });
    });

    it.each([
      [
        'a shared approver while the later level has someone else',
        [level(['UA', 'UB']), level(['UB', 'UC'])],
      ],
      ['a shared approver of a level with spare people', [level(['UA', 'UB']), level(['UB', 'UC', 'UD'], 2)]],
      // Nothing this approval does makes it worse: the group behind level 2 has shrunk since the
      // request was made, and blaming the approver would only block level 1 as well.
      ['anyone, when a later level was already impossible', [level(['UA', 'UB']), level([requester])]],
    ])('accepts %s', (_name, levels) => {
      expect(decideApproval(levels, [], 'UB', requester)).toMatchObject({ ok: true });
    });
  });

  it('names the level in the refusal', () => {
    const result = decideApproval(twoLevels, [approved('UA', 0)], 'UX', requester);
    expect(result).toMatchObject({ ok: false, code: 'not-approver' });
    if (!result.ok) expect(result.reason).toContain('level 2');
  });

  it('walks a three-level, count-2 chain to completion exactly once', () => {
    const levels = [level(['UA', 'UB', 'UC'], 2), level(['UC', 'UD']), level(['UE', 'UF'], 2)];
    const approvals: ApprovalRecord[] = [];
    const steps: Array<[string, number, boolean]> = [
      ['UA', 0, false],
      ['UC', 0, false],
      ['UD', 1, false],
      ['UE', 2, false],
      ['UF', 2, true],
    ];
    for (const [actor, atLevel, complete] of steps) {
      const result = decideApproval(levels, approvals, actor, requester);
      expect(result).toEqual({ ok: true, value: { level: atLevel, complete } });
      approvals.push(approved(actor, atLevel));
    }
    expect(currentLevel(levels, approvals)).toBeNull();
  });
});

describe('currentLevel', () => {
  const levels = [level(['UA', 'UB'], 2), level(['UC'])];
  it.each([
    [[], 0],
    [[approved('UA', 0)], 0],
    [[approved('UA', 0), approved('UB', 0)], 1],
    [[approved('UA', 0), approved('UB', 0), approved('UC', 1)], null],
  ] as Array<[ApprovalRecord[], number | null]>)('%j → %s', (approvals, expected) => {
    expect(currentLevel(levels, approvals)).toBe(expected);
  });

  it('is null for no levels at all', () => {
    expect(currentLevel([], [])).toBeNull();
  });
});

describe('checkApprovable', () => {
  it.each([
    ['one level with another approver', [level(['UA'])]],
    ['the requester among enough others', [level([requester, 'UA', 'UB'], 2)]],
    ['two levels with different people', [level(['UA']), level(['UB'])]],
    ['a shared approver when each level still has someone else', [level(['UA', 'UB']), level(['UA', 'UC'])]],
    ['a shared approver who can serve either level', [level(['UA']), level(['UA', 'UB'])]],
  ])('accepts %s', (_name, levels) => {
    expect(checkApprovable(levels, requester)).toEqual({ ok: true, value: true });
  });

  it.each([
    ['a level whose only approver is the requester', [level([requester])], 'level 1'],
    ['a later level whose only approver is the requester', [level(['UA']), level([requester])], 'level 2'],
    ['a count larger than the approvers other than the requester', [level([requester, 'UA'], 2)], 'level 1'],
    ['a level with nobody in it', [level([])], 'level 1'],
    // An approval counts once per person, so one person cannot satisfy two levels.
    ['two levels whose only approver is the same person', [level(['UA']), level(['UA'])], 'distinct'],
    [
      'three levels sharing two people',
      [level(['UA', 'UB']), level(['UA', 'UB']), level(['UA', 'UB'])],
      'distinct',
    ],
  ])('refuses %s', (_name, levels, mentions) => {
    const result = checkApprovable(levels, requester);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(mentions);
  });
  it('says which levels cannot be filled together', () => {
    expect(checkApprovable([level(['UA']), level(['UA'])], requester)).toEqual({
      ok: false,
      reason:
        'approval levels 1 and 2 together need 2 distinct approvers other than you (each person counts once), ' +
        'and only 1 exist',
    });
    const three = checkApprovable(
      [level(['UA', 'UB']), level(['UC']), level(['UA', 'UB', requester])],
      requester,
    );
    expect(three.ok).toBe(true);
    const tight = checkApprovable(
      [level(['UA', 'UB'], 2), level(['UC']), level(['UA', 'UC', requester])],
      requester,
    );
    expect(tight).toMatchObject({
      ok: false,
      reason: expect.stringContaining('approval levels 1, 2 and 3 together need 4'),
    });
  });

  it('handles levels drawn from one large group', () => {
    const group = Array.from({ length: 1_000 }, (_, i) => `U${i}`);
    const levels = Array.from({ length: 5 }, () => level(group, 150));
    expect(checkApprovable(levels, 'U0')).toEqual({ ok: true, value: true });
    expect(checkApprovable([...levels, level(group.slice(0, 300), 250)], 'U0')).toMatchObject({ ok: false });
  });
});

describe('checkDuration', () => {
  const limits = { default: 3_600, max: 4 * 3_600 };
  const withMin = { ...limits, min: 15 * 60 };

  it.each([
    ['the default when none is asked for', null, limits, 3_600],
    ['the requested duration', 1_800, limits, 1_800],
    ['exactly the maximum', 4 * 3_600, limits, 4 * 3_600],
    ['one second, when there is no minimum', 1, limits, 1],
    ['exactly the minimum', 15 * 60, withMin, 15 * 60],
  ] as const)('accepts %s', (_name, requested, l, expected) => {
    expect(checkDuration(requested, l, formatDuration)).toEqual({ ok: true, value: expected });
  });

  it('refuses more than the maximum and names both', () => {
    const result = checkDuration(4 * 3_600 + 1, limits, formatDuration);
    expect(result).toEqual({ ok: false, reason: '4h1s is longer than the maximum of 4h' });
  });

  it('refuses less than the minimum and names it', () => {
    const result = checkDuration(60, withMin, formatDuration);
    expect(result).toEqual({ ok: false, reason: '1m is shorter than the minimum of 15m' });
  });

  it('checks the default against the limits too', () => {
    expect(checkDuration(null, { default: 5 * 3_600, max: 4 * 3_600 }, formatDuration).ok).toBe(false);
  });
});

describe('checkReason', () => {
  it.each([
    ['three characters', 'abc', 'abc'],
    [
      'runs of whitespace collapsed and the ends trimmed',
      '  INC-42   failing\n\tmigration  ',
      'INC-42 failing migration',
    ],
    ['exactly the maximum length', 'x'.repeat(maxReasonLength), 'x'.repeat(maxReasonLength)],
    [
      'the maximum length plus trailing spaces',
      `${'y'.repeat(maxReasonLength)}     `,
      'y'.repeat(maxReasonLength),
    ],
    ['a long run of spaces that collapses under the limit', `a${' '.repeat(600)}b`, 'a b'],
  ])('accepts %s', (_name, text, expected) => {
    expect(checkReason(text)).toEqual({ ok: true, value: expected });
  });

  it.each(['', '  ', 'ab', '  x  ', ' a  ', '\n\n\n'])('refuses %j as too short', (text) => {
    const result = checkReason(text);
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.reason).toContain('reason is required');
  });

  it('refuses more than the maximum length and says the limit', () => {
    const result = checkReason('z'.repeat(maxReasonLength + 1));
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.reason).toContain(String(maxReasonLength));
  });
});

describe('checkDenier', () => {
  const levels = [level(['UA', requester]), level(['UC'])];

  it.each([
    ['a level-1 approver', 'UA'],
    ['a later-level approver, before their level is reached', 'UC'],
  ])('lets %s deny', (_name, actor) => {
    expect(checkDenier(levels, actor, requester)).toEqual({ ok: true, value: true });
  });

  it('refuses the requester, even when listed as an approver', () => {
    const result = checkDenier(levels, requester, requester);
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.reason).toContain('your own request');
  });

  it('refuses someone who approves no level', () => {
    expect(checkDenier(levels, 'UX', requester)).toMatchObject({
      ok: false,
      reason: 'you are not an approver for this request',
    });
  });
});
