import type { AccessRequest } from '../generated/prisma/client.js';
import type { Deps } from './deps.js';
import { grantTargetFor } from './grant-target.js';

/**
 * After an extension: providers that enforce the expiry on the target itself (a per-request
 * login's VALID UNTIL) move it to the new end. Failing here fails safe — the target stops the
 * access at the old end, earlier than the bot would — so it is logged, not retried.
 */
export async function moveExpiryOnTarget(deps: Deps, request: AccessRequest): Promise<void> {
  if (!request.expiresAt) return;
  try {
    const { provider, target } = grantTargetFor(deps, request, request.expiresAt);
    await provider.extend?.(target);
  } catch (err) {
    deps.logger.warn(
      { err, requestId: request.id },
      'could not move the expiry on the target; it ends the access at the old end',
    );
  }
}
