/**
 * Which identity a Slack account has on a provider, or why it has none. Pure: the caller looks
 * the account up (users.info) and the installation's own team (auth.test) and passes them in.
 *
 * An identity is either listed explicitly in the provider's `identities` map, or taken from the
 * local part of the Slack profile email, and the email route is only taken for an email domain
 * the identity policy allows: without that check `alice@evil.example` would become login `alice`.
 * Whatever the route, only a live person of the installation's own workspace has an identity:
 * Slack Connect externals, accounts of other teams, bots and deactivated accounts never do.
 */

/** `identity:` at the top of the policy file or on a provider (the provider's wins). */
export interface IdentityPolicy {
  /** Email domains whose local part may be taken as the identity, lower case. */
  emailDomains: readonly string[];
}

/** What users.info says about an account, as far as identity is concerned. */
export interface AccountFacts {
  id: string;
  email: string | null;
  /** The account's home team; another team's id means a Slack Connect external. */
  teamId: string | null;
  /** Slack's flag for an account from outside the workspace the token belongs to. */
  isStranger: boolean;
  isBot: boolean;
  deleted: boolean;
}

export type IdentityRefusal = 'external' | 'bot' | 'deleted' | 'unmapped' | 'no-email' | 'domain';

export type IdentityResolution =
  | { ok: true; identity: string; via: 'map' | 'email' | 'slack-account' }
  | { ok: false; code: IdentityRefusal; reason: string };

/**
 * Why this account may not act in this workspace at all (request or approve), or null. `homeTeamId`
 * null means the installation's team is not known yet; then only Slack's own flag is checked.
 */
export function accountRefusal(
  account: AccountFacts,
  homeTeamId: string | null,
): { code: 'external' | 'bot' | 'deleted'; reason: string } | null {
  if (account.deleted) return { code: 'deleted', reason: 'This Slack account is deactivated.' };
  if (account.isBot) return { code: 'bot', reason: 'Only people can request or approve access, not bots.' };
  const otherTeam = homeTeamId !== null && account.teamId !== null && account.teamId !== homeTeamId;
  if (account.isStranger || otherTeam) {
    return {
      code: 'external',
      reason:
        'This account belongs to another organization (Slack Connect): only members of this ' +
        'workspace can request or approve access.',
    };
  }
  return null;
}

export interface IdentitySource {
  /** Slack user id → identity, checked first. */
  identities?: Readonly<Record<string, string>> | undefined;
  /** The effective identity policy (the provider's own, else the top-level one). */
  policy?: IdentityPolicy | undefined;
  /** The provider's identity is the Slack account itself (Slack user groups). */
  slackAccount?: boolean;
  /** The provider's name, for messages. */
  providerName: string;
}

export function resolveIdentity(
  account: AccountFacts,
  homeTeamId: string | null,
  source: IdentitySource,
): IdentityResolution {
  const refused = accountRefusal(account, homeTeamId);
  if (refused) return { ok: false, ...refused };
  if (source.slackAccount) return { ok: true, identity: account.id, via: 'slack-account' };
  // hasOwn: a Slack id can never be `constructor`, but a lookup should not find inherited keys.
  const mapped =
    source.identities && Object.hasOwn(source.identities, account.id)
      ? source.identities[account.id]
      : undefined;
  if (mapped) return { ok: true, identity: mapped, via: 'map' };
  const domains = source.policy?.emailDomains ?? [];
  if (domains.length === 0) {
    return {
      ok: false,
      code: 'unmapped',
      reason:
        `You have no ${source.providerName} identity: the provider lists its users explicitly. ` +
        "Ask the security team to add you to the provider's `identities`.",
    };
  }
  const parts = emailParts(account.email);
  if (!parts) {
    return {
      ok: false,
      code: 'no-email',
      reason:
        `Your Slack profile has no email, so there is no ${source.providerName} identity to grant to. ` +
        "Ask the security team to map you in the provider's `identities`.",
    };
  }
  if (!domains.includes(parts.domain)) {
    return {
      ok: false,
      code: 'domain',
      reason:
        `Your Slack email's domain (${parts.domain}) is not one ${source.providerName} takes ` +
        `identities from (${domains.join(', ')}). Ask the security team to map you in its \`identities\`.`,
    };
  }
  return { ok: true, identity: parts.local, via: 'email' };
}

/**
 * Local part in lower case (`Alice.Smith@Corp.example` → `alice.smith`; PostgreSQL folds unquoted
 * names to lower case too) and domain in lower case. An address with a second `@` (quoted local
 * parts) is not taken apart: it is refused rather than guessed at.
 */
function emailParts(email: string | null): { local: string; domain: string } | null {
  if (!email) return null;
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@')) return null;
  const local = email.slice(0, at).toLowerCase();
  const domain = email.slice(at + 1).toLowerCase();
  if (local === '' || domain === '') return null;
  return { local, domain };
}
