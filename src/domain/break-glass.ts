import { formatDuration } from './duration.js';
import { durationRefusal, freezeRefusal, type PolicyDecision, type RequesterContext } from './policy.js';

/**
 * Break-glass: a resource's `breakGlass:` lets the requester grant themself at once, without
 * approvers, for an emergency. What still refuses it: a duration over `breakGlass.maxDuration`
 * (or under the resource's `duration.min`), a standing freeze, a guest or blocked account, and
 * using it more often than `breakGlass.limit` allows. Business hours and the hourly request
 * rate do not apply: emergencies keep no office hours. Pure, like the rest of the engine.
 */

export interface BreakGlassRules {
  maxDuration: number;
  reviewWithin: number;
  limit: { count: number; per: number };
}

export interface BreakGlassContext extends Pick<RequesterContext, 'userId' | 'isGuest' | 'freezes'> {
  /** Break-glass grants this person used within `limit.per`, over all resources. */
  recentBreakGlass: number;
  blockedUsers: readonly string[];
}

export const breakGlassRule = 'breakGlass';

export function decideBreakGlass(
  rules: BreakGlassRules,
  duration: { min?: number | undefined },
  ask: { durationSec: number },
  context: BreakGlassContext,
): Exclude<PolicyDecision, { outcome: 'approval' }> {
  const limits = { default: rules.maxDuration, max: rules.maxDuration, min: duration.min };
  const tooLong = durationRefusal(limits, ask.durationSec);
  if (tooLong)
    return { ...tooLong, rule: `breakGlass.${tooLong.rule === 'duration.max' ? 'maxDuration' : 'min'}` };
  const frozen = freezeRefusal(context.freezes);
  if (frozen) return frozen;
  if (context.isGuest) {
    return {
      outcome: 'deny',
      rule: 'breakGlass.guests',
      reasons: ['Guest accounts cannot break glass.'],
      instead: 'Ask a full member of your team, or the security team.',
    };
  }
  if (context.blockedUsers.includes(context.userId)) {
    return {
      outcome: 'deny',
      rule: 'optOut.blockedUsers',
      reasons: ['Your account may not request this resource.'],
      instead: 'Talk to the security team.',
    };
  }
  if (context.recentBreakGlass >= rules.limit.count) {
    const times = rules.limit.count === 1 ? 'once' : `${rules.limit.count} times`;
    return {
      outcome: 'deny',
      rule: 'breakGlass.limit',
      reasons: [
        `You have broken glass ${times} in the last ${formatDuration(rules.limit.per)}, the most allowed.`,
      ],
      instead: 'Use `/jit request` for approval, or ask the security team.',
    };
  }
  return {
    outcome: 'auto-approve',
    rule: breakGlassRule,
    reasons: [
      `Break-glass: granted by the requester without approval; reviewers check it within ${formatDuration(rules.reviewWithin)}.`,
    ],
  };
}
