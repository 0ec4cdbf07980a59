import { appendAuditEvents } from '../../src/audit/chain.js';
import type { Harness } from './harness.js';

/**
 * `count` audit events about no request (`action`, details `{ n }`), appended to the bot's
 * chain and handed to its poster as routine posts: a backlog for the security channel.
 */
export async function postRoutineEvents(h: Harness, action: string, count: number): Promise<bigint[]> {
  const at = new Date();
  const ids = await h.db.prisma.$transaction((tx) =>
    appendAuditEvents(
      tx,
      Array.from({ length: count }, (_, n) => ({ actor: 'system', action, details: { n } })),
      at,
    ),
  );
  await h.bot.deps.jobs.postAudit(ids);
  return ids;
}
