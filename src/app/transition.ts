import { type AuditInput, appendAuditEvent, appendAuditSql } from '../audit/chain.js';
import {
  auditActionFor,
  isFinal,
  type LifecycleEvent,
  type RequestState,
  transition,
} from '../domain/lifecycle.js';
import { type AccessRequest, Prisma } from '../generated/prisma/client.js';
import { isSystemActor } from './admins.js';
import { requestColumns } from './columns.js';
import type { Deps } from './deps.js';
import { Conflict, NotFound } from './errors.js';

export type Tx = Prisma.TransactionClient;

/**
 * Locks the request's row for the rest of the transaction. Every state change takes this lock
 * first, so concurrent clicks, retries and workers are applied one after the other.
 */
export async function lockRequest(tx: Tx, requestId: string): Promise<AccessRequest> {
  // One statement: the columns are named as the model's fields, and Prisma types them as it would.
  const [request] = await tx.$queryRaw<AccessRequest[]>`
    SELECT ${requestColumns()} FROM "access_requests" WHERE "id" = ${requestId} FOR UPDATE`;
  if (!request) throw new NotFound(`No request ${requestId}.`);
  return request;
}

export interface TransitionInput {
  event: LifecycleEvent;
  actor: string;
  /** Other columns to set with the new state. */
  data?: Prisma.AccessRequestUpdateInput;
  details?: Record<string, unknown>;
  /** When given, the request must still be at this version (it was read before slow I/O). */
  expectVersion?: number;
}

export interface Transitioned {
  request: AccessRequest;
  auditId: bigint;
}

/**
 * The one way a request changes state: checks the transition table, writes the new state with a
 * version check, and appends the audit event, all in the caller's transaction.
 */
export async function applyTransition(
  deps: Pick<Deps, 'clock' | 'metrics'>,
  tx: Tx,
  current: AccessRequest,
  input: TransitionInput,
): Promise<Transitioned> {
  if (input.expectVersion !== undefined && current.version !== input.expectVersion) {
    throw new StaleVersion(current);
  }
  const step = transition(current.state, input.event);
  if (!step.ok) throw new Conflict(`${current.id}: ${step.reason}.`);
  const owesCleanup = owesCleanupAfter(step, current);
  // The version in the condition makes a concurrent change fail here rather than be overwritten.
  const request = await tx.accessRequest
    .update({
      where: { id: current.id, version: current.version },
      data: {
        ...input.data,
        ...(owesCleanup ? { cleanupNeeded: true } : {}),
        state: step.to,
        version: { increment: 1 },
      },
    })
    .catch((error: unknown) => {
      if (isNotFound(error)) throw new StaleVersion(current);
      throw error;
    });
  const audit: AuditInput = {
    requestId: current.id,
    actor: input.actor,
    action: auditActionFor(step.to),
    fromState: step.from,
    toState: step.to,
    details: input.details ?? {},
  };
  const auditId = await appendAuditEvent(tx, audit, deps.clock.now());
  countTransition(deps, request, input.actor);
  return { request, auditId };
}

/** The columns a one-statement change may set besides the state. */
export type AtOnceData = Partial<
  Pick<
    AccessRequest,
    'grantedAt' | 'expiresAt' | 'endedAt' | 'endReason' | 'decidedAt' | 'decidedBy' | 'cleanupNeeded'
  >
>;
const atOnceColumns: ReadonlySet<string> = new Set([
  'grantedAt',
  'expiresAt',
  'endedAt',
  'endReason',
  'decidedAt',
  'decidedBy',
  'cleanupNeeded',
]);

export interface AtOnceInput {
  event: LifecycleEvent;
  actor: string;
  data?: AtOnceData;
  details?: Record<string, unknown>;
}

/**
 * `applyTransition` as one statement of its own, without a transaction around it: the request
 * moves from `seen` (its state and version, as read) to the next state and its audit event is
 * appended, or neither happens. A request that changed since it was read is not touched
 * (`StaleVersion`, as with `expectVersion`). For the hot path, where a transaction's BEGIN, row
 * lock, separate writes and COMMIT would be five round trips instead of one.
 */
