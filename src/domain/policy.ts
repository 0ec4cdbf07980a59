/**
 * Policy decisions that need no I/O: what happens to a request (denied, approved automatically,
 * or which approval levels it needs, with the reasons), who may approve it now, and is it
 * approved yet. The app gathers the facts (Slack user groups, the clock, recent requests,
 * freezes) before calling in here.
 */

import {
  type BusinessHours,
  describeBusinessHours,
  isWithinBusinessHours,
  type Weekday,
  weekdays,
} from './business-hours.js';
import { formatDuration } from './duration.js';
import { evaluateOptOut, type OptOutRuleId, type OptOutRules, optOutRuleLabels } from './opt-out.js';

export interface DurationLimits {
  default: number;
  max: number;
  min?: number | undefined;
}

/** One approval level with its groups already expanded into user ids. */
export interface ResolvedLevel {
  approvers: ReadonlySet<string>;
  count: number;
}

export interface ApprovalRecord {
  approverId: string;
  level: number;
}

export type Check<T, Code extends string = string> =
  | { ok: true; value: T }
  | { ok: false; reason: string; code?: Code };

/**
 * Why an approval is refused. `repeat` (a second click by the same approver) is harmless, and
 * `needed-later` (an approver the later levels cannot do without) is only a matter of order.
 */
export type ApprovalRefusal = 'self' | 'repeat' | 'not-approver' | 'complete' | 'needed-later';

export const maxReasonLength = 500;

/** The requested duration (default when none was given), or why it is not allowed. */
export function checkDuration(
  requested: number | null,
  limits: DurationLimits,
  fmt: (s: number) => string,
): Check<number> {
  const seconds = requested ?? limits.default;
  if (seconds > limits.max) {
    return { ok: false, reason: `${fmt(seconds)} is longer than the maximum of ${fmt(limits.max)}` };
  }
  if (limits.min !== undefined && seconds < limits.min) {
    return { ok: false, reason: `${fmt(seconds)} is shorter than the minimum of ${fmt(limits.min)}` };
  }
  return { ok: true, value: seconds };
}

/** Control characters (other than whitespace); PostgreSQL text cannot even hold NUL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
export const controlCharacters = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export function checkReason(reason: string): Check<string> {
  if (controlCharacters.test(reason)) return { ok: false, reason: 'the reason contains control characters' };
  const trimmed = reason.trim().replace(/\s+/g, ' ');
  if (trimmed.length < 3) return { ok: false, reason: 'a reason is required (what you need the access for)' };
  if (trimmed.length > maxReasonLength) {
    return { ok: false, reason: `the reason is longer than ${maxReasonLength} characters` };
  }
  return { ok: true, value: trimmed };
}

/**
 * Each level needs `count` approvers other than the requester, all of them distinct people across
 * levels; a request that cannot be fully approved would only wait until it times out, so it is
 * refused up front.
 */
export function checkApprovable(levels: readonly ResolvedLevel[], requesterId: string): Check<true> {
  const seats = levels.map((level) => ({
    people: new Set([...level.approvers].filter((id) => id !== requesterId)),
    count: level.count,
  }));
  const short = firstUnfillable(seats);
  if (!short) return { ok: true, value: true };
  const names = short.levels.map((i) => String(i + 1));
  if (names.length === 1) {
    return {
      ok: false,
      reason: `approval level ${names[0]} needs ${short.seats} approver(s) other than you, and only ${short.people} exist`,
    };
  }
  return {
    ok: false,
    reason:
      `approval levels ${names.slice(0, -1).join(', ')} and ${names.at(-1)} together need ${short.seats} distinct ` +
      `approvers other than you (each person counts once), and only ${short.people} exist`,
  };
}

interface OpenSeats {
  people: ReadonlySet<string>;
  count: number;
}

/**
 * A set of levels that its people cannot fill, or null when every level can be filled at once.
 * An approval counts once per person, so levels that share approvers must be satisfiable
 * together: by Hall's theorem, every set of levels needs as many distinct people as its counts
 * add up to. Single levels come first so the simplest shortage is the one reported; the policy
 * allows at most 5 levels, so checking every set is cheap.
 */
