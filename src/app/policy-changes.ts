import { appendAuditEvent } from '../audit/chain.js';
import type { Prisma } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import type { Deps } from './deps.js';
import { policyChange, snapshotFromPolicy } from './grant-snapshot.js';

/** Grants named one by one in the alert; the count covers the rest. */
const LISTED = 25;

/**
 * At start-up: grants that are active (or approved, about to be granted) under a resource the
 * policy file has since changed or dropped. They stay revocable from their snapshots and expire
 * on time; the security channel is told once per start, in one alert, so someone can decide
 * whether to revoke them early. Requests made before snapshots existed get one now, from the
 * policy as it is (the best record there is).
 */
export async function reportGrantsOutsidePolicy(deps: Deps): Promise<number> {
  const live = await deps.db.accessRequest.findMany({
    where: { state: { in: ['active', 'approved'] } },
    select: { id: true, resource: true, identity: true, state: true, grantSnapshot: true },
    orderBy: { createdAt: 'asc' },
  });
  for (const request of live) {
    if (request.grantSnapshot !== null) continue;
    const snapshot = snapshotFromPolicy(deps.policy, request.resource);
    if (!snapshot) continue;
    await deps.db.accessRequest.updateMany({
      where: { id: request.id, grantSnapshot: { equals: null as unknown as Prisma.InputJsonValue } },
      data: { grantSnapshot: snapshot as Prisma.InputJsonObject },
    });
    request.grantSnapshot = snapshot as Prisma.JsonObject;
  }
  const changed = live.flatMap((request) => {
    const change = policyChange(deps.policy, request);
    return change ? [{ id: request.id, resource: request.resource, identity: request.identity, change }] : [];
  });
  if (changed.length === 0) return 0;
  const auditId = await deps.db.$transaction((tx) =>
    appendAuditEvent(
      tx,
      {
        requestId: null,
        actor: 'system',
        action: 'policy.grants_outside_policy',
        details: { count: changed.length, grants: changed.slice(0, LISTED) },
      },
      deps.clock.now(),
    ),
  );
  deps.logger.warn({ count: changed.length }, 'grants under resources the policy file changed or dropped');
  await afterCommit(deps, '-', [() => deps.jobs.postAudit([auditId], { urgent: true })]);
  return changed.length;
}
