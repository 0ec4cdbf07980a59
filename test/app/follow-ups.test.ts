import { describe, expect, it } from 'vitest';
import { followUps } from '../../src/app/follow-ups.js';
import { isFinal, requestStates } from '../../src/domain/lifecycle.js';

describe('followUps (the one place that decides which messages follow a change)', () => {
  it('asks approvers only when a level starts waiting, and always brings the card up to date', () => {
    expect(followUps('pending', { approversWaiting: true })).toEqual(['ask-approvers', 'refresh']);
    expect(followUps('pending')).toEqual(['refresh']);
    for (const state of requestStates) expect(followUps(state)).toContain('refresh');
  });

  it('tells the requester of every outcome, unless the answer to their own action already did', () => {
    for (const state of requestStates.filter(isFinal)) {
      expect(followUps(state)).toEqual(['refresh', 'tell-requester']);
      expect(followUps(state, { requesterAnswered: true })).toEqual(['refresh']);
    }
    expect(followUps('active')).toEqual(['refresh', 'tell-requester']);
    // Approved and being granted is not an outcome yet: the grant's DM follows.
    expect(followUps('approved')).toEqual(['refresh']);
  });
});