export async function transitionAtOnce(
  deps: Pick<Deps, 'clock' | 'metrics' | 'db'>,
  seen: AccessRequest,
  input: AtOnceInput,
  statement: Pick<AtOnceChange, 'also' | 'onlyIf'> = {},
): Promise<Transitioned> {
  const step = transition(seen.state, input.event);
  if (!step.ok) throw new Conflict(`${seen.id}: ${step.reason}.`);
  const owesCleanup = owesCleanupAfter(step, seen);
  const done = await changeAtOnce(deps, seen, {
    to: step.to,
    data: { ...input.data, ...(owesCleanup ? { cleanupNeeded: true } : {}) },
    audit: { actor: input.actor, action: auditActionFor(step.to), details: input.details ?? {} },
    ...statement,
  });
  countTransition(deps, done.request, input.actor);
  return done;
}

export interface AtOnceChange {
  /** The state the request is in afterwards (its own for a change within a state). */
  to: RequestState;
  data?: AtOnceData;
  audit: Pick<AuditInput, 'actor' | 'action' | 'details'>;
  /**
   * One more common table expression of the same statement, written only with the change, e.g.
   * `"approval" AS (INSERT INTO … SELECT … FROM "moved")`.
   */
  also?: Prisma.Sql;
  /**
   * A further condition of the change, e.g. that no freeze names the actor; when it does not
   * hold, nothing is written and the caller gets `StaleVersion` as if the request had changed.
   */
  onlyIf?: Prisma.Sql;
}

/**
 * One statement: the request at `seen`'s version (and state) takes `change`, its version goes up,
 * and the audit event is appended, all or nothing. `StaleVersion` when the request had changed.
 */
export async function changeAtOnce(
  deps: Pick<Deps, 'clock' | 'db'>,
  seen: AccessRequest,
  change: AtOnceChange,
): Promise<Transitioned> {
  const now = deps.clock.now();
  const columns = Object.entries(change.data ?? {})
    .filter(([column, value]) => atOnceColumns.has(column) && value !== undefined)
    .map(([column, value]) => Prisma.sql`${Prisma.raw(`"${column}"`)} = ${value}`);
  const audit: AuditInput = {
    ...change.audit,
    requestId: seen.id,
    fromState: seen.state,
    toState: change.to,
  };
  const [row] = await deps.db.$queryRaw<Array<AccessRequest & { auditId: bigint }>>`
    WITH "moved" AS (
      UPDATE "access_requests"
      SET ${Prisma.join([...columns, Prisma.sql`"state" = ${change.to}::"RequestState"`], ', ')},
        "version" = "version" + 1, "updatedAt" = ${now}
      WHERE "id" = ${seen.id} AND "version" = ${seen.version} AND "state" = ${seen.state}::"RequestState"
        ${change.onlyIf ? Prisma.sql`AND ${change.onlyIf}` : Prisma.empty}
      RETURNING ${requestColumns()}),
    ${change.also ? Prisma.sql`${change.also},` : Prisma.empty}
    ${appendAuditSql(audit, now, Prisma.sql`EXISTS (SELECT 1 FROM "moved")`)}
    SELECT ${requestColumns('moved')}, (SELECT "id" FROM "event") AS "auditId" FROM "moved"`;
  if (!row) throw new StaleVersion(seen);
  const { auditId, ...request } = row;
  return { request, auditId };
}

/**
 * Counted when written rather than after the commit: every caller commits as soon as this
 * returns, so only a failed commit would count a change that did not happen. Approval latency is
 * how long people take; an approval by a rule (at creation) would only pull it towards zero.
 */
function countTransition(deps: Pick<Deps, 'clock' | 'metrics'>, request: AccessRequest, actor: string): void {
  if (isFinal(request.state)) deps.metrics.requestEnded(request.state);
  if (request.state === 'approved' && !isSystemActor(actor)) {
    const decidedAt = request.decidedAt ?? deps.clock.now();
    deps.metrics.approvalLatency((decidedAt.getTime() - request.createdAt.getTime()) / 1000);
  }
}

/**
 * An approved request that ends while a grant attempt may be landing on the target owes a
 * cleanup revoke; the flag keeps it owed (and the sweep re-creating its job) until it is done.
 */
function owesCleanupAfter(
  step: { from: RequestState; to: RequestState },
  request: Pick<AccessRequest, 'grantStartedAt'>,
): boolean {
  return step.from === 'approved' && isFinal(step.to) && request.grantStartedAt !== null;
}

/** Prisma's "record to update not found". */
function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2025';
}

/** The request changed between reading it and writing it; the caller decides whether to retry. */
export class StaleVersion extends Conflict {
  constructor(readonly seen: AccessRequest) {
    super(`${seen.id} changed while this was in progress.`);
  }
}
