import type { Principals, ResourcePolicy } from '../config/policy.js';
import type { ResolvedLevel } from '../domain/policy.js';
import type { Deps } from './deps.js';
import { InvalidInput, NotFound } from './errors.js';

/** Expands users and Slack user groups into one set of user ids. */
export async function resolvePrincipals(
  deps: Pick<Deps, 'directory'>,
  principals: Principals,
): Promise<Set<string>> {
  const groups = await Promise.all(principals.groups.map((g) => deps.directory.groupMembers(g)));
  return new Set([...principals.users, ...groups.flat()]);
}

/**
 * Who may approve each level. `escalated` (a request's `escalatedLevels`): levels not decided in
 * time, whose `escalateTo` approvers may approve as well as `from`.
 */
export async function approvalLevelsFor(
  deps: Pick<Deps, 'directory'>,
  resource: ResourcePolicy,
  escalated: readonly number[] = [],
): Promise<ResolvedLevel[]> {
  return Promise.all(
    resource.approvals.map(async (level, i) => {
      const approvers = await resolvePrincipals(deps, level.from);
      if (level.escalateTo && escalated.includes(i)) {
        for (const id of await resolvePrincipals(deps, level.escalateTo)) approvers.add(id);
      }
      return { approvers, count: level.count };
    }),
  );
}

/** The resource's policy, or `InvalidInput` listing the resources there are. */
export function knownResource(deps: Pick<Deps, 'policy'>, name: string, field?: string): ResourcePolicy {
  const resource = Object.hasOwn(deps.policy.resources, name) ? deps.policy.resources[name] : undefined;
  if (resource) return resource;
  const known = Object.keys(deps.policy.resources).sort().join(', ');
  throw new InvalidInput(`Unknown resource "${name}". Available: ${known}.`, field ? { field } : {});
}

/**
 * For revoking, recalling and freezing: a resource in the policy file, or one that is not any
 * more but still has grants (removed while they were active). Those stay revocable by name.
 */
export async function knownOrHeldResource(deps: Pick<Deps, 'policy' | 'db'>, name: string): Promise<void> {
  if (Object.hasOwn(deps.policy.resources, name)) return;
  const held = await deps.db.accessRequest.count({
    where: { resource: name, state: { in: ['approved', 'active'] } },
  });
  if (held === 0) knownResource(deps, name);
}

export function resourcePolicy(deps: Pick<Deps, 'policy'>, name: string): ResourcePolicy {
  const resource = Object.hasOwn(deps.policy.resources, name) ? deps.policy.resources[name] : undefined;
  if (!resource) throw new NotFound(`Resource ${name} is no longer in the policy file.`);
  return resource;
}

export async function isAdmin(deps: Pick<Deps, 'directory' | 'policy'>, userId: string): Promise<boolean> {
  return (await resolvePrincipals(deps, deps.policy.admins)).has(userId);
}
