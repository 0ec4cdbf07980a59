import type { AccessRequest } from '../generated/prisma/client.js';
import type { GrantTarget, Provider } from '../providers/provider.js';
import { resourcePolicy } from './approvers.js';
import type { Deps } from './deps.js';
import { NotFound } from './errors.js';

/** The provider that holds a request's access, and what to ask it for. */
export function grantTargetFor(
  deps: Pick<Deps, 'policy' | 'providers'>,
  request: AccessRequest,
  expiresAt: Date,
): { provider: Provider; target: GrantTarget } {
  const resource = resourcePolicy(deps, request.resource);
  const provider = deps.providers.get(resource.provider);
  if (!provider) throw new NotFound(`Provider ${resource.provider} is not configured.`);
  return {
    provider,
    target: { requestId: request.id, identity: request.identity, grant: resource.grant, expiresAt },
  };
}
