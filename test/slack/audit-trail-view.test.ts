import { describe, expect, it } from 'vitest';
import type { AuditTrail, AuditTrailEvent } from '../../src/app/audit-trail.js';
import { auditEventMessage, auditTrailMessage } from '../../src/slack/views/audit.js';
import { blockKitViolations } from '../support/block-kit-limits.js';

const hash = 'ab12cd34ef56'.padEnd(64, '0');

function event(id: number, overrides: Partial<AuditTrailEvent> = {}): AuditTrailEvent {
  return {
    id: BigInt(id),
    at: new Date('2030-01-02T03:04:05Z'),
    requestId: 'JIT-7K2MQ9',
    actor: 'U0BOB',
    action: 'request.approved',
    fromState: 'pending',
    toState: 'approved',
    details: { level: 1 },
    hash,
    intact: true,
    ...overrides,
  };
}

function trail(events: AuditTrailEvent[], overrides: Partial<AuditTrail> = {}): AuditTrail {
  return {
    subject: { kind: 'all' },
    events,
    chain: { count: 1234, newest: { id: 1234n, hash: 'f'.repeat(64) } },
    ...overrides,
  };
}

const blocksText = (trail: AuditTrail) => JSON.stringify(auditTrailMessage(trail).blocks);

describe('auditTrailMessage', () => {
  it('lists each event like the security channel does, with id, time and hash', () => {
    const message = auditTrailMessage(
      trail([event(7), event(8, { action: 'request.active', actor: 'system' })]),
    );
    expect(message.text).toBe('Audit trail: 2 events');
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('*Audit trail*: the latest 2 events, oldest first.');
    expect(text).toContain('*request.approved* `JIT-7K2MQ9` by <@U0BOB> (pending → approved)');
    expect(text).toContain('level: 1');
    expect(text).toContain('#7 · <!date^1893553445^');
    expect(text).toContain('hash `ab12cd34ef56`');
    expect(text).toContain('*request.active* `JIT-7K2MQ9` by system');
  });

  it('uses the same headline as the security channel post', () => {
    const one = event(7);
    const posted = JSON.stringify(auditEventMessage(one).blocks?.[0]);
    expect(posted).toContain('*request.approved* `JIT-7K2MQ9` by <@U0BOB> (pending → approved)');
    expect(blocksText(trail([one]))).toContain(
      '*request.approved* `JIT-7K2MQ9` by <@U0BOB> (pending → approved)',
    );
  });

  it('names what it shows: a request, a user, or nothing found', () => {
    expect(
      blocksText(trail([event(1)], { subject: { kind: 'request', requestId: 'JIT-7K2MQ9' } })),
    ).toContain('*Audit trail of `JIT-7K2MQ9`*: the latest event');
    expect(blocksText(trail([event(1)], { subject: { kind: 'user', userId: 'U0ALICE' } }))).toContain(
      '*Audit trail of <@U0ALICE> (by them, or about their requests)*',
    );
    expect(blocksText(trail([]))).toContain('*Audit trail*: no events.');
  });

  it('states the chain’s size and newest hash, and points to `jit audit verify`', () => {
    const text = blocksText(trail([event(1)]));
    expect(text).toContain('The chain holds 1234 events; the newest is #1234, hash `ffffffffffff`');
    expect(text).toContain('run `jit audit verify` to check every link');
    expect(blocksText(trail([], { chain: { count: 0, newest: null } }))).toContain(
      'The audit trail is empty.',
    );
  });

  it('flags an event whose contents do not match its hash', () => {
    const message = auditTrailMessage(trail([event(1), event(2, { intact: false })]));
    expect(message.text).toBe('Audit trail: 2 events, 1 edited');
    const [, first, second] = (message.blocks ?? []).map((b) => JSON.stringify(b));
    expect(first).not.toContain('edited');
    expect(second).toContain(':rotating_light: *Its contents do not match its hash: this event was edited.*');
  });

  it('stays within a message’s limits with many long, hostile events', () => {
    const hostile = `<!channel> <@U0EVIL> & ${'&'.repeat(3000)}`;
    const events = Array.from({ length: 60 }, (_, i) =>
      event(i, { actor: hostile, action: hostile, details: { why: hostile, more: hostile } }),
    );
    const message = auditTrailMessage(trail(events));
    expect(blockKitViolations(message.blocks ?? [], 'message')).toEqual([]);
    expect(message.blocks?.length).toBeLessThanOrEqual(50);
    const text = JSON.stringify(message.blocks);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U0EVIL>');
  });
});
