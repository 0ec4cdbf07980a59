import { identityIsSlackAccount, identityPolicyFor } from '../config/policy.js';
import { accountRefusal, type IdentityResolution, resolveIdentity } from '../domain/identity.js';
import type { Deps, SlackUser } from './deps.js';
import { NotAllowed, ProviderUnavailable } from './errors.js';
import { auditRefusal } from './refusal-audit.js';

/**
 * Identity checks at the edges of a request: who may ask or approve at all, and which identity
 * on the target a Slack account stands for. Every refusal is audited (`identity.refused`), since
 * a Slack Connect external or a foreign email domain asking for production access is exactly
 * what the security team wants to see.
 */

/** The installation's team; without it an external cannot be told apart, so nobody is let in. */
async function homeTeam(deps: Pick<Deps, 'directory'>): Promise<string> {
  const team = await deps.directory.homeTeamId();
  if (team === null) {
    throw new ProviderUnavailable('Slack could not confirm which workspace this is (auth.test). Try again.');
  }
  return team;
}

/** The identity `user` has on the provider of a resource, without auditing anything. */
export async function identityOn(
  deps: Pick<Deps, 'directory' | 'policy'>,
  user: SlackUser,
  providerName: string,
): Promise<IdentityResolution> {
  const provider = Object.hasOwn(deps.policy.providers, providerName)
    ? deps.policy.providers[providerName]
    : undefined;
  return resolveIdentity(user, await homeTeam(deps), {
    providerName,
    identities: provider && 'identities' in provider ? provider.identities : undefined,
    policy: identityPolicyFor(deps.policy, providerName),
    slackAccount: provider ? identityIsSlackAccount[provider.type] : false,
  });
}

/**
 * Refusals that only say the policy file has not caught up with a colleague (no mapping, no email
 * on the profile): the requester is told what to ask for and nothing is written. An external, a
 * bot, a deactivated account or a foreign email domain is audited.
 */
const setupGaps: ReadonlySet<string> = new Set(['unmapped', 'no-email']);

/** The requester's identity on the resource's provider, or `NotAllowed` (audited) saying why not. */
export async function requesterIdentity(
  deps: Deps,
  user: SlackUser,
  request: { resource: string; provider: string },
): Promise<string> {
  const resolved = await identityOn(deps, user, request.provider);
  if (resolved.ok) return resolved.identity;
  if (setupGaps.has(resolved.code)) throw new NotAllowed(resolved.reason);
  await auditIdentityRefusal(deps, user.id, 'request', {
    resource: request.resource,
    code: resolved.code,
    reason: resolved.reason,
  });
  throw new NotAllowed(resolved.reason);
}

/** Refuses (audited) an approver account that may not act here: external, bot, deactivated. */
export async function checkApproverAccount(deps: Deps, user: SlackUser, requestId: string): Promise<void> {
  const refused = accountRefusal(user, await homeTeam(deps));
  if (!refused) return;
  await auditIdentityRefusal(
    deps,
    user.id,
    'approve',
    { code: refused.code, reason: refused.reason },
    requestId,
  );
  throw new NotAllowed(refused.reason);
}

export async function auditIdentityRefusal(
  deps: Deps,
  actorId: string,
  attempted: 'request' | 'approve',
  details: Record<string, string>,
  requestId: string | null = null,
): Promise<void> {
  await auditRefusal(deps, {
    requestId,
    actor: actorId,
    action: 'identity.refused',
    details: { attempted, ...details },
  });
}
