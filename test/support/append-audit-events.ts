/**
 * A separate process appending to the audit chain, for the test that two processes keep one
 * chain: `tsx test/support/append-audit-events.ts <database url> <label> <count>`.
 */
import { appendAuditEvent, appendAuditEvents } from '../../src/audit/chain.js';
import { createPrismaClient } from '../../src/db/client.js';

const [url, label, count] = process.argv.slice(2);
if (!url || !label || !count) throw new Error('usage: append-audit-events <url> <label> <count>');
const db = createPrismaClient(url);
const at = new Date();
const event = (n: number) => ({ actor: label, action: 'test.appended', details: { n } });
await Promise.all(
  Array.from({ length: Number(count) }, (_, n) =>
    n % 5 === 0
      ? db.$transaction((tx) => appendAuditEvents(tx, [event(n), event(n + 0.5)], at))
      : db.$transaction((tx) => appendAuditEvent(tx, event(n), at)),
  ),
);
await db.$disconnect();
