import { appendAuditEvent } from '../audit/chain.js';
import { type FreezeScope, type FrozenSubject, scopesCovering, storedScope } from '../domain/freeze.js';
import { checkReason } from '../domain/policy.js';
import { type Freeze, Prisma } from '../generated/prisma/client.js';
import { requireAdmin } from './admins.js';
import { afterCommit } from './after-commit.js';
import { knownResource } from './approvers.js';
import { recordDenial } from './deny.js';
import type { Deps } from './deps.js';
import { Conflict, checked } from './errors.js';
import { type GrantScope, grantsOf, type RevokeSummary, revokeGrants, scopeFilter } from './revoke.js';

/**
 * `/jit freeze` and `/jit unfreeze`. A freeze is a row, so it holds across restarts and
 * replicas: new requests in its scope are denied (`requestAccess`), approved ones are not granted
 * (`grantAccess`), and the sweep revokes any grant in scope that a crash left behind.
 */

export interface FreezeResult {
  freeze: Freeze;
  /** False when the same scope was already frozen; its grants are swept again all the same. */
  created: boolean;
  /** Pending requests in scope, denied. */
  denied: string[];
  revocation: RevokeSummary;
}

export async function freeze(
  deps: Deps,
  input: { actorId: string; scope: FreezeScope; reason: string },
): Promise<FreezeResult> {
  await requireAdmin(deps, input.actorId, `freeze ${describeScope(input.scope)}`);
  return applyFreeze(deps, input);
}

/**
 * The freeze itself, for callers that have checked the actor's authority: `/jit freeze` (an
 * admin) and a break-glass reviewer's flag under `breakGlass.freezeOnFlag`.
 */
export async function applyFreeze(
  deps: Deps,
  input: { actorId: string; scope: FreezeScope; reason: string },
): Promise<FreezeResult> {
  const reason = checked(checkReason(input.reason), 'reason');
  checkResource(deps, input.scope);
  const stored = storedScope(input.scope);

  const created = await deps.db
    .$transaction(async (tx) => {
      const row = await tx.freeze.create({ data: { ...stored, reason, createdBy: input.actorId } });
      const auditId = await appendAuditEvent(
        tx,
        { actor: input.actorId, action: 'freeze.created', details: { ...stored, reason } },
        deps.clock.now(),
      );
      return { row, auditId };
    })
    .catch((error: unknown) => {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return null;
      throw error;
    });
  if (created) await afterCommit(deps, '-', [() => deps.jobs.postAudit([created.auditId], { urgent: true })]);
  const standing = created?.row ?? (await standingFreeze(deps, input.scope));
  if (!standing) throw new Conflict('The freeze was lifted while it was being created; try again.');

  const denied = await denyPendingIn(deps, input.scope, standing);
  const revocation = await revokeGrants(deps, await grantsOf(deps, subjectOf(input.scope)), {
    actorId: input.actorId,
    reason: frozenReason(standing),
  });
  deps.logger.warn(
    { scope: stored, revoked: revocation.revoked.length, retrying: revocation.retrying.length },
    'freeze applied',
  );
  return { freeze: standing, created: created !== null, denied, revocation };
}

export async function unfreeze(deps: Deps, input: { actorId: string; scope: FreezeScope }): Promise<Freeze> {
  await requireAdmin(deps, input.actorId, `unfreeze ${describeScope(input.scope)}`);
  const stored = storedScope(input.scope);
  const lifted = await deps.db.$transaction(async (tx) => {
    const standing = await tx.freeze.findFirst({ where: { ...stored, liftedAt: null } });
    if (!standing) return null;
    const row = await tx.freeze.update({
      where: { id: standing.id },
      data: { liftedAt: deps.clock.now(), liftedBy: input.actorId },
    });
    const auditId = await appendAuditEvent(
      tx,
      { actor: input.actorId, action: 'freeze.lifted', details: { ...stored, reason: standing.reason } },
      deps.clock.now(),
    );
    return { row, auditId };
  });
  if (!lifted) throw new Conflict(`${describeScope(input.scope)} is not frozen; nothing to lift.`);
  await afterCommit(deps, '-', [() => deps.jobs.postAudit([lifted.auditId], { urgent: true })]);
  return lifted.row;
}

