/**
 * The request lifecycle: states, the events that move between them, and who may cause them.
 * Pure: no I/O, no clock. Every state change in the app goes through `transition`.
 */

export const requestStates = [
  'pending',
  'approved',
  'active',
  'expired',
  'released',
  'revoked',
  'denied',
  'cancelled',
  'timed_out',
  'grant_failed',
] as const;
export type RequestState = (typeof requestStates)[number];

export type LifecycleEvent =
  | 'approve'
  | 'deny'
  | 'cancel'
  | 'time_out'
  | 'grant_succeeded'
  | 'grant_failed'
  | 'expire'
  | 'release'
  | 'revoke';

const table: Record<RequestState, Partial<Record<LifecycleEvent, RequestState>>> = {
  pending: { approve: 'approved', deny: 'denied', cancel: 'cancelled', time_out: 'timed_out' },
  approved: { grant_succeeded: 'active', grant_failed: 'grant_failed', revoke: 'revoked' },
  active: { expire: 'expired', release: 'released', revoke: 'revoked' },
  expired: {},
  released: {},
  revoked: {},
  denied: {},
  cancelled: {},
  timed_out: {},
  grant_failed: {},
};

export type TransitionResult =
  | { ok: true; from: RequestState; to: RequestState }
  | { ok: false; from: RequestState; event: LifecycleEvent; reason: string };

/** The state `event` leads to from `from`, or why it cannot happen. */
export function transition(from: RequestState, event: LifecycleEvent): TransitionResult {
  const to = table[from][event];
  if (to) return { ok: true, from, to };
  const reason = isFinal(from)
    ? `the request is already ${describeState(from)}`
    : `${/^[aeiou]/.test(from) ? 'an' : 'a'} ${from} request cannot be ${pastTense[event]}`;
  return { ok: false, from, event, reason };
}

export function isFinal(state: RequestState): boolean {
  return Object.keys(table[state]).length === 0;
}

/** States in which the requester may hold access on the target system. */
export function mayHoldAccess(state: RequestState): boolean {
  return state === 'approved' || state === 'active';
}

const pastTense: Record<LifecycleEvent, string> = {
  approve: 'approved',
  deny: 'denied',
  cancel: 'cancelled',
  time_out: 'timed out',
  grant_succeeded: 'granted',
  grant_failed: 'marked as failed',
  expire: 'expired',
  release: 'released',
  revoke: 'revoked',
};

const stateWords: Record<RequestState, string> = {
  pending: 'waiting for approval',
  approved: 'approved (granting)',
  active: 'active',
  expired: 'expired',
  released: 'released',
  revoked: 'revoked',
  denied: 'denied',
  cancelled: 'cancelled',
  timed_out: 'timed out',
  grant_failed: 'failed to grant',
};

export function describeState(state: RequestState): string {
  return stateWords[state];
}

/** Audit action name for a transition, e.g. `request.approved`. */
export function auditActionFor(to: RequestState): string {
  return `request.${to}`;
}
