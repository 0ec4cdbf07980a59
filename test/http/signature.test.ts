import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyGitHubSignature, verifyRecallSignature } from '../../src/http/hooks/signature.js';

const secret = 'recall-secret-0123456789';
const body = Buffer.from('{"requestId":"JIT-7K2MQ9","reason":"incident closed"}');
const now = new Date('2025-03-01T12:00:00Z');
const nowSec = Math.floor(now.getTime() / 1000);

function recallSignature(timestamp: number | string, payload: Buffer = body, key = secret): string {
  return `v0=${createHmac('sha256', key).update(`v0:${timestamp}:${payload.toString()}`).digest('hex')}`;
}

function recall(overrides: Partial<Parameters<typeof verifyRecallSignature>[0]> = {}) {
  return verifyRecallSignature({
    secret,
    timestamp: String(nowSec),
    signature: recallSignature(nowSec),
    body,
    now,
    ...overrides,
  });
}

describe('verifyRecallSignature', () => {
  it('accepts a body signed with the secret and a current timestamp', () => {
    expect(recall()).toEqual({ ok: true });
  });

  it('accepts upper-case hex, as some HMAC tools print it', () => {
    expect(recall({ signature: recallSignature(nowSec).toUpperCase().replace('V0=', 'v0=') })).toEqual({
      ok: true,
    });
  });

  it.each([
    [-300, true],
    [300, true],
    [-301, false],
    [301, false],
  ])('treats a timestamp %i s away as %s within the 5-minute window', (skew, ok) => {
    const timestamp = nowSec + skew;
    const result = recall({ timestamp: String(timestamp), signature: recallSignature(timestamp) });
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.why).toMatch(/more than 5 minutes/);
  });

  it.each([
    ['a wrong secret', { signature: recallSignature(nowSec, body, 'another-secret-0123456') }],
    ['another body', { body: Buffer.from('{"requestId":"JIT-000000","reason":"incident closed"}') }],
    ['a signature over another timestamp', { signature: recallSignature(nowSec - 1) }],
    ['no v0= prefix', { signature: recallSignature(nowSec).slice(3) }],
    ['a truncated signature', { signature: recallSignature(nowSec).slice(0, 40) }],
    ['non-hex characters', { signature: `v0=${'z'.repeat(64)}` }],
  ])('refuses %s', (_what, overrides) => {
    expect(recall(overrides)).toEqual({ ok: false, why: 'signature mismatch' });
  });

  it('refuses missing headers and malformed timestamps, saying which', () => {
    expect(recall({ timestamp: undefined })).toMatchObject({
      ok: false,
      why: expect.stringMatching(/required/),
    });
    expect(recall({ signature: undefined })).toMatchObject({
      ok: false,
      why: expect.stringMatching(/required/),
    });
    for (const timestamp of ['soon', '1.5', '-1', `${nowSec}0000000000`]) {
      expect(recall({ timestamp, signature: recallSignature(timestamp) }).ok).toBe(false);
    }
  });
});

describe('verifyGitHubSignature', () => {
  const githubSecret = 'github-secret-0123456789';
  const payload = Buffer.from('{"action":"closed"}');
  const signature = `sha256=${createHmac('sha256', githubSecret).update(payload).digest('hex')}`;

  it('accepts the HMAC of the raw body', () => {
    expect(verifyGitHubSignature({ secret: githubSecret, signature, body: payload })).toEqual({ ok: true });
  });

  it.each([
    ['a missing header', undefined, /required/],
    ['the sha1 header format', signature.replace('sha256=', 'sha1='), /mismatch/],
    [
      'a wrong secret',
      `sha256=${createHmac('sha256', 'x'.repeat(20)).update(payload).digest('hex')}`,
      /mismatch/,
    ],
    ['an empty digest', 'sha256=', /mismatch/],
  ])('refuses %s', (_what, header, why) => {
    const result = verifyGitHubSignature({ secret: githubSecret, signature: header, body: payload });
    expect(result).toMatchObject({ ok: false, why: expect.stringMatching(why) });
  });

  it('refuses a signature of another body', () => {
    const other = Buffer.from('{"action":"opened"}');
    expect(verifyGitHubSignature({ secret: githubSecret, signature, body: other }).ok).toBe(false);
  });
});