function firstUnfillable(
  levels: readonly OpenSeats[],
): { levels: number[]; seats: number; people: number } | null {
  const sets = Array.from({ length: 2 ** levels.length - 1 }, (_, i) => i + 1);
  const bySize = [
    ...sets.filter((set) => (set & (set - 1)) === 0),
    ...sets.filter((set) => (set & (set - 1)) !== 0),
  ];
  for (const set of bySize) {
    const chosen = [...levels.keys()].filter((i) => (set >> i) & 1);
    const seats = chosen.reduce((sum, i) => sum + (levels[i] as OpenSeats).count, 0);
    if (seats === 0) continue;
    const people = new Set(chosen.flatMap((i) => [...(levels[i] as OpenSeats).people])).size;
    if (people < seats) return { levels: chosen, seats, people };
  }
  return null;
}

/** Index of the first level that still needs approvals, or null when every level is satisfied. */
export function currentLevel(
  levels: ReadonlyArray<Pick<ResolvedLevel, 'count'>>,
  approvals: ReadonlyArray<Pick<ApprovalRecord, 'level'>>,
): number | null {
  for (const [i, level] of levels.entries()) {
    if (approvals.filter((a) => a.level === i).length < level.count) return i;
  }
  return null;
}

export interface ApprovalOutcome {
  /** The level this approval counts for. */
  level: number;
  /** True when this approval satisfies the last level. */
  complete: boolean;
}

/**
 * Whether `actorId` may approve now, and what the approval does. No one approves their own
 * request, a person counts once per request (across all levels), and only the approvers of the
 * current level may approve.
 */
export function decideApproval(
  levels: readonly ResolvedLevel[],
  approvals: readonly ApprovalRecord[],
  actorId: string,
  requesterId: string,
): Check<ApprovalOutcome, ApprovalRefusal> {
  if (actorId === requesterId) {
    return { ok: false, code: 'self', reason: 'you cannot approve your own request' };
  }
  if (approvals.some((a) => a.approverId === actorId)) {
    return { ok: false, code: 'repeat', reason: 'you have already approved this request' };
  }
  const level = currentLevel(levels, approvals);
  if (level === null) {
    return { ok: false, code: 'complete', reason: 'the request is already fully approved' };
  }
  const spec = levels[level] as ResolvedLevel;
  if (!spec.approvers.has(actorId)) {
    return {
      ok: false,
      code: 'not-approver',
      reason: `you are not an approver for this request at level ${level + 1}`,
    };
  }
  const after = [...approvals, { approverId: actorId, level }];
  const stranded = strandedBy(levels, approvals, after, requesterId);
  if (stranded) {
    const later = stranded.filter((i) => levels[i]?.approvers.has(actorId)).map((i) => String(i + 1));
    const needed =
      later.length === 1 ? `level ${later[0]}` : `level ${later.slice(0, -1).join(', ')} or ${later.at(-1)}`;
    return {
      ok: false,
      code: 'needed-later',
      reason:
        `you are needed for ${needed}, which cannot be completed without you (each person counts once); ` +
        `wait until level ${level + 1} is approved by someone else`,
    };
  }
  return { ok: true, value: { level, complete: currentLevel(levels, after) === null } };
}

/**
 * The levels that `after` leaves impossible to complete with the people not yet used, when
 * `before` did not: approving then would strand the request. When the levels were already
 * impossible (a group shrank since the request was made) nothing is blamed on this approval.
 */
function strandedBy(
  levels: readonly ResolvedLevel[],
  before: readonly ApprovalRecord[],
  after: readonly ApprovalRecord[],
  requesterId: string,
): number[] | null {
  const open = (approvals: readonly ApprovalRecord[]): OpenSeats[] => {
    const used = new Set([requesterId, ...approvals.map((a) => a.approverId)]);
    return levels.map((level, i) => ({
      people: new Set([...level.approvers].filter((id) => !used.has(id))),
      count: Math.max(0, level.count - approvals.filter((a) => a.level === i).length),
    }));
  };
  if (firstUnfillable(open(before))) return null;
  return firstUnfillable(open(after))?.levels ?? null;
}

