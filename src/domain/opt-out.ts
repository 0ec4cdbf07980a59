/**
 * A resource's automatic opt-out rules (`optOut` in the policy file): requests refused, or sent
 * to a person, without anyone having to look. Pure: the app gathers the facts (guest flag, clock,
 * how many recent requests) and records the decision.
 */

import { type BusinessHours, describeBusinessHours, isWithinBusinessHours } from './business-hours.js';

export type OptOutAction = 'deny' | 'review';

export interface OptOutRules {
  blockedUsers?: readonly string[] | undefined;
  guests?: OptOutAction | undefined;
  outsideBusinessHours?: OptOutAction | undefined;
  maxRequestsPerHour?: number | undefined;
}

/** In the order they are evaluated; the first `deny` is the one reported. */
export const optOutRuleIds = [
  'optOut.blockedUsers',
  'optOut.guests',
  'optOut.outsideBusinessHours',
  'optOut.maxRequestsPerHour',
] as const;
export type OptOutRuleId = (typeof optOutRuleIds)[number];

/** What each rule is about, in a few words, for messages that name a rule. */
export const optOutRuleLabels: Record<OptOutRuleId, string> = {
  'optOut.blockedUsers': 'blocked account',
  'optOut.guests': 'guest account',
  'optOut.outsideBusinessHours': 'outside business hours',
  'optOut.maxRequestsPerHour': 'too many requests',
};

export interface OptOutContext {
  requesterId: string;
  /** Slack restricted or ultra-restricted account. */
  isGuest: boolean;
  at: Date;
  timezone: string;
  businessHours: BusinessHours;
  /** The requester's earlier requests for this resource in the hour before `at`. */
  recentRequests: number;
}

export type OptOutDecision =
  | { decision: 'allow' }
  /** `reason` and `instead` are sentences for the requester: what stopped it, what to do now. */
  | { decision: 'deny'; rule: OptOutRuleId; reason: string; instead: string }
  | { decision: 'review'; rules: OptOutRuleId[] };

type Finding = { rule: OptOutRuleId; action: OptOutAction; reason: string; instead: string };

export function evaluateOptOut(rules: OptOutRules | undefined, context: OptOutContext): OptOutDecision {
  const findings = rules ? findingsFor(rules, context) : [];
  const deny = findings.find((f) => f.action === 'deny');
  if (deny) return { decision: 'deny', rule: deny.rule, reason: deny.reason, instead: deny.instead };
  if (findings.length > 0) return { decision: 'review', rules: findings.map((f) => f.rule) };
  return { decision: 'allow' };
}

function findingsFor(rules: OptOutRules, context: OptOutContext): Finding[] {
  const findings: Finding[] = [];
  if (rules.blockedUsers?.includes(context.requesterId)) {
    findings.push({
      rule: 'optOut.blockedUsers',
      action: 'deny',
      reason: 'Your account may not request this resource.',
      instead: 'Talk to the security team.',
    });
  }
  if (rules.guests && context.isGuest) {
    findings.push({
      rule: 'optOut.guests',
      action: rules.guests,
      reason: 'Guest accounts may not request this resource.',
      instead: 'Ask a full member of your team to request it, or ask the security team.',
    });
  }
  if (
    rules.outsideBusinessHours &&
    !isWithinBusinessHours(context.at, context.timezone, context.businessHours)
  ) {
    const hours = describeBusinessHours(context.timezone, context.businessHours);
    findings.push({
      rule: 'optOut.outsideBusinessHours',
      action: rules.outsideBusinessHours,
      reason: `This resource can only be requested during business hours (${hours}).`,
      instead: 'Ask again during business hours, or ask the security team if it cannot wait.',
    });
  }
  const limit = rules.maxRequestsPerHour;
  if (limit !== undefined && context.recentRequests >= limit) {
    findings.push({
      rule: 'optOut.maxRequestsPerHour',
      action: 'deny',
      reason: `You already made ${context.recentRequests} requests for this resource in the last hour; the limit is ${limit}.`,
      instead: 'Wait before asking again, or ask the security team.',
    });
  }
  return findings;
}

/** A stored rule list (`optOut.guests,optOut.outsideBusinessHours`) in words, for messages. */
export function describeOptOutRules(joined: string): string {
  return joined
    .split(',')
    .filter((id) => id !== '')
    .map((id) => optOutRuleLabels[id as OptOutRuleId] ?? id)
    .join(', ');
}
