import { describe, expect, it } from 'vitest';
import { type BreakGlassContext, decideBreakGlass } from '../../src/domain/break-glass.js';

const rules = { maxDuration: 1800, reviewWithin: 3600, limit: { count: 2, per: 86_400 } };
const context: BreakGlassContext = {
  userId: 'UALICE',
  isGuest: false,
  freezes: [],
  recentBreakGlass: 0,
  blockedUsers: [],
};

describe('decideBreakGlass', () => {
  it('approves within maxDuration, saying reviewers check it', () => {
    const decision = decideBreakGlass(rules, {}, { durationSec: 1800 }, context);
    expect(decision).toMatchObject({ outcome: 'auto-approve', rule: 'breakGlass' });
    expect(decision.reasons.join(' ')).toContain('within 1h');
  });

  it('refuses, in this order: duration, freeze, guest, blocked account, the limit', () => {
    const cases: Array<[Partial<BreakGlassContext>, number, string]> = [
      [{}, 1801, 'breakGlass.maxDuration'],
      [{ freezes: [{ scope: 'all', target: '*', reason: 'incident' }], isGuest: true }, 60, 'freeze'],
      [{ isGuest: true, recentBreakGlass: 5 }, 60, 'breakGlass.guests'],
      [{ blockedUsers: ['UALICE'], recentBreakGlass: 5 }, 60, 'optOut.blockedUsers'],
      [{ recentBreakGlass: 2 }, 60, 'breakGlass.limit'],
    ];
    for (const [changes, durationSec, rule] of cases) {
      const decision = decideBreakGlass(rules, {}, { durationSec }, { ...context, ...changes });
      expect(decision, rule).toMatchObject({ outcome: 'deny', rule });
    }
  });

  it('holds the resource duration.min, and counts uses up to the limit', () => {
    expect(decideBreakGlass(rules, { min: 300 }, { durationSec: 60 }, context)).toMatchObject({
      outcome: 'deny',
      rule: 'breakGlass.min',
    });
    const once = decideBreakGlass(rules, {}, { durationSec: 60 }, { ...context, recentBreakGlass: 1 });
    expect(once.outcome).toBe('auto-approve');
    const limited = decideBreakGlass(rules, {}, { durationSec: 60 }, { ...context, recentBreakGlass: 2 });
    expect(limited.reasons[0]).toContain('2 times in the last 1d');
  });
});