/** The standing freezes that cover a request for `resource` by `requesterId`, oldest first. */
export async function freezesCovering(deps: Pick<Deps, 'db'>, subject: FrozenSubject): Promise<Freeze[]> {
  return deps.db.freeze.findMany({
    where: { liftedAt: null, OR: scopesCovering(subject) },
    orderBy: { createdAt: 'asc' },
  });
}

/**
 * `freezesCovering` as a condition of a statement that writes only when no standing freeze
 * covers the subject (the request's creation, a grant's start).
 */
export function noFreezeCoversSql(subject: FrozenSubject): Prisma.Sql {
  const covering = scopesCovering(subject).map(({ scope, target }) => Prisma.sql`(${scope}, ${target})`);
  return Prisma.sql`NOT EXISTS (
    SELECT 1 FROM "freezes"
    WHERE "liftedAt" IS NULL AND ("scope", "target") IN (${Prisma.join(covering, ', ')}))`;
}

/** The standing freeze that names this user, if any: it keeps them from approving too. */
export async function freezeNaming(deps: Pick<Deps, 'db'>, userId: string): Promise<Freeze | null> {
  return deps.db.freeze.findFirst({
    where: { liftedAt: null, scope: 'user', target: userId },
    orderBy: { createdAt: 'asc' },
  });
}

/** `freezeNaming` as a condition of a statement that writes only when no freeze names the user. */
export function noFreezeNamesSql(userId: string): Prisma.Sql {
  return Prisma.sql`NOT EXISTS (
    SELECT 1 FROM "freezes" WHERE "liftedAt" IS NULL AND "scope" = 'user' AND "target" = ${userId})`;
}

/** The requests a stored freeze covers, as a query filter. */
export function freezeFilter(stored: { scope: string; target: string }): {
  requesterId?: string;
  resource?: string;
} {
  if (stored.scope === 'user') return { requesterId: stored.target };
  if (stored.scope === 'resource') return { resource: stored.target };
  return {};
}

export async function standingFreezes(deps: Pick<Deps, 'db'>): Promise<Freeze[]> {
  return deps.db.freeze.findMany({ where: { liftedAt: null }, orderBy: { createdAt: 'asc' } });
}

/** What a requester or the audit trail is told: who froze what, and why. */
export function frozenReason(freeze: Pick<Freeze, 'scope' | 'target' | 'reason'>): string {
  return `Frozen (${describeStored(freeze)}) by the security team: ${freeze.reason}`;
}

export function describeScope(scope: FreezeScope): string {
  return describeStored(storedScope(scope));
}

function describeStored(stored: { scope: string; target: string }): string {
  if (stored.scope === 'all') return 'all access';
  if (stored.scope === 'user') return `user ${stored.target}`;
  return stored.target;
}

async function standingFreeze(deps: Deps, scope: FreezeScope): Promise<Freeze | null> {
  return deps.db.freeze.findFirst({ where: { ...storedScope(scope), liftedAt: null } });
}

function checkResource(deps: Deps, scope: FreezeScope): void {
  if (scope.scope === 'resource') knownResource(deps, scope.resource);
}

function subjectOf(scope: FreezeScope): GrantScope {
  if (scope.scope === 'user') return { kind: 'user' as const, userId: scope.userId };
  if (scope.scope === 'resource') return { kind: 'resource' as const, resource: scope.resource };
  return { kind: 'all' as const };
}

async function denyPendingIn(deps: Deps, scope: FreezeScope, standing: Freeze): Promise<string[]> {
  const pending = await deps.db.accessRequest.findMany({
    where: { ...scopeFilter(subjectOf(scope)), state: 'pending' },
    select: { id: true },
  });
  const denied: string[] = [];
  for (const { id } of pending) {
    try {
      await recordDenial(deps, id, {
        actorId: standing.createdBy,
        reason: frozenReason(standing),
        rule: 'freeze',
      });
      denied.push(id);
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
    }
  }
  return denied;
}
