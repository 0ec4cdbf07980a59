import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { grantSchemaFor, type ProviderConfig } from '../providers/registry.js';
import { ConfigError } from './env.js';
import { type Policy, policySchema } from './policy-schema.js';

export type { ApprovalLevel, Policy, Principals, ResourcePolicy } from './policy-schema.js';

/** Reads, interpolates and validates the policy file; errors name the key path of every problem. */
export async function loadPolicy(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return parsePolicy(text, env, path);
}

export function parsePolicy(text: string, env: NodeJS.ProcessEnv, source = 'policy'): Policy {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${source} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  const problems: string[] = [];
  const raw = interpolate(toPlainData(doc, source), env, [], problems);
  if (problems.length > 0) throw new ConfigError(`${source}: ${problems.join('; ')}`);

  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${source}: ${formatIssues(parsed.error.issues)}`);
  // Null-prototype records: `resources["constructor"]` or `__proto__` finds nothing, everywhere.
  const policy: Policy = {
    ...parsed.data,
    providers: Object.assign(Object.create(null), parsed.data.providers),
    resources: Object.assign(Object.create(null), parsed.data.resources),
  };
  problems.push(...crossCheck(policy));
  if (problems.length > 0) throw new ConfigError(`${source}: ${problems.join('; ')}`);
  return policy;
}

/** `${VAR}` in any string value is replaced from the environment; a missing one is an error. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: PathKey[], problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
      const replacement = env[name];
      if (replacement === undefined || replacement === '') {
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      }
      return replacement;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, [...path, i], problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, env, [...path, key], problems)]),
    );
  }
  return value;
}

/** Checks that need more than one key: provider references and provider-specific grant blocks. */
function crossCheck(policy: Policy): string[] {
  const problems: string[] = [];
  for (const [name, resource] of Object.entries(policy.resources)) {
    const provider = policy.providers[resource.provider];
    if (!provider) {
      const known = Object.keys(policy.providers).join(', ') || 'none';
      problems.push(`resources.${name}.provider: no provider named "${resource.provider}" (known: ${known})`);
      continue;
    }
    const grant = grantSchemaFor(provider.type).safeParse(resource.grant);
    if (!grant.success) {
      problems.push(formatIssues(grant.error.issues, ['resources', name, 'grant']));
    }
  }
  problems.push(...idleRecallProblems(policy));
  problems.push(...identityProblems(policy));
  return problems;
}

/**
 * Provider types whose identity is the requester's Slack account itself rather than a login on
 * the target: no email domain or identities map is involved.
 */
export const identityIsSlackAccount: Record<ProviderConfig['type'], boolean> = {
  postgres: false,
  mysql: false,
  webhook: false,
  'slack-usergroup': true,
  'github-team': false,
  'aws-sso': false,
  kubernetes: false,
};

/**
 * A provider whose identities would come from email local parts needs the domains they may come
 * from: without them `alice@evil.example` would be login `alice`. A provider that maps every user
 * explicitly (`identities:`) needs none; its unmapped users are refused.
 */
function identityProblems(policy: Policy): string[] {
  return Object.entries(policy.providers).flatMap(([name, provider]) => {
    if (identityIsSlackAccount[provider.type]) return [];
    const own = 'identity' in provider ? provider.identity : undefined;
    const mapped = 'identities' in provider && provider.identities !== undefined;
    if (own || policy.identity || mapped) return [];
    return [
      `providers.${name}.identity.emailDomains: is required (or a top-level identity.emailDomains): ` +
        'identities come from the local part of the Slack email, so say which email domains are yours, ' +
        'or map every user in identities',
    ];
  });
}

/** The identity policy that applies to a provider: its own, else the policy file's default. */
export function identityPolicyFor(policy: Policy, providerName: string) {
  const provider = Object.hasOwn(policy.providers, providerName) ? policy.providers[providerName] : undefined;
  const own = provider && 'identity' in provider ? provider.identity : undefined;
  return own ?? policy.identity;
}

/**
 * Provider types that can count a user's sessions on the target (`activeSessions`), which
 * `recallAfterIdle` needs. Keyed by every provider type, so adding a type means deciding here.
 */
const reportsActivity: Record<ProviderConfig['type'], boolean> = {
  postgres: true,
  mysql: true,
  webhook: false,
  'slack-usergroup': false,
  'github-team': false,
  'aws-sso': false,
  kubernetes: false,
};

/** A resource that should be recalled when idle, on a provider that cannot tell idle from busy. */
export function idleRecallProblems(policy: Policy): string[] {
  return Object.entries(policy.resources).flatMap(([name, resource]) => {
    const provider = policy.providers[resource.provider];
    if (resource.recallAfterIdle === undefined || !provider || reportsActivity[provider.type]) return [];
    return [
      `resources.${name}.recallAfterIdle: provider "${resource.provider}" (type ${provider.type}) ` +
        'cannot tell whether a user still has sessions on the target; remove the key or use a ' +
        'provider that can (postgres, mysql)',
    ];
  });
}

/**
 * Resources whose grant is a login made for the request (PostgreSQL `login: per-request`): its
 * password is picked up from the bot's own page, so the bot needs `JIT_PUBLIC_URL`.
 */
export function perRequestLoginResources(policy: Policy): string[] {
  return Object.entries(policy.resources).flatMap(([name, resource]) => {
    const provider = policy.providers[resource.provider];
    return provider?.type === 'postgres' && resource.grant.login === 'per-request' ? [name] : [];
  });
}

/** Refuses to start a bot whose policy has per-request logins but no page to hand out their passwords. */
export function requirePublicUrl(policy: Policy, publicUrl: string | undefined): void {
  if (publicUrl) return;
  const reauth = Object.entries(policy.resources)
    .filter(([, r]) => r.approverReauth === 'oidc')
    .map(([name]) => name)
    .sort();
  if (reauth.length > 0) {
    throw new ConfigError(
      `JIT_PUBLIC_URL is required: ${reauth.join(', ')} use approverReauth: oidc, whose sign-in ` +
        "starts on the bot's own page and returns to JIT_PUBLIC_URL/oidc/callback",
    );
  }
  const resources = perRequestLoginResources(policy);
  if (resources.length === 0) return;
  throw new ConfigError(
    `JIT_PUBLIC_URL is required: ${resources.join(', ')} use per-request logins, whose password ` +
      "is picked up from the bot's own page at that address",
  );
}

type PathKey = PropertyKey;

function formatPath(path: readonly PathKey[]): string {
  // Keys that would not read as a path (empty, dots, spaces) are quoted.
  const segment = (key: PathKey) =>
    typeof key === 'string' && !/^[A-Za-z0-9_-]+$/.test(key) ? JSON.stringify(key) : String(key);
  return path.length === 0 ? '(top level)' : path.map(segment).join('.');
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: PathKey[] = []): string {
  return issues
    .map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issueMessage(issue)}`)
    .join('; ');
}

/**
 * A bad record key (a resource or provider name) says why, not only "Invalid key in record"; a
 * key left out says "is required", not "expected object, received undefined".
 */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    return issue.issues.map((inner) => inner.message).join(', ');
  }
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return 'is required';
  return issue.message;
}

/** Aliases to anchors never set, or that expand without bound, are YAML errors too. */
function toPlainData(doc: { toJS(options?: { maxAliasCount?: number }): unknown }, source: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(
      `${source} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
