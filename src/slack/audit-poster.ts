import type { WebClient } from '@slack/web-api';
import { type Job, Worker } from 'bullmq';
import type { Deps } from '../app/deps.js';
import { shownByCard, urgentAuditActions } from '../audit/urgency.js';
import type { AuditJob } from '../jobs/queues.js';
import { startWorker, type WorkerSettings } from '../jobs/workers.js';
import { auditEventMessage } from './views/audit.js';

/**
 * Posts audit events to the security channel. The row is the truth and `postedAt` records
 * delivery: the job skips events already posted, and the sweep re-enqueues any left unposted
 * (Redis lost, Slack down for longer than the retries).
 *
 * The channel stays readable: each request has one top-level card, kept up to date in place,
 * which shows its routine steps (see `shownByCard`); its other events go into the card's thread,
 * while alerts (a revoke that keeps failing, drift, a freeze, grants outside the policy) and
 * events about no request (hook rejections, refusals of strangers) are top-level, where people
 * see them.
 */

/** The requests' cards in the security channel. */
export interface SecurityThreads {
  /** Where a request's events are threaded: the ts of its card, posted first if need be. */
  securityThread(requestId: string): Promise<string>;
  /** Brings the request's card (and its other messages) up to date, posting the card if need be. */
  refreshNow(requestId: string): Promise<void>;
}

export async function postAuditEvent(
  deps: Pick<Deps, 'db' | 'policy' | 'clock'>,
  client: WebClient,
  eventId: bigint,
  threads?: SecurityThreads,
): Promise<'posted' | 'shown' | 'skipped'> {
  const event = await deps.db.auditEvent.findUnique({ where: { id: eventId } });
  if (!event || event.postedAt) return 'skipped';
  const markPosted = () =>
    deps.db.auditEvent.update({ where: { id: eventId }, data: { postedAt: deps.clock.now() } });
  if (isSummarised(event.details)) {
    // Told in Slack by the bulk revoke's one summary message (`revoke.bulk`).
    await markPosted();
    return 'skipped';
  }
  if (threads && event.requestId !== null && shownByCard(event.action)) {
    // A step the card shows, left unposted by a follow-up that never ran (Redis lost it, or
    // Slack was away for longer than its retries): the sweep brings it here to update the card.
    await threads.refreshNow(event.requestId);
    await markPosted();
    return 'shown';
  }
  const threaded = threads && event.requestId !== null && !urgentAuditActions.has(event.action);
  const thread = threaded ? { thread_ts: await threads.securityThread(event.requestId as string) } : {};
  await client.chat.postMessage({
    channel: deps.policy.securityChannel,
    ...auditEventMessage(event),
    ...thread,
  });
  await markPosted();
  return 'posted';
}

export function startAuditPoster(
  deps: Pick<Deps, 'db' | 'policy' | 'clock'>,
  client: WebClient,
  settings: WorkerSettings,
  threads?: SecurityThreads,
) {
  const worker: Worker<AuditJob> = startWorker<AuditJob>(
    'audit',
    // One at a time, in the order the events happened. The limiter is never reached by count; it
    // is there so that `rateLimit` below holds the whole queue (BullMQ needs one configured).
    { ...settings, concurrency: 1, limiter: { max: 1_000_000, duration: 1_000 } },
    async (job: Job<AuditJob>) => {
      const post = () => postAuditEvent(deps, client, BigInt(job.data.eventId), threads);
      try {
        return await (settings.revocationsFirst ? settings.revocationsFirst.followUp(post) : post());
      } catch (error) {
        // Slack's per-channel rate (about one post a second): hold the queue as long as Slack says
        // and put this job back at its head, without spending an attempt. Nothing was posted, so
        // nothing is doubled, and the channel keeps the order of events (a freeze before its lift).
        const waitSec = retryAfterOf(error);
        if (waitSec === null) throw error;
        await worker.rateLimit(Math.max(1, waitSec * 1000));
        throw Worker.RateLimitError();
      }
    },
  );
  return worker;
}

function isSummarised(details: unknown): boolean {
  return (
    typeof details === 'object' &&
    details !== null &&
    (details as { summarised?: unknown }).summarised === true
  );
}

/** The Retry-After of a rate-limited Web API call (`slack_webapi_rate_limited_error`), else null. */
function retryAfterOf(error: unknown): number | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, retryAfter } = error as { code?: unknown; retryAfter?: unknown };
  if (code !== 'slack_webapi_rate_limited_error' || typeof retryAfter !== 'number') return null;
  return Math.max(0, retryAfter);
}
