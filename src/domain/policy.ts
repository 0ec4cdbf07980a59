/**
 * Policy decisions that need no I/O: is this request acceptable, who may approve it now, and is
 * it approved yet. The app resolves Slack user groups into user ids before calling in here.
 */

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

/** Why an approval is refused; `repeat` (a second click by the same approver) is harmless. */
export type ApprovalRefusal = 'self' | 'repeat' | 'not-approver' | 'complete';

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

export function checkReason(reason: string): Check<string> {
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
  for (const [i, level] of levels.entries()) {
    const others = [...level.approvers].filter((id) => id !== requesterId).length;
    if (others < level.count) {
      return {
        ok: false,
        reason: `approval level ${i + 1} needs ${level.count} approver(s) other than you, and only ${others} exist`,
      };
    }
  }
  // An approval counts once per person, so levels that share approvers must be satisfiable together
  // too: by Hall's theorem, every set of levels needs as many distinct people as its counts add up
  // to. The policy allows at most 5 levels, so checking every set is cheap.
  for (let set = 1; set < 2 ** levels.length; set++) {
    const chosen = [...levels.entries()].filter(([i]) => (set >> i) & 1);
    if (chosen.length < 2) continue;
    const people = new Set(chosen.flatMap(([, level]) => [...level.approvers]));
    people.delete(requesterId);
    const seats = chosen.reduce((sum, [, level]) => sum + level.count, 0);
    if (people.size < seats) {
      const names = chosen.map(([i]) => String(i + 1));
      return {
        ok: false,
        reason:
          `approval levels ${names.slice(0, -1).join(', ')} and ${names.at(-1)} together need ${seats} distinct ` +
          `approvers other than you (each person counts once), and only ${people.size} exist`,
      };
    }
  }
  return { ok: true, value: true };
}

/** Index of the first level that still needs approvals, or null when every level is satisfied. */
export function currentLevel(
  levels: readonly ResolvedLevel[],
  approvals: readonly ApprovalRecord[],
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
  return { ok: true, value: { level, complete: currentLevel(levels, after) === null } };
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
