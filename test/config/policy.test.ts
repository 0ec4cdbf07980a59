import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env.js';
import {
  idleRecallProblems,
  type Policy,
  parsePolicy,
  perRequestLoginResources,
  requirePublicUrl,
} from '../../src/config/policy.js';
import { specExamplePolicy } from '../support/spec-example-policy.js';

const env = { PROD_DB_ADMIN_URL: 'postgresql://jit_admin:pw@prod-db:5432/app' };

/** A small valid policy to vary one key at a time. */
const base = {
  securityChannel: 'C0SECURITY',
  admins: { users: ['U0SEC1'] },
  identity: { emailDomains: ['corp.example'] },
  providers: { proddb: { type: 'postgres', url: 'postgresql://admin@db/app' } },
  resources: {
    'prod-db-write': {
      description: 'Write access',
      provider: 'proddb',
      grant: { role: 'prod_write' },
      duration: { default: '1h', max: '4h' },
      approvals: [{ from: { users: ['U0DBA'] } }],
    },
  },
};

type Json = Record<string, unknown>;

/** `base` with the value at `path` replaced (or removed when `value` is undefined); JSON is valid YAML. */
function variant(path: string, value: unknown): string {
  const copy = structuredClone(base) as Json;
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node: Json = copy;
  for (const key of keys) {
    node[key] ??= {};
    node = node[key] as Json;
  }
  if (value === undefined) delete node[last];
  else node[last] = value;
  return JSON.stringify(copy);
}

