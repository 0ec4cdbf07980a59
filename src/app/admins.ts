import { isAdmin } from './approvers.js';
import type { Deps } from './deps.js';
import { NotAllowed } from './errors.js';
import { auditRefusal } from './refusal-audit.js';

/**
 * Admin-only actions start here. A refusal is audited (and so reaches the security channel):
 * someone trying to revoke or freeze without the authority is worth knowing about.
 */
export async function requireAdmin(
  deps: Deps,
  actorId: string,
  attempted: string,
  requestId: string | null = null,
): Promise<void> {
  if (await isAdmin(deps, actorId)) return;
  await auditRefusal(deps, { requestId, actor: actorId, action: 'admin.refused', details: { attempted } });
  throw new NotAllowed(`Only the security team (admins in the policy file) can ${attempted.split(' ')[0]}.`);
}

/**
 * Actors that are not Slack users: `system` (expiry, the sweep), `hook:recall`, `hook:github`,
 * `recall:idle`. They reach the use cases only from verified code paths (a signed hook, a job).
 */
export function isSystemActor(actor: string): boolean {
  return !/^[UW][A-Z0-9]+$/.test(actor);
}
