import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInput, ProviderUnavailable } from '../../src/app/errors.js';
import type { GrantTarget, Provider } from '../../src/app/provider.js';
import { createWebhookProvider, webhookProviderConfigSchema } from '../../src/providers/webhook.js';
import { type FakeWebhookReceiver, startFakeWebhookReceiver } from '../support/fake-webhook.js';

const secret = 'webhook-secret-0123456789';
let receiver: FakeWebhookReceiver;
let provider: Provider;

const expiresAt = new Date('2030-01-01T12:00:00.000Z');
function target(requestId = 'JIT-WH0001'): GrantTarget {
  return {
    requestId,
    identity: 'alice',
    userId: 'UALICE01',
    resource: 'ticketing-admin',
    grant: { group: 'admins' },
    expiresAt,
  };
}

beforeAll(async () => {
  receiver = await startFakeWebhookReceiver(secret);
  provider = createWebhookProvider({ url: receiver.url, secret, timeoutMs: 1_000 });
});
afterAll(async () => {
  await receiver?.close();
});
beforeEach(() => {
  receiver.calls.length = 0;
  receiver.held.clear();
});

describe('webhook provider', () => {
  it('posts signed grant, verify and revoke calls, and repeats are harmless', async () => {
    expect(await provider.verify(target())).toBe(false);
    await provider.grant(target());
    await provider.grant(target());
    expect(await provider.verify(target())).toBe(true);
    await provider.revoke(target());
    await provider.revoke(target());
    expect(await provider.verify(target())).toBe(false);

    expect(receiver.calls.map((call) => [call.action, call.signatureOk])).toEqual([
      ['verify', true],
      ['grant', true],
      ['grant', true],
      ['verify', true],
      ['revoke', true],
      ['revoke', true],
      ['verify', true],
    ]);
    expect(receiver.callsFor('grant')[0]?.body).toEqual({
      action: 'grant',
      requestId: 'JIT-WH0001',
      user: 'alice',
      slackUser: 'UALICE01',
      resource: 'ticketing-admin',
      grant: { group: 'admins' },
      expiresAt: '2030-01-01T12:00:00.000Z',
    });
  });

  it('is refused by a receiver holding another secret', async () => {
    const forged = createWebhookProvider({ url: receiver.url, secret: 'another-secret-0123456789' });
    const refused = forged.grant(target());
    await expect(refused).rejects.toBeInstanceOf(InvalidInput);
    await expect(refused).rejects.toThrow(/HTTP 401: bad signature: signature mismatch/);
    expect(receiver.held.size).toBe(0);
  });

  it('retries 5xx, 408 and 429, and refuses other 4xx for good with a short excerpt', async () => {
    for (const status of [500, 503, 408, 429]) {
      receiver.respondNext({ status, body: 'try later' });
      await expect(provider.grant(target())).rejects.toBeInstanceOf(ProviderUnavailable);
    }
    receiver.respondNext({ status: 400, body: `no such group\n${'x'.repeat(1_000)}` });
    const refused = provider.grant(target()).catch((error: unknown) => error);
    const error = (await refused) as Error;
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toMatch(
      /^webhook 127\.0\.0\.1:\d+ answered grant with HTTP 400: no such group x+…$/,
    );
    expect(error.message.length).toBeLessThan(300);
    // The URL's query (a token, perhaps) never reaches an error.
    expect(error.message).not.toContain('in-the-url');
    expect(receiver.held.size).toBe(0);
  });

  it('gives up waiting after timeoutMs, and says so as a failure worth retrying', async () => {
    const impatient = createWebhookProvider({ url: receiver.url, secret, timeoutMs: 100 });
    receiver.respondNext({ status: 200, hang: true });
    const late = impatient.revoke(target());
    await expect(late).rejects.toBeInstanceOf(ProviderUnavailable);
    await expect(late).rejects.toThrow(/no answer within 100 ms/);
  });

  it('reports an unreachable receiver as a failure worth retrying', async () => {
    const nowhere = createWebhookProvider({ url: 'http://127.0.0.1:9/jit', secret });
    await expect(nowhere.revoke(target())).rejects.toBeInstanceOf(ProviderUnavailable);
  });

  it('wants {"active": boolean} from verify', async () => {
    receiver.respondNext({ status: 200, body: 'OK' });
    await expect(provider.verify(target())).rejects.toThrow(/must answer verify with \{"active"/);
    receiver.respondNext({ status: 204 });
    await expect(provider.verify(target())).rejects.toBeInstanceOf(InvalidInput);
  });

  it('validates its policy block: an http(s) URL and a secret of 16+ characters', () => {
    const parsed = webhookProviderConfigSchema.safeParse({
      type: 'webhook',
      url: 'ftp://hooks.example',
      secret: 'short',
    });
    expect(parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'url: must be an http(s) URL',
      'secret: must be at least 16 characters',
    ]);
  });
});