/** Whether `actorId` may deny: any approver of any level, never the requester. */
export function checkDenier(
  levels: readonly ResolvedLevel[],
  actorId: string,
  requesterId: string,
): Check<true> {
  if (actorId === requesterId)
    return { ok: false, reason: 'you cannot deny your own request; release or cancel it instead' };
  if (!levels.some((l) => l.approvers.has(actorId))) {
    return { ok: false, reason: 'you are not an approver for this request' };
  }
  return { ok: true, value: true };
}

// The request engine: the policy file's rules applied to one request or extension.

export interface PolicySettings {
  timezone: string;
  businessHours: { days: readonly string[]; from: string; to: string };
}

export interface PrincipalList {
  users: readonly string[];
  groups: readonly string[];
}

export interface AutoApproveRule {
  /** Absent: anyone (the rule's other conditions still apply). */
  requesterIn?: PrincipalList | undefined;
  /** Present: the requester must be on call there; `RequesterContext.onCall` has the answer. */
  requesterOnCall?: object | undefined;
  /** Seconds. For an extension it bounds the grant's total, not only what is added. */
  maxDuration?: number | undefined;
  businessHoursOnly?: boolean | undefined;
}

/** The parts of a resource's policy the engine reads; the parsed policy file fits it. */
export interface EngineResource {
  duration: DurationLimits;
  approvals: ReadonlyArray<{ from: PrincipalList; count: number }>;
  autoApprove?: readonly AutoApproveRule[] | undefined;
  optOut?: OptOutRules | undefined;
}

export interface RequesterContext {
  userId: string;
  /** Slack user groups (ids) the requester belongs to, among those the policy names. */
  groups: ReadonlySet<string>;
  isGuest: boolean;
  at: Date;
  /** This user's requests for this resource in the last hour, not counting ones the rate rule refused. */
  recentRequests: number;
  /** Standing freezes covering this user and resource. */
  freezes: ReadonlyArray<{ scope: string; target: string; reason: string }>;
  /**
   * For each autoApprove rule (by index) with `requesterOnCall`: what its schedule said when the
   * request was made. A rule without an answer does not apply.
   */
  onCall?: ReadonlyMap<number, OnCallAnswer>;
}

/** Whether the requester is on call in a rule's schedule (`where`: "PagerDuty schedule P123"). */
export type OnCallAnswer = { where: string; onCall: boolean } | { where: string; unknown: string };

export type PolicyDecision =
  | { outcome: 'deny'; rule: string; reasons: string[]; instead: string }
  | { outcome: 'auto-approve'; rule: string; reasons: string[] }
  | { outcome: 'approval'; levels: number[]; review: string[]; reasons: string[] };

/**
 * What happens to a new request, in this order: a duration outside the resource's limits is
 * denied (`duration.max`, `duration.min`; the bot refuses those as bad input before asking);
 * a standing freeze denies it (`freeze`); the opt-out rules deny it, or require human review;
 * the first `autoApprove` entry that matches approves it (`autoApprove[i]`), unless review is
 * required; otherwise every approval level is needed.
 */
export function decideRequest(
  resource: EngineResource,
  settings: PolicySettings,
  ask: { durationSec: number },
  context: RequesterContext,
): PolicyDecision {
  const limit = durationRefusal(resource.duration, ask.durationSec);
  if (limit) return limit;
  const screened = screen(resource, settings, context);
  if (screened.outcome === 'deny') return screened;
  return autoApproveOrLevels(resource, settings, context, screened.review, {
    seconds: ask.durationSec,
    words: formatDuration(ask.durationSec),
  });
}

/**
 * An extension of an active grant: `grantedSec` is the grant's total so far, `extraSec` what is
 * asked. Auto-approval applies only while grantedSec + extraSec stays within the resource's
 * duration.max (and the rule's maxDuration, which also bounds the total); beyond max only human
 * approval (all levels) can grant it, and the reasons say so. Freezes and opt-out rules apply
 * as to a new request.
 */
