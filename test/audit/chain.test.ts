import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ChainedFields, genesisHash, hashAuditEvent } from '../../src/audit/chain.js';

const event: ChainedFields = {
  at: new Date('2030-01-02T03:04:05.678Z'),
  requestId: 'JIT-7K2MQ9',
  actor: 'U0DBA',
  action: 'request.approved',
  fromState: 'pending',
  toState: 'approved',
  details: { level: 1, reason: 'ok', nested: { b: [1, 2], a: null } },
};

const prev = 'f'.repeat(64);

describe('hashAuditEvent', () => {
  it('is a SHA-256 hex digest', () => {
    expect(hashAuditEvent(prev, event)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is deterministic', () => {
    expect(hashAuditEvent(prev, event)).toBe(hashAuditEvent(prev, structuredClone(event)));
  });

  it('is the hash of the previous hash followed by the canonical JSON of the event', () => {
    // Written out by hand (RFC 8785: keys sorted, no whitespace) so a change of format is noticed:
    // every stored hash depends on it.
    const canonical =
      '{"action":"request.approved","actor":"U0DBA","at":"2030-01-02T03:04:05.678Z",' +
      '"details":{"level":1,"nested":{"a":null,"b":[1,2]},"reason":"ok"},' +
      '"fromState":"pending","requestId":"JIT-7K2MQ9","toState":"approved"}';
    const expected = createHash('sha256')
      .update(prev + canonical)
      .digest('hex');
    expect(hashAuditEvent(prev, event)).toBe(expected);
  });

  it('does not depend on the key order of details or of the event', () => {
    const reordered: ChainedFields = {
      details: { nested: { a: null, b: [1, 2] }, reason: 'ok', level: 1 },
      toState: 'approved',
      fromState: 'pending',
      action: 'request.approved',
      actor: 'U0DBA',
      requestId: 'JIT-7K2MQ9',
      at: new Date(event.at.getTime()),
    };
    expect(hashAuditEvent(prev, reordered)).toBe(hashAuditEvent(prev, event));
  });

  it.each<[string, Partial<ChainedFields>]>([
    ['at, by one millisecond', { at: new Date(event.at.getTime() + 1) }],
    ['requestId', { requestId: 'JIT-7K2MQ8' }],
    ['requestId, to null', { requestId: null }],
    ['actor', { actor: 'U0DBB' }],
    ['action', { action: 'request.denied' }],
    ['fromState', { fromState: 'approved' }],
    ['fromState, to null', { fromState: null }],
    ['toState', { toState: 'denied' }],
    ['toState, to null', { toState: null }],
    ['a detail value', { details: { ...(event.details as object), reason: 'ok!' } }],
    ['a detail type', { details: { ...(event.details as object), level: '1' } }],
    ['a nested detail', { details: { ...(event.details as object), nested: { a: null, b: [2, 1] } } }],
    ['an added detail', { details: { ...(event.details as object), extra: true } }],
    ['a removed detail', { details: { level: 1, reason: 'ok' } }],
    ['details, to empty', { details: {} }],
  ])('changes when %s changes', (_name, change) => {
    expect(hashAuditEvent(prev, { ...event, ...change })).not.toBe(hashAuditEvent(prev, event));
  });

  it('changes when the previous hash changes, so the chain links every event', () => {
    const base = hashAuditEvent(prev, event);
    expect(hashAuditEvent(genesisHash, event)).not.toBe(base);
    expect(hashAuditEvent(`${prev.slice(0, 63)}e`, event)).not.toBe(base);
  });

  it('keeps fields apart, so moving text between them changes the hash', () => {
    const a = hashAuditEvent(prev, { ...event, actor: 'U0DB', action: 'Arequest.approved' });
    const b = hashAuditEvent(prev, { ...event, actor: 'U0DBA', action: 'request.approved' });
    expect(a).not.toBe(b);
  });

  it('starts the chain from 64 zeros', () => {
    expect(genesisHash).toBe('0'.repeat(64));
  });
});
