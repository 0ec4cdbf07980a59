import type { WebClient } from '@slack/web-api';
import type { Job } from 'bullmq';
import type { Deps } from '../app/deps.js';
import type { AuditJob } from '../jobs/queues.js';
import { startWorker, type WorkerSettings } from '../jobs/workers.js';
import { auditEventMessage } from '../slack/views/audit.js';

/**
 * Posts audit events to the security channel. The row is the truth and `postedAt` records
 * delivery: the job skips events already posted, and the sweep re-enqueues any left unposted
 * (Redis lost, Slack down for longer than the retries).
 */
export async function postAuditEvent(
  deps: Pick<Deps, 'db' | 'policy' | 'clock'>,
  client: WebClient,
  eventId: bigint,
): Promise<'posted' | 'skipped'> {
  const event = await deps.db.auditEvent.findUnique({ where: { id: eventId } });
  if (!event || event.postedAt) return 'skipped';
  await client.chat.postMessage({ channel: deps.policy.securityChannel, ...auditEventMessage(event) });
  await deps.db.auditEvent.update({ where: { id: eventId }, data: { postedAt: deps.clock.now() } });
  return 'posted';
}

export function startAuditPoster(
  deps: Pick<Deps, 'db' | 'policy' | 'clock'>,
  client: WebClient,
  settings: WorkerSettings,
) {
  return startWorker<AuditJob>('audit', { ...settings, concurrency: 1 }, async (job: Job<AuditJob>) => {
    const post = () => postAuditEvent(deps, client, BigInt(job.data.eventId));
    return settings.revocationsFirst ? settings.revocationsFirst.followUp(post) : post();
  });
}