export function decideExtension(
  resource: EngineResource,
  settings: PolicySettings,
  ask: { grantedSec: number; extraSec: number },
  context: RequesterContext,
): PolicyDecision {
  const screened = screen(resource, settings, context);
  if (screened.outcome === 'deny') return screened;
  const total = ask.grantedSec + ask.extraSec;
  const words = `the grant's total of ${formatDuration(total)} (${formatDuration(ask.grantedSec)} so far and ${formatDuration(ask.extraSec)} more)`;
  if (total > resource.duration.max) {
    return {
      outcome: 'approval',
      levels: resource.approvals.map((_, i) => i),
      review: screened.review,
      reasons: [
        ...reviewReasons(screened.review),
        `${capitalise(words)} is longer than the resource's maximum of ${formatDuration(resource.duration.max)}, so no autoApprove rule applies; only human approval at every level can allow it.`,
        levelsReason(resource),
      ],
    };
  }
  return autoApproveOrLevels(resource, settings, context, screened.review, { seconds: total, words });
}

export function durationRefusal(
  limits: DurationLimits,
  seconds: number,
): Extract<PolicyDecision, { outcome: 'deny' }> | null {
  const asked = formatDuration(seconds);
  if (seconds > limits.max) {
    const max = formatDuration(limits.max);
    return {
      outcome: 'deny',
      rule: 'duration.max',
      reasons: [`${asked} is longer than the resource's maximum of ${max}.`],
      instead: `Ask for ${max} or less.`,
    };
  }
  if (limits.min !== undefined && seconds < limits.min) {
    const min = formatDuration(limits.min);
    return {
      outcome: 'deny',
      rule: 'duration.min',
      reasons: [`${asked} is shorter than the resource's minimum of ${min}.`],
      instead: `Ask for at least ${min}.`,
    };
  }
  return null;
}

/** The refusal a standing freeze makes (rule `freeze`), or null when none covers the request. */
export function freezeRefusal(
  freezes: RequesterContext['freezes'],
): Extract<PolicyDecision, { outcome: 'deny' }> | null {
  if (freezes.length === 0) return null;
  return {
    outcome: 'deny',
    rule: 'freeze',
    reasons: freezes.map(
      (f) => `Frozen (${describeFreezeScope(f)}) by the security team: ${asSentence(f.reason)}`,
    ),
    instead: 'Ask again once the freeze is lifted.',
  };
}

/** Freezes, then the opt-out rules: a refusal, or the rules that require human review. */
function screen(
  resource: EngineResource,
  settings: PolicySettings,
  context: RequesterContext,
): Extract<PolicyDecision, { outcome: 'deny' }> | { outcome: 'screened'; review: OptOutRuleId[] } {
  const frozen = freezeRefusal(context.freezes);
  if (frozen) return frozen;
  const optOut = evaluateOptOut(resource.optOut, {
    requesterId: context.userId,
    isGuest: context.isGuest,
    at: context.at,
    timezone: settings.timezone,
    businessHours: businessHoursOf(settings),
    recentRequests: context.recentRequests,
  });
  if (optOut.decision === 'deny') {
    return { outcome: 'deny', rule: optOut.rule, reasons: [optOut.reason], instead: optOut.instead };
  }
  return { outcome: 'screened', review: optOut.decision === 'review' ? optOut.rules : [] };
}

/** How much time an auto-approval rule's `maxDuration` is held against, and how to say it. */
interface Sizing {
  seconds: number;
  words: string;
}

function autoApproveOrLevels(
  resource: EngineResource,
  settings: PolicySettings,
  context: RequesterContext,
  review: OptOutRuleId[],
  sizing: Sizing,
): PolicyDecision {
  const rules = resource.autoApprove ?? [];
  const checks = rules.map((rule, i) => checkAutoApprove(rule, i, settings, context, sizing));
  const match = checks.find((c) => c.missed.length === 0);
  if (match && review.length === 0) {
    return {
      outcome: 'auto-approve',
      rule: match.rule,
      reasons: [`${match.rule} approves it: ${listed(match.met)}.`],
    };
  }
  const verdicts = checks.map((c) =>
    c.missed.length === 0
      ? `${c.rule} would approve it (${listed(c.met)}), but human review comes first.`
      : `${c.rule} does not apply: ${listed(c.missed)}.`,
  );
  return {
    outcome: 'approval',
    levels: resource.approvals.map((_, i) => i),
    review,
    reasons: [
      ...reviewReasons(review),
      ...(rules.length === 0 ? ['The resource has no autoApprove rules.'] : verdicts),
      levelsReason(resource),
    ],
  };
}

