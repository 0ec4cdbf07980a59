import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { ChainedFields } from './chain.js';
import { auditEventColumns, auditEventPages, type StoredAuditEvent } from './event-pages.js';

/**
 * Reading the trail out: `jit audit export` (every matching event, oldest first, a page at a time)
 * and `/jit audit` (the latest few).
 */

export interface AuditFilter {
  /** Events at or after this instant. */
  since?: Date;
  /** Events by this actor, and every event about a request this user made. */
  user?: string;
  requestId?: string;
  /** Only the events of break-glass grants nobody has reviewed yet. */
  unreviewedBreakGlass?: boolean;
}

export type ExportFormat = 'jsonl' | 'csv';

/** An event as exported: the chained fields plus what links it; `csvColumns` fixes the order. */
export interface ExportedEvent extends Omit<ChainedFields, 'at'> {
  id: string;
  at: string;
  prevHash: string;
  hash: string;
}

type Db = Pick<PrismaClient, 'auditEvent' | 'accessRequest' | 'breakGlassReview'>;

/**
 * A user's events are the ones they did and the ones about their requests (an approval, an
 * expiry, a revoke by the security team). Audit rows do not reference requests by foreign key,
 * so the user's request ids are looked up first; a user has at most thousands.
 */
export async function auditWhere(db: Db, filter: AuditFilter): Promise<Prisma.AuditEventWhereInput> {
  const where: Prisma.AuditEventWhereInput[] = [];
  if (filter.since) where.push({ at: { gte: filter.since } });
  if (filter.requestId) where.push({ requestId: filter.requestId });
  if (filter.unreviewedBreakGlass) where.push({ requestId: { in: await unreviewedBreakGlassIds(db) } });
  if (filter.user) {
    const requests = await db.accessRequest.findMany({
      where: { requesterId: filter.user },
      select: { id: true },
    });
    const requestIds = requests.map((r) => r.id);
    where.push({
      OR: [{ actor: filter.user }, ...(requestIds.length > 0 ? [{ requestId: { in: requestIds } }] : [])],
    });
  }
  return where.length > 0 ? { AND: where } : {};
}

/** Break-glass grants nobody has acknowledged or flagged yet, oldest first. */
export async function unreviewedBreakGlassIds(db: Pick<Db, 'breakGlassReview'>): Promise<string[]> {
  const rows = await db.breakGlassReview.findMany({
    where: { outcome: null },
    select: { requestId: true },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map((row) => row.requestId);
}

export function exportedEvent(row: StoredAuditEvent): ExportedEvent {
  return {
    // A string: ids are 64-bit, and JSON readers would round the large ones.
    id: row.id.toString(),
    at: row.at.toISOString(),
    requestId: row.requestId,
    actor: row.actor,
    action: row.action,
    fromState: row.fromState,
    toState: row.toState,
    details: row.details,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

export const csvColumns: readonly (keyof ExportedEvent)[] = [
  'id',
  'at',
  'requestId',
  'actor',
  'action',
  'fromState',
  'toState',
  'details',
  'prevHash',
  'hash',
];

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled; null is empty. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(event: ExportedEvent): string {
  return csvColumns
    .map((column) => {
      const value = event[column];
      return csvField(column === 'details' ? JSON.stringify(value) : (value as string | null));
    })
    .join(',');
}

export function formatEvent(event: ExportedEvent, format: ExportFormat): string {
  return format === 'csv' ? csvLine(event) : JSON.stringify(event);
}

/**
 * Writes every matching event, oldest first, one line each (after a header line for CSV); returns
 * how many were written. Pages by id, so the export holds one page in memory at a time.
 */
export async function exportAuditEvents(
  db: Db,
  filter: AuditFilter,
  format: ExportFormat,
  write: (line: string) => void,
  options: { pageSize?: number } = {},
): Promise<number> {
  const where = await auditWhere(db, filter);
  let headerDue = format === 'csv';
  let written = 0;
  for await (const page of auditEventPages(db, where, options.pageSize)) {
    // The header only once the database has answered, so a failed export writes nothing.
    if (headerDue) write(csvColumns.join(','));
    headerDue = false;
    for (const row of page) write(formatEvent(exportedEvent(row), format));
    written += page.length;
  }
  return written;
}

/** The latest `limit` matching events, oldest first (as they read in a conversation). */
export async function recentAuditEvents(
  db: Db,
  filter: AuditFilter,
  limit: number,
): Promise<StoredAuditEvent[]> {
  const rows = await db.auditEvent.findMany({
    where: await auditWhere(db, filter),
    orderBy: { id: 'desc' },
    take: limit,
    select: auditEventColumns,
  });
  return rows.reverse();
}
