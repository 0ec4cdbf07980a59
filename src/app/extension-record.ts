import { z } from 'zod';
import { appendAuditEvents } from '../audit/chain.js';
import type { ApprovalRecord, ResolvedLevel } from '../domain/policy.js';
import type { AccessRequest, Extension, Prisma } from '../generated/prisma/client.js';
import type { Deps } from './deps.js';
import { Conflict, NotFound } from './errors.js';
import type { ReauthProof } from './reauth.js';
import { StaleVersion, type Tx } from './transition.js';

/**
 * What the extension use cases share: the extension's own small state machine (pending, then
 * approved, denied or cancelled, with a version check), applying an approved extension to its
 * grant, and the approval levels an extension was sent to.
 */

export type ExtensionState = 'pending' | 'approved' | 'denied' | 'timed_out' | 'cancelled';

/** An extension with its grant, and why the policy wanted people to decide it (if it did). */
export interface ExtensionSubject {
  extension: Extension;
  request: AccessRequest;
  reasons: readonly string[];
}

/** How the people concerned hear about an extension; the Slack layer implements it. */
export interface ExtensionNotices {
  /** DMs these approvers the extension, with Approve / Deny. */
  askApprovers(subject: ExtensionSubject, approverIds: readonly string[]): Promise<void>;
  /** DMs the requester how it was decided (approved: the new end; denied: by whom and why). */
  tellRequester(subject: ExtensionSubject): Promise<void>;
}

/**
 * The resource's levels as the extension needs them: the ones the policy named keep their
 * approvers and counts, the others need nobody. Indices stay those of the policy file, so an
 * approval's `level` means the same for requests and extensions.
 */
export function extensionLevels(all: readonly ResolvedLevel[], required: readonly number[]): ResolvedLevel[] {
  // An approval with no level named would wait for nobody forever: then every level decides.
  if (required.length === 0) return [...all];
  const named = new Set(required);
  return all.map((level, i) => (named.has(i) ? level : { approvers: new Set<string>(), count: 0 }));
}

/**
 * Who to ask now that `level` waits: its approvers, except the requester, those who already
 * approved, and those an earlier level already asked (their message's buttons still work).
 */
export function waitingApprovers(
  levels: readonly ResolvedLevel[],
  approvals: readonly ApprovalRecord[],
  level: number,
  requesterId: string,
): string[] {
  const approved = new Set(approvals.map((a) => a.approverId));
  const askedBefore = new Set(levels.slice(0, level).flatMap((l) => [...l.approvers]));
  return [...(levels[level]?.approvers ?? [])].filter(
    (id) => id !== requesterId && !approved.has(id) && !askedBefore.has(id),
  );
}

/** Moves a pending extension to `state`, if nobody else has decided it meanwhile. */
export async function settleExtension(
  tx: Tx,
  extension: Extension,
  state: Exclude<ExtensionState, 'pending'>,
  data: Omit<Prisma.ExtensionUpdateManyMutationInput, 'state' | 'version'>,
): Promise<Extension> {
  const { count } = await tx.extension.updateMany({
    where: { id: extension.id, version: extension.version, state: 'pending' },
    data: { ...data, state, version: { increment: 1 } },
  });
  if (count !== 1) throw new Conflict(`${extension.id} was decided by someone else meanwhile.`);
  return tx.extension.findUniqueOrThrow({ where: { id: extension.id } });
}

/** Who approved an extension: the rule that auto-approved it, or the people of its levels. */
export type ExtensionApprover =
  | { actor: string; rule: string }
  /** `reauth`: the sign-in that made the last approval count (`approverReauth: oidc`). */
  | { actor: string; approvers: string[]; reauth?: ReauthProof };

/**
 * Moves the grant's end by the extension's time and marks the extension approved, in the
 * caller's transaction, which holds the grant's row lock. Not a state change of the request
 * (it stays active), but the version bump tells a revoke or expiry in flight to look again.
 */
export async function applyExtension(
  deps: Pick<Deps, 'clock'>,
  tx: Tx,
  request: AccessRequest,
  extension: Extension,
  by: ExtensionApprover,
): Promise<{ request: AccessRequest; extension: Extension; auditIds: bigint[] }> {
  const now = deps.clock.now();
  const expiresAt = new Date((request.expiresAt as Date).getTime() + extension.extraSec * 1000);
  const { count } = await tx.accessRequest.updateMany({
    where: { id: request.id, version: request.version, state: 'active' },
    data: { expiresAt, version: { increment: 1 } },
  });
  if (count !== 1) throw new StaleVersion(request);
  const approved = await settleExtension(tx, extension, 'approved', {
    decidedAt: now,
    // As for requests: the person whose approval completed it, or the policy.
    decidedBy: by.actor,
    ...('rule' in by ? { decisionRule: by.rule } : {}),
  });
  const who = 'rule' in by ? { rule: by.rule } : { approvers: by.approvers };
  const common = { extensionId: extension.id, extraSec: extension.extraSec, ...who };
  const auditIds = await appendAuditEvents(
    tx,
    [
      {
        requestId: request.id,
        actor: by.actor,
        action: 'extension.approved',
        details: { ...common, ...('reauth' in by && by.reauth ? { reauth: by.reauth } : {}) },
      },
      {
        requestId: request.id,
        actor: by.actor,
        action: 'request.extended',
        fromState: 'active',
        toState: 'active',
        details: { ...common, expiresAt: expiresAt.toISOString() },
      },
    ],
    now,
  );
  const extended = await tx.accessRequest.findUniqueOrThrow({ where: { id: request.id } });
  return { request: extended, extension: approved, auditIds };
}

/** Takes the extension's row lock; the caller holds its grant's lock already (always in that order). */
export async function lockExtension(tx: Tx, extensionId: string): Promise<Extension> {
  await tx.$executeRaw`SELECT 1 FROM "extensions" WHERE "id" = ${extensionId} FOR UPDATE`;
  const extension = await tx.extension.findUnique({ where: { id: extensionId } });
  if (!extension) throw new NotFound(`No extension ${extensionId}.`);
  return extension;
}

const planSchema = z.object({
  extensionId: z.string(),
  levels: z.array(z.number().int().min(0)).default([]),
  reasons: z.array(z.string()).default([]),
});

/** What the policy decided when the extension was asked for, as its `extension.created` event recorded it. */
export async function recordedPlan(
  deps: Pick<Deps, 'db'>,
  extension: Extension,
): Promise<{ levels: number[]; reasons: string[] }> {
  const events = await deps.db.auditEvent.findMany({
    where: { requestId: extension.requestId, action: 'extension.created' },
    select: { details: true },
    orderBy: { id: 'desc' },
  });
  for (const event of events) {
    const plan = planSchema.safeParse(event.details);
    if (plan.success && plan.data.extensionId === extension.id) return plan.data;
  }
  return { levels: [], reasons: [] };
}

/** The extension, its grant and the policy's reasons, for rendering. */
export async function findExtension(deps: Pick<Deps, 'db'>, extensionId: string): Promise<ExtensionSubject> {
  const found = await deps.db.extension.findUnique({
    where: { id: extensionId },
    include: { request: true },
  });
  if (!found) throw new NotFound(`No extension ${extensionId}.`);
  const { request, ...extension } = found;
  const { reasons } = await recordedPlan(deps, extension);
  return { extension, request, reasons };
}