/** One autoApprove entry against the request: the conditions it meets and the ones it misses. */
interface AutoApproveCheck {
  rule: string;
  met: string[];
  missed: string[];
}

function checkAutoApprove(
  rule: AutoApproveRule,
  index: number,
  settings: PolicySettings,
  context: RequesterContext,
  sizing: Sizing,
): AutoApproveCheck {
  const check: AutoApproveCheck = { rule: `autoApprove[${index}]`, met: [], missed: [] };
  if (rule.requesterIn) {
    const group = rule.requesterIn.groups.find((g) => context.groups.has(g));
    if (rule.requesterIn.users.includes(context.userId)) {
      check.met.push(`the requester (${context.userId}) is listed in its users`);
    } else if (group !== undefined) {
      check.met.push(`the requester is in user group ${group}`);
    } else {
      check.missed.push(
        `the requester (${context.userId}) is in none of its users or groups (${describePrincipals(rule.requesterIn)})`,
      );
    }
  }
  if (rule.requesterOnCall) {
    const answer = context.onCall?.get(index);
    if (!answer) check.missed.push('its on-call schedule was not asked');
    else if ('unknown' in answer) {
      check.missed.push(`${answer.where} could not be asked (${answer.unknown}), so people decide`);
    } else if (answer.onCall) check.met.push(`the requester is on call in ${answer.where}`);
    else check.missed.push(`the requester is not on call in ${answer.where}`);
  }
  if (rule.maxDuration !== undefined) {
    const max = formatDuration(rule.maxDuration);
    if (sizing.seconds <= rule.maxDuration)
      check.met.push(`${sizing.words} is within its maxDuration of ${max}`);
    else check.missed.push(`${sizing.words} is longer than its maxDuration of ${max}`);
  }
  if (rule.businessHoursOnly) {
    const hours = businessHoursOf(settings);
    const described = describeBusinessHours(settings.timezone, hours);
    if (isWithinBusinessHours(context.at, settings.timezone, hours)) {
      check.met.push(`it is within business hours (${described})`);
    } else {
      check.missed.push(`it is outside business hours (${described}) and the rule is businessHoursOnly`);
    }
  }
  return check;
}

function reviewReasons(review: readonly OptOutRuleId[]): string[] {
  if (review.length === 0) return [];
  const rules = review.map((r) => `${r} (${optOutRuleLabels[r]})`);
  return [`Human review is required by ${listed(rules)}.`];
}

function levelsReason(resource: EngineResource): string {
  const levels = resource.approvals.map(
    (level, i) => `level ${i + 1}: ${level.count} of ${describePrincipals(level.from)}`,
  );
  return `It needs human approval, level by level (${levels.join('; ')}).`;
}

function describePrincipals(principals: PrincipalList): string {
  const parts = [
    ...(principals.users.length > 0 ? [`users ${principals.users.join(', ')}`] : []),
    ...(principals.groups.length > 0 ? [`groups ${principals.groups.join(', ')}`] : []),
  ];
  return parts.join(' and ') || 'nobody';
}

function describeFreezeScope(freeze: { scope: string; target: string }): string {
  if (freeze.scope === 'all') return 'all access';
  if (freeze.scope === 'user') return `user ${freeze.target}`;
  return freeze.target;
}

/** The policy's business hours with its days checked: an unknown day name matches no day. */
function businessHoursOf(settings: PolicySettings): BusinessHours {
  const days = settings.businessHours.days.filter((d): d is Weekday =>
    (weekdays as readonly string[]).includes(d),
  );
  return { days, from: settings.businessHours.from, to: settings.businessHours.to };
}

/** `a`, `a and b`, `a, b and c`. */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function capitalise(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

function asSentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
