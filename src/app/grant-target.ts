import type { AccessRequest } from '../generated/prisma/client.js';
import type { Deps } from './deps.js';
import { ProviderUnavailable } from './errors.js';
import { type GrantSnapshot, snapshotOf } from './grant-snapshot.js';
import type { GrantTarget, Provider } from './provider.js';

/**
 * The provider that holds a request's access, and what to ask it for: from the grant snapshot
 * stored on the request, never from the policy file as it is now. A provider missing from the
 * policy (renamed, removed) or now of another type is reported as unavailable, not as "not
 * found": revocations must keep retrying, and alerting, until the policy is fixed.
 */
export function grantTargetFor(
  deps: Pick<Deps, 'policy' | 'providers'>,
  request: AccessRequest,
  expiresAt: Date,
): { provider: Provider; target: GrantTarget; snapshot: GrantSnapshot } {
  const snapshot = snapshotOf(deps.policy, request);
  if (!snapshot) {
    throw new ProviderUnavailable(
      `${request.id} has no stored grant and resource ${request.resource} is not in the policy file any more.`,
    );
  }
  const provider = deps.providers.get(snapshot.provider);
  if (!provider) {
    throw new ProviderUnavailable(
      `Provider ${snapshot.provider} that holds ${request.id} is not configured any more: add it back so the grant can be taken back.`,
    );
  }
  if (provider.type !== snapshot.type) {
    throw new ProviderUnavailable(
      `Provider ${snapshot.provider} is now of type ${provider.type}, but ${request.id} was granted by a ${snapshot.type} provider.`,
    );
  }
  return {
    provider,
    snapshot,
    target: {
      requestId: request.id,
      identity: request.identity,
      userId: request.requesterId,
      resource: request.resource,
      grant: snapshot.grant,
      details: snapshot.details,
      expiresAt,
    },
  };
}