function errorOf(text: string, source: NodeJS.ProcessEnv = env): string {
  try {
    parsePolicy(text, source, 'jit.config.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected parsePolicy to throw');
}

describe('parsePolicy', () => {
  it('reads the SPEC example, with durations in seconds and defaults filled in', () => {
    const policy = parsePolicy(specExamplePolicy, env);
    expect(policy.timezone).toBe('Europe/Berlin');
    expect(policy.securityChannel).toBe('C0SECURITY');
    expect(policy.admins).toEqual({ users: ['U0SEC1'], groups: ['S0SECTEAM'] });
    expect(policy.businessHours).toEqual({
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      from: '08:00',
      to: '19:00',
    });
    expect(policy.providers).toEqual({ proddb: { type: 'postgres', url: env.PROD_DB_ADMIN_URL } });
    const resource = policy.resources['prod-db-write'];
    expect(resource).toEqual({
      description: 'Write access to the production database',
      provider: 'proddb',
      grant: { role: 'prod_write' },
      duration: { default: 3_600, max: 14_400 },
      approvals: [
        { from: { users: [], groups: ['S0DBA'] }, count: 1 },
        { from: { users: ['U0CTO'], groups: [] }, count: 1 },
      ],
      autoApprove: [
        { requesterIn: { users: [], groups: ['S0ONCALL'] }, maxDuration: 1_800, businessHoursOnly: true },
      ],
      optOut: { outsideBusinessHours: 'review', guests: 'deny', maxRequestsPerHour: 3, blockedUsers: [] },
    });
  });

  it('requires email domains where identities come from email local parts, naming the key', () => {
    expect(() => parsePolicy(variant('identity', undefined), {})).toThrow(
      /providers\.proddb\.identity\.emailDomains: is required/,
    );
    // A provider's own identity policy, or an explicit identities map, is enough.
    const own = variant('providers.proddb.identity', { emailDomains: ['corp.example'] });
    expect(() =>
      parsePolicy(own.replace('"identity":{"emailDomains":["corp.example"]},', ''), {}),
    ).not.toThrow();
    const mapped = structuredClone(base) as Json;
    delete mapped.identity;
    (mapped.providers as Json).proddb = {
      ...(base.providers.proddb as Json),
      identities: { U0ALICE: 'alice' },
    };
    expect(parsePolicy(JSON.stringify(mapped), {}).identity).toBeUndefined();
  });

  it('refuses an email domain that is not a lower-case domain', () => {
    expect(() => parsePolicy(variant('identity.emailDomains', ['Corp.Example']), {})).toThrow(
      /identity\.emailDomains\.0: must be an email domain/,
    );
    expect(() => parsePolicy(variant('identity.emailDomains', []), {})).toThrow(/at least one domain/);
  });

  it('finds no resource or provider under an inherited key like constructor or __proto__', () => {
    const policy = parsePolicy(JSON.stringify(base), {});
    expect(policy.resources.constructor).toBeUndefined();
    expect(policy.providers.toString).toBeUndefined();
    expect(Object.hasOwn(policy.resources, 'prod-db-write')).toBe(true);
  });

  it('says "is required" for a key left out, naming it by path', () => {
    const resource = Object.keys((base as { resources: Json }).resources)[0] as string;
    expect(errorOf(variant('admins', undefined))).toContain('admins: is required');
    expect(errorOf(variant(`resources.${resource}.approvals`, undefined))).toContain(
      `resources.${resource}.approvals: is required`,
    );
    expect(errorOf(variant('admins', 'everyone'))).not.toContain('is required');
  });

  it('fills in the optional top-level keys', () => {
    const policy = parsePolicy(JSON.stringify(base), {});
    expect(policy.timezone).toBe('UTC');
    expect(policy.businessHours).toEqual({
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      from: '08:00',
      to: '19:00',
    });
    expect(policy.resources['prod-db-write']?.approvals[0]?.count).toBe(1);
    expect(policy.resources['prod-db-write']?.autoApprove).toEqual([]);
  });

  it('accepts the webhook provider of the SPEC example, and names a short secret', () => {
    const withWebhook = specExamplePolicy.replace(
      'resources:',
      [
        '  ticketing:',
        '    type: webhook',
        '    url: ${GRANT_HOOK_URL}',
        '    secret: ${GRANT_HOOK_SECRET}',
        '',
        'resources:',
      ].join('\n'),
    );
    const policy = parsePolicy(withWebhook, {
      ...env,
      GRANT_HOOK_URL: 'https://hooks.example',
      GRANT_HOOK_SECRET: 'a-secret-of-24-characters',
    });
    expect(policy.providers.ticketing).toMatchObject({ type: 'webhook', url: 'https://hooks.example' });
    const message = errorOf(withWebhook, {
      ...env,
      GRANT_HOOK_URL: 'https://hooks.example',
      GRANT_HOOK_SECRET: 's3cret',
    });
    expect(message).toMatch(/^jit\.config\.yaml: /);
    expect(message).toContain('providers.ticketing.secret');
  });

  describe('${VAR} interpolation', () => {
    it('replaces variables inside longer strings and leaves other text alone', () => {
      const text = variant('providers.proddb.url', 'postgresql://${DB_USER}:${DB_PASS}@db/app?x=$HOME');
      const policy = parsePolicy(text, { DB_USER: 'jit', DB_PASS: 'p@ss' });
      expect((policy.providers.proddb as { url: string }).url).toBe('postgresql://jit:p@ss@db/app?x=$HOME');
    });

    it('names the key path of a missing variable, and every missing one', () => {
      const message = errorOf(
        specExamplePolicy.replace('description: Write', 'description: ${TEAM} write'),
        {},
      );
      expect(message).toContain('providers.proddb.url: environment variable PROD_DB_ADMIN_URL is not set');
      expect(message).toContain('resources.prod-db-write.description: environment variable TEAM is not set');
    });

    it('treats an empty variable as missing', () => {
      expect(errorOf(specExamplePolicy, { PROD_DB_ADMIN_URL: '' })).toContain('PROD_DB_ADMIN_URL is not set');
    });

    it('names the index in lists', () => {
      const message = errorOf(variant('admins.users', ['U0SEC1', '${SECOND_ADMIN}']), {});
      expect(message).toContain('admins.users.1: environment variable SECOND_ADMIN is not set');
    });
  });

  it.each([
    [
      'a bad duration',
      'resources.prod-db-write.duration.max',
      '4 hours',
      'resources.prod-db-write.duration.max: "4 hours" is not a duration',
    ],
    [
      'a zero duration',
      'resources.prod-db-write.duration.default',
      '0m',
      'resources.prod-db-write.duration.default:',
    ],
    [
      'a default above the max',
      'resources.prod-db-write.duration',
      { default: '5h', max: '4h' },
      'resources.prod-db-write.duration.default: must not exceed max',
    ],
    [
      'a min above the default',
      'resources.prod-db-write.duration',
      { default: '1h', max: '4h', min: '2h' },
      'resources.prod-db-write.duration.min: must not exceed default',
    ],
    [
      'a missing max',
      'resources.prod-db-write.duration',
      { default: '1h' },
      'resources.prod-db-write.duration.max:',
    ],
    ['an unknown top-level key', 'colour', 'blue', '"colour"'],
    [
      'an unknown resource key',
      'resources.prod-db-write.durations',
      { max: '1h' },
      'resources.prod-db-write: Unrecognized key: "durations"',
    ],
    [
      'an unknown key in an approval level',
      'resources.prod-db-write.approvals',
      [{ from: { users: ['U0DBA'] }, cuont: 2 }],
      'resources.prod-db-write.approvals.0',
    ],
    ['an unknown key in admins', 'admins.roles', ['x'], 'admins: Unrecognized key: "roles"'],
    [
      'an unknown provider',
      'resources.prod-db-write.provider',
      'ticketing',
      'resources.prod-db-write.provider: no provider named "ticketing" (known: proddb)',
    ],
    [
      'a grant role PostgreSQL would misread',
      'resources.prod-db-write.grant',
      { role: 'prod write; DROP' },
      'resources.prod-db-write.grant.role:',
    ],
    [
      'a reserved grant role',
      'resources.prod-db-write.grant',
      { role: 'public' },
      'resources.prod-db-write.grant.role: is reserved',
    ],
    ['a missing grant role', 'resources.prod-db-write.grant', {}, 'resources.prod-db-write.grant.role:'],
    ['a bad time zone', 'timezone', 'Mars/Olympus_Mons', 'timezone: must be an IANA time zone'],
    ['a bad channel id', 'securityChannel', '#security', 'securityChannel: must be a Slack channel id'],
    [
      'a user name instead of a user id',
      'admins.users',
      ['alice'],
      'admins.users.0: must be a Slack user id',
    ],
    ['a lower-case user id', 'admins.users', ['u0sec1'], 'admins.users.0: must be a Slack user id'],
    [
      'a user id as a group id',
      'admins',
      { groups: ['U0SEC1'] },
      'admins.groups.0: must be a Slack user group id',
    ],
    [
      'an approver group with a bad id',
      'resources.prod-db-write.approvals',
      [{ from: { groups: ['dba'] } }],
      'resources.prod-db-write.approvals.0.from.groups.0:',
    ],
    [
      'an approval level naming nobody',
      'resources.prod-db-write.approvals',
      [{ from: {} }],
      'resources.prod-db-write.approvals.0.from: must name at least one user or group',
    ],
    [
      'no approval levels',
      'resources.prod-db-write.approvals',
      [],
      'resources.prod-db-write.approvals: needs at least one approval level',
    ],
    [
      'a zero approval count',
      'resources.prod-db-write.approvals',
      [{ from: { users: ['U0DBA'] }, count: 0 }],
      'resources.prod-db-write.approvals.0.count:',
    ],
    ['admins naming nobody', 'admins', {}, 'admins: must name at least one user or group'],
    [
      'a bad business-hours time',
      'businessHours',
      { days: ['mon'], from: '8:00', to: '19:00' },
      'businessHours.from: must be a time like 08:00',
    ],
    [
      'a bad weekday',
      'businessHours',
      { days: ['monday'], from: '08:00', to: '19:00' },
      'businessHours.days.0:',
    ],
    [
      'an upper-case resource name',
      'resources.Prod',
      base.resources['prod-db-write'],
      'resources.Prod: resource names are lower-case letters',
    ],
    [
      'an upper-case provider name',
      'providers.ProdDB',
      base.providers.proddb,
      'providers.ProdDB: provider names are lower-case letters',
    ],
    [
      'an opt-out action that does not exist',
      'resources.prod-db-write.optOut',
      { guests: 'ignore' },
      'resources.prod-db-write.optOut.guests:',
    ],
    ['a missing security channel', 'securityChannel', undefined, 'securityChannel:'],
  ])('refuses %s, naming the key path', (_name, path, value, expected) => {
    const message = errorOf(variant(path, value));
    expect(message).toMatch(/^jit\.config\.yaml: /);
    expect(message).toContain(expected);
  });

  it('reports every problem, not only the first', () => {
    const text = JSON.stringify({ ...base, timezone: 'Nowhere/Land', securityChannel: 'security' });
    const message = errorOf(text);
    expect(message).toContain('timezone:');
    expect(message).toContain('securityChannel:');
  });

  it('refuses YAML that is not valid, or has a key twice', () => {
    expect(errorOf('timezone: [UTC')).toContain('jit.config.yaml is not valid YAML');
    expect(errorOf('timezone: UTC\ntimezone: Europe/Berlin\n')).toContain('is not valid YAML');
  });

  it('refuses an empty file and a file that is not a mapping', () => {
    expect(errorOf('')).toMatch(/^jit\.config\.yaml: /);
    expect(errorOf('- a\n- b\n')).toMatch(/^jit\.config\.yaml: /);
  });
});

describe('recallAfterIdle', () => {
  it('is read in seconds on a resource whose provider can count sessions', () => {
    const policy = parsePolicy(variant('resources.prod-db-write.recallAfterIdle', '15m'), env);
    expect(policy.resources['prod-db-write']?.recallAfterIdle).toBe(900);
  });

  it('refuses a value that is not a duration, naming the key path', () => {
    const message = errorOf(variant('resources.prod-db-write.recallAfterIdle', '15 minutes'));
    expect(message).toContain('resources.prod-db-write.recallAfterIdle: "15 minutes" is not a duration');
  });

  it('refuses it on a provider type that cannot count sessions, naming the key path', () => {
    const policy = parsePolicy(variant('resources.prod-db-write.recallAfterIdle', '15m'), env);
    expect(idleRecallProblems(policy)).toEqual([]);
    // Every provider type this release has can count sessions; a future one may not.
    const blind = { ...policy, providers: { proddb: { type: 'ticketing', url: 'https://t.example' } } };
    const problems = idleRecallProblems(blind as unknown as Policy);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^resources\.prod-db-write\.recallAfterIdle: provider "proddb" \(type ticketing\)/,
    );
  });
});

