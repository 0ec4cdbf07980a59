import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { Prisma } from '../generated/prisma/client.js';

/**
 * The audit trail is one hash chain over all events: each row stores the previous row's hash, and
 * its own hash covers that plus the canonical JSON (RFC 8785) of the event, so editing, deleting
 * or reordering any row breaks every link after it.
 */

// canonicalize 2.x is CommonJS (it runs on every Node we support) and its types describe an ES
// default export; imported from ESM, the default is the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

export const genesisHash = '0'.repeat(64);

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
 * Appends one event inside the caller's transaction, in one statement. The chain's head row stays
 * locked until that transaction ends, so the next append (from any process) chains onto this one.
 */
export async function appendAuditEvent(
  tx: Prisma.TransactionClient,
  input: AuditInput,
  at: Date,
): Promise<bigint> {
  return insertOne(tx, input, at);
}

/**
 * Appends several events in order under one lock of the head and one insert: a bulk revocation
 * records a thousand ends without taking the chain's lock a thousand times.
 */
export async function appendAuditEvents(
  tx: Prisma.TransactionClient,
  inputs: readonly AuditInput[],
  at: Date,
): Promise<bigint[]> {
  if (inputs.length === 0) return [];
  if (inputs.length === 1) return [await insertOne(tx, inputs[0] as AuditInput, at)];
  // FOR UPDATE waits for any append in progress and then reads the head as it committed.
  const [head] = await tx.$queryRaw<{ hash: string }[]>`
    SELECT "hash" FROM "audit_chain_head" WHERE "id" = 1 FOR UPDATE`;
  if (!head) throw new Error('the audit chain has no head row (migrations not applied?)');
  let prevHash = head.hash;
  const rows = inputs.map((input) => {
    const fields = fieldsOf(input, at);
    const hash = hashAuditEvent(prevHash, fields);
    const row = { ...fields, details: fields.details as Prisma.InputJsonValue, prevHash, hash };
    prevHash = hash;
    return row;
  });
  // Ids come from one sequence under the lock, in insert order, so the chain reads back in order.
  const created = await tx.auditEvent.createManyAndReturn({ data: rows, select: { id: true, hash: true } });
  const last = rows[rows.length - 1] as (typeof rows)[number];
  await tx.auditChainHead.update({ where: { id: 1 }, data: { hash: last.hash, prevHash: last.prevHash } });
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
 * The two common table expressions that append one event: `"head"` moves the chain's head row on
 * to the event's hash, which PostgreSQL computes as `hashAuditEvent` does (SHA-256 of the previous
 * hash followed by the canonical body, as hex), and `"event"` inserts the event with both hashes
 * and returns its id. Only when `onlyIf` holds (e.g. the statement's own change happened).
 *
 * An append waiting for the head's lock is applied to the head as the one before it committed it
 * (READ COMMITTED re-reads a row it waited for, and the SET reads that row), so two appends can
 * never chain onto the same event; the event's id is drawn after the lock, so ids follow the chain.
 */
export function appendAuditSql(
  input: AuditInput,
  at: Date,
  onlyIf: Prisma.Sql = Prisma.sql`TRUE`,
): Prisma.Sql {
  const fields = fieldsOf(input, at);
  const body = canonicalBody(fields);
  return Prisma.sql`
    "head" AS (
      UPDATE "audit_chain_head"
      SET "prevHash" = "hash", "hash" = encode(sha256(convert_to("hash" || ${body}, 'UTF8')), 'hex')
      WHERE "id" = 1 AND ${onlyIf}
      RETURNING "prevHash", "hash"),
    "event" AS (
      INSERT INTO "audit_events" ("at", "requestId", "actor", "action", "fromState", "toState", "details", "prevHash", "hash")
      SELECT ${fields.at}, ${fields.requestId}, ${fields.actor}, ${fields.action}, ${fields.fromState},
        ${fields.toState}, ${JSON.stringify(fields.details)}::jsonb, "head"."prevHash", "head"."hash"
      FROM "head"
      RETURNING "id")`;
}

/** One event in one statement (see `appendAuditSql`). */
async function insertOne(tx: Prisma.TransactionClient, input: AuditInput, at: Date): Promise<bigint> {
  const [row] = await tx.$queryRaw<
    { id: bigint }[]
  >`WITH ${appendAuditSql(input, at)} SELECT "id" FROM "event"`;
  if (!row) throw new Error('the audit event was not inserted (no chain head row: migrations not applied?)');
  return row.id;
}
