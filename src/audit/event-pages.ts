import type { Prisma, PrismaClient } from '../generated/prisma/client.js';

/** Every stored column of an audit event: its id, the chained fields and both hashes. */
export const auditEventColumns = {
  id: true,
  at: true,
  requestId: true,
  actor: true,
  action: true,
  fromState: true,
  toState: true,
  details: true,
  prevHash: true,
  hash: true,
} as const;

export type StoredAuditEvent = Prisma.AuditEventGetPayload<{ select: typeof auditEventColumns }>;

/**
 * The events matching `where` in id order, one page at a time, so a reader of millions of events
 * holds one page in memory. The first page comes even when it is empty; the last is the first one
 * shorter than `pageSize`.
 */
export async function* auditEventPages(
  db: Pick<PrismaClient, 'auditEvent'>,
  where: Prisma.AuditEventWhereInput,
  pageSize = 1000,
): AsyncGenerator<StoredAuditEvent[]> {
  let after: bigint | null = null;
  for (;;) {
    const page: StoredAuditEvent[] = await db.auditEvent.findMany({
      where: after === null ? where : { AND: [where, { id: { gt: after } }] },
      orderBy: { id: 'asc' },
      take: pageSize,
      select: auditEventColumns,
    });
    yield page;
    const tail = page.at(-1);
    if (!tail || page.length < pageSize) return;
    after = tail.id;
  }
}
