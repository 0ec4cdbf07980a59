import type { AccessRequest } from '../generated/prisma/client.js';
import type { GrantTarget, Provider } from '../providers/provider.js';
import type { Deps } from './deps.js';
import { ProviderUnavailable } from './errors.js';

/**
 * The provider that holds a request's access, and what to ask it for. A resource or provider
 * missing from the policy (renamed while grants were active) is reported as unavailable, not as
 * "not found": revocations must keep retrying, and alerting, until the policy is fixed.
 */
export function grantTargetFor(
  deps: Pick<Deps, 'policy' | 'providers'>,
  request: AccessRequest,
  expiresAt: Date,
): { provider: Provider; target: GrantTarget } {
  const resource = deps.policy.resources[request.resource];
  if (!resource) {
    throw new ProviderUnavailable(
      `Resource ${request.resource} of ${request.id} is not in the policy file any more.`,
    );
  }
  const provider = deps.providers.get(resource.provider);
  if (!provider) throw new ProviderUnavailable(`Provider ${resource.provider} is not configured.`);
  return {
    provider,
    target: {
      requestId: request.id,
      identity: request.identity,
      userId: request.requesterId,
      resource: request.resource,
      grant: resource.grant,
      expiresAt,
    },
  };
}