describe('login: per-request', () => {
  it('is listed as needing the public URL, and only on postgres resources that set it', () => {
    expect(
      perRequestLoginResources(parsePolicy(variant('resources.prod-db-write.grant.login', 'own'), env)),
    ).toEqual([]);
    const policy = parsePolicy(variant('resources.prod-db-write.grant.login', 'per-request'), env);
    expect(perRequestLoginResources(policy)).toEqual(['prod-db-write']);
    expect(() => requirePublicUrl(policy, undefined)).toThrow(/JIT_PUBLIC_URL is required: prod-db-write/);
    expect(() => requirePublicUrl(policy, 'https://jit.example.com/')).not.toThrow();
  });

  it('refuses another value, naming the key path', () => {
    expect(errorOf(variant('resources.prod-db-write.grant.login', 'shared'))).toContain(
      'resources.prod-db-write.grant.login',
    );
  });
});

describe('autoApprove requesterOnCall', () => {
  const onCallRule = [{ requesterOnCall: { pagerduty: { schedule: 'PABC123' } } }];

  it('is read with the onCall block it asks, and its defaults', () => {
    const withRule = JSON.parse(variant('resources.prod-db-write.autoApprove', onCallRule));
    withRule.onCall = { pagerduty: { token: 'pd-token' } };
    const policy = parsePolicy(JSON.stringify(withRule), env);
    expect(policy.onCall).toEqual({
      pagerduty: { token: 'pd-token', apiUrl: 'https://api.pagerduty.com' },
      cacheFor: 60,
      timeout: 3,
    });
    expect(policy.resources['prod-db-write']?.autoApprove[0]?.requesterOnCall).toEqual(
      onCallRule[0]?.requesterOnCall,
    );
  });

  it('refuses a rule that asks a service the file does not configure, naming the key path', () => {
    expect(errorOf(variant('resources.prod-db-write.autoApprove', onCallRule))).toContain(
      'resources.prod-db-write.autoApprove.0.requesterOnCall: asks pagerduty, but the policy file has no onCall.pagerduty block',
    );
  });

  it('refuses a rule that names nobody, and a schedule id of the wrong shape', () => {
    expect(errorOf(variant('resources.prod-db-write.autoApprove', [{ maxDuration: '1h' }]))).toContain(
      'needs requesterIn, requesterOnCall or both',
    );
    const bad = [{ requesterOnCall: { pagerduty: { schedule: 'not an id' } } }];
    expect(errorOf(variant('resources.prod-db-write.autoApprove', bad))).toContain('PagerDuty schedule id');
  });
});

