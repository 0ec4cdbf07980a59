import canonicalizeModule from 'canonicalize';
import { z } from 'zod';
import type { Policy } from '../config/policy.js';
import type { AccessRequest, Prisma } from '../generated/prisma/client.js';
import type { Deps } from './deps.js';
import { lockRequest } from './transition.js';

// canonicalize 2.x is CommonJS; see audit/chain.ts.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * The grant as granted, stored on the request (`grantSnapshot`): which provider (by its name in
 * the policy file, and its type), the provider-specific target (role, user group, team, webhook
 * resource) and what the grant created besides. Taken when the request is made, so approvers
 * approve exactly this; revoke, verify and drift use it, never the policy file as it is now: a
 * resource removed from the policy, or whose role changed, keeps its grants revocable.
 */
export const grantSnapshotSchema = z.object({
  provider: z.string().min(1),
  type: z.string().min(1),
  grant: z.record(z.string(), z.unknown()),
  /** What `Provider.prepare` said the grant would create (merged over every attempt). */
  details: z.record(z.string(), z.unknown()).default({}),
});
export type GrantSnapshot = z.output<typeof grantSnapshotSchema>;

/** What the policy file says now about a resource's grant, or null when it has no such resource. */
export function snapshotFromPolicy(policy: Policy, resourceName: string): GrantSnapshot | null {
  const resource = Object.hasOwn(policy.resources, resourceName) ? policy.resources[resourceName] : undefined;
  if (!resource) return null;
  const provider = Object.hasOwn(policy.providers, resource.provider)
    ? policy.providers[resource.provider]
    : undefined;
  if (!provider) return null;
  return { provider: resource.provider, type: provider.type, grant: resource.grant, details: {} };
}

/**
 * The request's snapshot. A request made before snapshots existed has none: the policy file as
 * it is now is the best there is (the start-up check stores it for active grants).
 */
export function snapshotOf(policy: Policy, request: Pick<AccessRequest, 'grantSnapshot' | 'resource'>) {
  if (request.grantSnapshot !== null && request.grantSnapshot !== undefined) {
    const parsed = grantSnapshotSchema.safeParse(request.grantSnapshot);
    if (parsed.success) return parsed.data;
  }
  return snapshotFromPolicy(policy, request.resource);
}

/** Whether the policy file still describes the same grant (provider, type, target). */
export function sameTarget(a: GrantSnapshot, b: GrantSnapshot): boolean {
  return a.provider === b.provider && a.type === b.type && canonicalize(a.grant) === canonicalize(b.grant);
}

/** How the policy file's grant differs from the snapshot, in words, or null when it does not. */
export function policyChange(policy: Policy, request: Pick<AccessRequest, 'grantSnapshot' | 'resource'>) {
  const stored = snapshotOf(policy, request);
  const current = snapshotFromPolicy(policy, request.resource);
  if (!current) return 'the resource is no longer in the policy file';
  if (!stored) return null;
  if (stored.provider !== current.provider || stored.type !== current.type) {
    return `its provider changed from ${stored.provider} (${stored.type}) to ${current.provider} (${current.type})`;
  }
  if (!sameTarget(stored, current)) {
    return `its grant changed from ${canonicalize(stored.grant)} to ${canonicalize(current.grant)}`;
  }
  return null;
}

/**
 * Writes what a provider's `prepare` says a grant will create into the request's snapshot, merged
 * over earlier attempts, before the provider is called: a crash after the target acted cannot
 * lose what has to be taken back. Null (nothing written) when the request is no longer `state`.
 */
export async function recordPrepared(
  deps: Pick<Deps, 'db' | 'policy'>,
  requestId: string,
  state: 'approved' | 'active',
  created: Record<string, unknown>,
  alsoWrite: (current: AccessRequest) => Prisma.AccessRequestUpdateInput = () => ({}),
): Promise<AccessRequest | null> {
  return deps.db.$transaction(async (tx) => {
    const current = await lockRequest(tx, requestId);
    if (current.state !== state) return null;
    const stored = snapshotOf(deps.policy, current);
    const grantSnapshot = stored ? { ...stored, details: { ...stored.details, ...created } } : null;
    return tx.accessRequest.update({
      where: { id: requestId },
      data: {
        ...(grantSnapshot ? { grantSnapshot: grantSnapshot as Prisma.InputJsonObject } : {}),
        ...alsoWrite(current),
      },
    });
  });
}
