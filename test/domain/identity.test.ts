import { describe, expect, it } from 'vitest';
import { type AccountFacts, accountRefusal, resolveIdentity } from '../../src/domain/identity.js';

const home = 'T0HOME';
const corp = { providerName: 'proddb', policy: { emailDomains: ['corp.example'] } };

function account(overrides: Partial<AccountFacts> = {}): AccountFacts {
  return {
    id: 'U123',
    email: 'Alice.Smith@corp.example',
    teamId: home,
    isStranger: false,
    isBot: false,
    deleted: false,
    ...overrides,
  };
}

describe('resolveIdentity', () => {
  it('takes the lower-cased local part of an email in an allowed domain', () => {
    expect(resolveIdentity(account(), home, corp)).toEqual({
      ok: true,
      identity: 'alice.smith',
      via: 'email',
    });
    expect(resolveIdentity(account({ email: 'BOB@Corp.Example' }), home, corp)).toMatchObject({
      ok: true,
      identity: 'bob',
    });
  });

  it('refuses an email of another domain: alice@evil.example is not login alice', () => {
    const result = resolveIdentity(account({ email: 'alice@evil.example' }), home, corp);
    expect(result).toMatchObject({ ok: false, code: 'domain' });
    expect(!result.ok && result.reason).toContain('evil.example');
    // A look-alike subdomain is another domain too.
    expect(resolveIdentity(account({ email: 'alice@corp.example.evil' }), home, corp)).toMatchObject({
      ok: false,
      code: 'domain',
    });
    expect(resolveIdentity(account({ email: 'alice@mail.corp.example' }), home, corp)).toMatchObject({
      ok: false,
    });
  });

  it('does not take apart an address with two @', () => {
    expect(resolveIdentity(account({ email: '"a@b"@corp.example' }), home, corp)).toMatchObject({
      ok: false,
      code: 'no-email',
    });
  });

  it('prefers the explicit identities map, and without email domains only the map counts', () => {
    expect(resolveIdentity(account(), home, { ...corp, identities: { U123: 'asmith' } })).toEqual({
      ok: true,
      identity: 'asmith',
      via: 'map',
    });
    const mapOnly = { providerName: 'proddb', identities: { U999: 'other' } };
    expect(resolveIdentity(account(), home, mapOnly)).toMatchObject({ ok: false, code: 'unmapped' });
    expect(
      resolveIdentity(account({ id: 'constructor' }), home, { providerName: 'p', identities: {} }),
    ).toMatchObject({
      ok: false,
    });
  });

  it('refuses an account without an email when the email is the route', () => {
    expect(resolveIdentity(account({ email: null }), home, corp)).toMatchObject({
      ok: false,
      code: 'no-email',
    });
    expect(resolveIdentity(account({ email: '@corp.example' }), home, corp)).toMatchObject({ ok: false });
  });

  it('refuses Slack Connect externals, other teams, bots and deactivated accounts even when mapped', () => {
    const mapped = { ...corp, identities: { U123: 'alice' } };
    for (const [facts, code] of [
      [{ isStranger: true }, 'external'],
      [{ teamId: 'T0OTHER' }, 'external'],
      [{ isBot: true }, 'bot'],
      [{ deleted: true }, 'deleted'],
    ] as const) {
      expect(resolveIdentity(account(facts), home, mapped)).toMatchObject({ ok: false, code });
    }
  });

  it('gives the Slack account itself where the provider works on Slack accounts', () => {
    expect(resolveIdentity(account(), home, { providerName: 'g', slackAccount: true })).toEqual({
      ok: true,
      identity: 'U123',
      via: 'slack-account',
    });
  });
});

describe('accountRefusal', () => {
  it('lets a live person of the home team act, and nobody else', () => {
    expect(accountRefusal(account(), home)).toBeNull();
    expect(accountRefusal(account({ teamId: 'T0OTHER' }), home)?.code).toBe('external');
  });
});
