import { describe, expect, it } from 'vitest';
import {
  auditActionFor,
  describeState,
  isFinal,
  type LifecycleEvent,
  mayHoldAccess,
  type RequestState,
  requestStates,
  transition,
} from '../../src/domain/lifecycle.js';

/** A Record, so adding an event to the union without listing it here fails the typecheck. */
const eventSet: Record<LifecycleEvent, true> = {
  approve: true,
  deny: true,
  cancel: true,
  time_out: true,
  grant_succeeded: true,
  grant_failed: true,
  expire: true,
  release: true,
  revoke: true,
};
const events = Object.keys(eventSet) as LifecycleEvent[];

/** SPEC "Request lifecycle", plus approved → revoked so a freeze during granting can end it. */
const allowed: ReadonlyArray<[RequestState, LifecycleEvent, RequestState]> = [
  ['pending', 'approve', 'approved'],
  ['pending', 'deny', 'denied'],
  ['pending', 'cancel', 'cancelled'],
  ['pending', 'time_out', 'timed_out'],
  ['approved', 'grant_succeeded', 'active'],
  ['approved', 'grant_failed', 'grant_failed'],
  ['approved', 'revoke', 'revoked'],
  ['active', 'expire', 'expired'],
  ['active', 'release', 'released'],
  ['active', 'revoke', 'revoked'],
];

const finalStates: readonly RequestState[] = [
  'expired',
  'released',
  'revoked',
  'denied',
  'cancelled',
  'timed_out',
  'grant_failed',
];

const key = (from: RequestState, event: LifecycleEvent) => `${from}/${event}`;
const allowedKeys = new Set(allowed.map(([from, event]) => key(from, event)));
const refused = requestStates.flatMap((from) =>
  events.filter((event) => !allowedKeys.has(key(from, event))).map((event) => [from, event] as const),
);

describe('transition', () => {
  it('covers every (state, event) pair exactly once between the two tables', () => {
    expect(allowed.length + refused.length).toBe(requestStates.length * events.length);
    expect(requestStates).toHaveLength(10);
    expect(events).toHaveLength(9);
  });

  it.each(allowed)('%s --%s--> %s', (from, event, to) => {
    expect(transition(from, event)).toEqual({ ok: true, from, to });
  });

  it.each(refused)('refuses %s --%s-->', (from, event) => {
    const result = transition(from, event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result).toMatchObject({ from, event });
    // Shown to users: a sentence in words, not identifiers.
    expect(result.reason).toMatch(/^[a-z][a-z ()]+$/);
    expect(result.reason).not.toContain('_');
    expect(result.reason).not.toContain('undefined');
  });

  it('says why in terms of the current state', () => {
    expect(transition('active', 'approve')).toMatchObject({
      ok: false,
      reason: 'an active request cannot be approved',
    });
    expect(transition('pending', 'expire')).toMatchObject({
      ok: false,
      reason: 'a pending request cannot be expired',
    });
    expect(transition('pending', 'grant_succeeded')).toMatchObject({
      ok: false,
      reason: 'a pending request cannot be granted',
    });
    expect(transition('approved', 'time_out')).toMatchObject({
      ok: false,
      reason: 'an approved request cannot be timed out',
    });
    expect(transition('denied', 'approve')).toMatchObject({
      ok: false,
      reason: 'the request is already denied',
    });
    expect(transition('timed_out', 'revoke')).toMatchObject({
      ok: false,
      reason: 'the request is already timed out',
    });
    expect(transition('grant_failed', 'revoke')).toMatchObject({
      ok: false,
      reason: 'the request is already failed to grant',
    });
  });

  it.each(finalStates)('final state %s has no exits', (state) => {
    expect(isFinal(state)).toBe(true);
    for (const event of events) expect(transition(state, event).ok).toBe(false);
  });

  it.each(['pending', 'approved', 'active'] as const)('%s is not final and has an exit', (state) => {
    expect(isFinal(state)).toBe(false);
    expect(events.some((event) => transition(state, event).ok)).toBe(true);
  });

  it('reaches every state from pending', () => {
    const reached = new Set<RequestState>(['pending']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const from of [...reached]) {
        for (const event of events) {
          const result = transition(from, event);
          if (result.ok && !reached.has(result.to)) {
            reached.add(result.to);
            grew = true;
          }
        }
      }
    }
    expect([...reached].sort()).toEqual([...requestStates].sort());
  });
});

describe('mayHoldAccess', () => {
  it.each(requestStates.map((state) => [state, state === 'approved' || state === 'active'] as const))(
    '%s → %s',
    (state, expected) => {
      expect(mayHoldAccess(state)).toBe(expected);
    },
  );

  it('is false in every final state, so leaving active always means revoking', () => {
    for (const state of finalStates) expect(mayHoldAccess(state)).toBe(false);
  });
});

describe('describeState and auditActionFor', () => {
  it.each(requestStates)('%s has words for users and an audit action', (state) => {
    expect(describeState(state)).toMatch(/^[a-z][a-z ()]+$/);
    expect(auditActionFor(state)).toBe(`request.${state}`);
  });
});