describe('breakGlass', () => {
  const path = 'resources.prod-db-write.breakGlass';

  it('fills in the reviewers later (admins), a one-hour review and one use a day', () => {
    const policy = parsePolicy(variant(path, { maxDuration: '30m' }), env);
    expect(policy.resources['prod-db-write']?.breakGlass).toEqual({
      maxDuration: 1800,
      reviewWithin: 3600,
      freezeOnFlag: false,
      limit: { count: 1, per: 86_400 },
    });
  });

  it('refuses a maxDuration beyond duration.max, naming the key', () => {
    expect(errorOf(variant(path, { maxDuration: '5h' }))).toContain(`${path}.maxDuration`);
    expect(errorOf(variant(path, { maxDuration: '5h' }))).toContain('must not exceed duration.max');
  });

  it('refuses unknown keys and empty reviewers', () => {
    expect(errorOf(variant(path, { maxDuration: '30m', approvers: ['U1'] }))).toContain(path);
    expect(errorOf(variant(path, { maxDuration: '30m', reviewers: {} }))).toContain(`${path}.reviewers`);
    expect(errorOf(variant(path, { maxDuration: '30m', limit: { count: 0 } }))).toContain(
      `${path}.limit.count`,
    );
  });
});

describe('approverReauth and oidc', () => {
  const oidc = { issuer: 'https://login.corp.example', clientId: 'jit-bot', clientSecret: 's3cret' };
  const withReauth = (extra: Json = {}) => {
    const copy = JSON.parse(variant('resources.prod-db-write.approverReauth', 'oidc')) as Json;
    return JSON.stringify({ ...copy, ...extra });
  };

  it('needs the top-level oidc block, and fills in maxAge 5m and the email claim', () => {
    expect(errorOf(withReauth())).toContain(
      'resources.prod-db-write.approverReauth: needs a top-level oidc block',
    );
    const policy = parsePolicy(withReauth({ oidc }), env);
    expect(policy.oidc).toEqual({ ...oidc, maxAge: 300, emailClaim: 'email' });
  });

  it('refuses a plain-http issuer other than localhost', () => {
    expect(errorOf(withReauth({ oidc: { ...oidc, issuer: 'http://login.corp.example' } }))).toContain(
      'oidc.issuer: must be https',
    );
    expect(() =>
      parsePolicy(withReauth({ oidc: { ...oidc, issuer: 'http://127.0.0.1:9000' } }), env),
    ).not.toThrow();
  });

  it('needs JIT_PUBLIC_URL for the sign-in page', () => {
    const policy = parsePolicy(withReauth({ oidc }), env);
    expect(() => requirePublicUrl(policy, undefined)).toThrow(
      /JIT_PUBLIC_URL is required: prod-db-write use approverReauth/,
    );
    expect(() => requirePublicUrl(policy, 'https://jit.corp.example')).not.toThrow();
  });
});
