import { describe, expect, it } from 'vitest';
import { newRequestId, parseRequestId } from '../../src/domain/ids.js';

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function fixedBytes(...bytes: number[]) {
  const calls: number[] = [];
  const randomBytes = (n: number) => {
    calls.push(n);
    return Uint8Array.from(bytes.slice(0, n));
  };
  return { randomBytes, calls };
}

describe('newRequestId', () => {
  it('is JIT- and six Crockford base32 characters, from six random bytes', () => {
    const { randomBytes, calls } = fixedBytes(0, 1, 2, 3, 4, 5);
    const id = newRequestId(randomBytes);
    expect(id).toBe('JIT-012345');
    expect(calls).toEqual([6]);
  });

  it('is deterministic for the same bytes and differs for different bytes', () => {
    const a = newRequestId(fixedBytes(7, 20, 2, 22, 23, 9).randomBytes);
    const b = newRequestId(fixedBytes(7, 20, 2, 22, 23, 9).randomBytes);
    const c = newRequestId(fixedBytes(7, 20, 2, 22, 23, 10).randomBytes);
    expect(a).toBe('JIT-7M2PQ9');
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('maps bytes uniformly onto the 32 symbols (256 is a multiple of 32)', () => {
    expect(newRequestId(fixedBytes(31, 32, 63, 64, 255, 128).randomBytes)).toBe('JIT-Z0Z0Z0');
  });

  it('uses every symbol of the alphabet and never I, L, O or U', () => {
    const seen = new Set<string>();
    for (let byte = 0; byte < 256; byte++) {
      const id = newRequestId(() => new Uint8Array(6).fill(byte));
      expect(id).toMatch(/^JIT-[0-9A-Z]{6}$/);
      const suffix = id.slice(4);
      expect(suffix).not.toMatch(/[ILOU]/);
      for (const char of suffix) seen.add(char);
    }
    expect([...seen].sort().join('')).toBe(crockford);
  });

  it('produces ids that parseRequestId accepts unchanged', () => {
    for (let byte = 0; byte < 256; byte += 7) {
      const id = newRequestId(() =>
        Uint8Array.from([byte, byte + 1, byte + 2, byte + 3, byte + 4, byte + 5].map((b) => b % 256)),
      );
      expect(parseRequestId(id)).toBe(id);
    }
  });
});

describe('parseRequestId', () => {
  it.each([
    ['JIT-7K2MQ9', 'JIT-7K2MQ9'],
    ['jit-7k2mq9', 'JIT-7K2MQ9'],
    ['Jit-7k2Mq9', 'JIT-7K2MQ9'],
    ['  JIT-7K2MQ9  ', 'JIT-7K2MQ9'],
    ['\tjit-zzzzzz\n', 'JIT-ZZZZZZ'],
  ])('%j → %s', (text, id) => {
    expect(parseRequestId(text)).toBe(id);
  });

  it.each([
    '',
    '   ',
    'JIT-',
    'JIT',
    '7K2MQ9',
    'JIT-7K2MQ',
    'JIT-7K2MQ90',
    'JIT_7K2MQ9',
    'JIT 7K2MQ9',
    'JIT-7K2 MQ9',
    'JIT--7K2MQ9',
    'XJIT-7K2MQ9',
    'JIT-7K2MQ9X',
    'JIT-7K2MQI',
    'JIT-7K2MQL',
    'JIT-7K2MQO',
    'JIT-7K2MQU',
    'JIT-7K2MQ!',
    'JIT-ÄK2MQ9',
    '<@U123>',
    'all',
    'prod-db-write',
  ])('%j is not a request id', (text) => {
    expect(parseRequestId(text)).toBeNull();
  });
});
