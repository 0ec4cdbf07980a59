import type { Deps } from './deps.js';

/**
 * Runs the follow-up work of a committed transaction (enqueue jobs). The transaction is the
 * truth: if Redis is unreachable now, the reconcile sweep re-creates what is missing, so a
 * failure here is logged rather than reported to the user as if their action had failed.
 */
export async function afterCommit(
  deps: Pick<Deps, 'logger'>,
  requestId: string,
  steps: ReadonlyArray<() => Promise<void>>,
): Promise<void> {
  const results = await Promise.allSettled(steps.map((step) => step()));
  for (const result of results) {
    if (result.status === 'rejected') {
      deps.logger.error(
        { err: result.reason, requestId },
        'follow-up job could not be enqueued; the sweep will retry',
      );
    }
  }
}
