import type { Job } from 'bullmq';
import type { NotifyJob } from './queues.js';
import { startWorker, type WorkerSettings } from './workers.js';

export interface NotificationSender {
  send(job: NotifyJob): Promise<void>;
}

/** Sends Slack messages about requests; Slack errors (429, 5xx) are retried with backoff. */
export function startNotifyWorker(sender: NotificationSender, settings: WorkerSettings) {
  return startWorker<NotifyJob>('notify', settings, async (job: Job<NotifyJob>) => {
    const send = () => sender.send(job.data);
    await (settings.revocationsFirst ? settings.revocationsFirst.followUp(send) : send());
  });
}
