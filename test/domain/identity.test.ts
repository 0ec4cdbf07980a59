import { describe, expect, it } from 'vitest';
import { resolveIdentity } from '../../src/domain/identity.js';

describe('resolveIdentity', () => {
  it('prefers the explicit identities map', () => {
    expect(resolveIdentity('U123', 'Alice.Smith@example.com', { U123: 'asmith' })).toBe('asmith');
  });

  it('falls back to the lower-cased email local part', () => {
    expect(resolveIdentity('U123', 'Alice.Smith@example.com', { U999: 'other' })).toBe('alice.smith');
    expect(resolveIdentity('U123', 'bob@example.com', undefined)).toBe('bob');
  });

  it('is null when nothing is known, and ignores inherited keys', () => {
    expect(resolveIdentity('U123', null, undefined)).toBeNull();
    expect(resolveIdentity('U123', '@example.com', undefined)).toBeNull();
    expect(resolveIdentity('constructor', null, {})).toBeNull();
  });
});
