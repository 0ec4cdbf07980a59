import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { Prisma } from '../generated/prisma/client.js';

/**
 * The audit trail is one hash chain over all events: each row stores the previous row's hash, and
 * its own hash covers that plus the canonical JSON (RFC 8785) of the event, so editing, deleting
 * or reordering any row breaks every link after it.
 */

// canonicalize 2.x is CommonJS (it runs on every Node we support) and its types describe an ES
// default export; imported from ESM, the default is the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export const genesisHash = '0'.repeat(64);

/** Serialises appends across every process sharing the database, so the chain never forks. */
const auditChainLockKey = 0x6a69_7461; // "jita"

export interface AuditInput {
  requestId?: string | null;
  /** Slack user id, or `system` / `hook:<name>` for automatic actions. */
  actor: string;
  /** What happened, e.g. `request.created`, `request.approved`, `approval.refused`. */
  action: string;
  fromState?: string | null;
  toState?: string | null;
  details?: Record<string, unknown>;
}

export interface ChainedFields {
  at: Date;
  requestId: string | null;
  actor: string;
  action: string;
  fromState: string | null;
  toState: string | null;
  details: unknown;
}

export function hashAuditEvent(prevHash: string, event: ChainedFields): string {
  return createHash('sha256').update(prevHash).update(canonicalBody(event)).digest('hex');
}

/** What an event's hash covers after the previous hash: its fields as RFC 8785 JSON. */
function canonicalBody(event: ChainedFields): string {
  const body = canonicalize({
    at: event.at.toISOString(),
    requestId: event.requestId,
    actor: event.actor,
    action: event.action,
    fromState: event.fromState,
    toState: event.toState,
    details: event.details,
  });
  return body ?? '';
}

/**
 * Appends one event inside the caller's transaction. The advisory lock is held until that
 * transaction ends, so the next append (from any process) sees this row as the chain's tail.
 */
export async function appendAuditEvent(
  tx: Prisma.TransactionClient,
  input: AuditInput,
  at: Date,
): Promise<bigint> {
  const [id] = await appendAuditEvents(tx, [input], at);
  return id as bigint;
}

/**
 * Appends several events in order with one lock and one insert: a bulk revocation records a
 * thousand ends without taking the chain's lock a thousand times.
 */
export async function appendAuditEvents(
  tx: Prisma.TransactionClient,
  inputs: readonly AuditInput[],
  at: Date,
): Promise<bigint[]> {
  if (inputs.length === 0) return [];
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${auditChainLockKey})`;
  if (inputs.length === 1) return [await insertOne(tx, fieldsOf(inputs[0] as AuditInput, at))];
  const tail = await tx.auditEvent.findFirst({ orderBy: { id: 'desc' }, select: { hash: true } });
  let prevHash = tail?.hash ?? genesisHash;
  const rows = inputs.map((input) => {
    const fields = fieldsOf(input, at);
    const hash = hashAuditEvent(prevHash, fields);
    const row = { ...fields, details: fields.details as Prisma.InputJsonValue, prevHash, hash };
    prevHash = hash;
    return row;
  });
  // Ids come from one sequence under the lock, in insert order, so the chain reads back in order.
  const created = await tx.auditEvent.createManyAndReturn({ data: rows, select: { id: true, hash: true } });
  const idByHash = new Map(created.map((row) => [row.hash, row.id]));
  return rows.map((row) => idByHash.get(row.hash) as bigint);
}

function fieldsOf(input: AuditInput, at: Date): ChainedFields {
  return {
    at,
    requestId: input.requestId ?? null,
    actor: input.actor,
    action: input.action,
    fromState: input.fromState ?? null,
    toState: input.toState ?? null,
    details: input.details ?? {},
  };
}

/**
 * One event in one statement, the lock already held: PostgreSQL reads the tail and computes the
 * same hash as `hashAuditEvent` (SHA-256 of the previous hash followed by the canonical body, as
 * hex). The statement's snapshot is taken after the lock was granted (by the statement before),
 * so the tail it reads is the latest committed one.
 */
async function insertOne(tx: Prisma.TransactionClient, fields: ChainedFields): Promise<bigint> {
  const body = canonicalBody(fields);
  const [row] = await tx.$queryRaw<{ id: bigint }[]>`
    INSERT INTO "audit_events" ("at", "requestId", "actor", "action", "fromState", "toState", "details", "prevHash", "hash")
    SELECT ${fields.at}, ${fields.requestId}, ${fields.actor}, ${fields.action}, ${fields.fromState},
      ${fields.toState}, ${JSON.stringify(fields.details)}::jsonb, "tail"."hash",
      encode(sha256(convert_to("tail"."hash" || ${body}, 'UTF8')), 'hex')
    FROM (SELECT coalesce((SELECT "hash" FROM "audit_events" ORDER BY "id" DESC LIMIT 1), ${genesisHash}) AS "hash") AS "tail"
    RETURNING "id"`;
  if (!row) throw new Error('the audit event was not inserted');
  return row.id;
}
