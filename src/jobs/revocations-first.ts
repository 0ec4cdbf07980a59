/**
 * Revocations first. The bot's workers share one event loop and one database pool, so a burst of
 * follow-up work (DMs, card updates, audit posts: three or four Slack calls and several queries
 * for every grant that ends) would take both from the revocations that caused it, and grants
 * falling due together would be taken back late. While a revocation is running in this process,
 * follow-up jobs therefore go `trickle` at a time: they keep moving, so none is starved, but they
 * cannot crowd the revocations out. The reconcile sweep waits its turn the same way before each
 * chunk of its job lookups.
 *
 * Measured with `npm run bench -- expiry` (10,000 grants due within a minute, 2 cores): see
 * bench/README.md.
 */
export interface RevocationsFirst {
  /** Runs `work` as a revocation. */
  urgent<T>(work: () => Promise<T>): Promise<T>;
  /** Runs `work` at once when no revocation is running, else when one of the trickle slots is free. */
  followUp<T>(work: () => Promise<T>): Promise<T>;
  /** Revocations running now. */
  running(): number;
}

/** Follow-up jobs let through at once while revocations run. */
export const DEFAULT_FOLLOW_UP_TRICKLE = 2;

export function createRevocationsFirst(trickle = DEFAULT_FOLLOW_UP_TRICKLE): RevocationsFirst {
  let running = 0;
  let inSlots = 0;
  const waiting: Array<() => void> = [];

  /** Lets waiting follow-ups through: all of them when no revocation runs, else up to the free slots. */
  const admit = () => {
    while (waiting.length > 0 && (running === 0 || inSlots < trickle)) {
      const next = waiting.shift() as () => void;
      inSlots += 1; // taken now, before the next one is considered
      next();
    }
  };

  return {
    async urgent(work) {
      running += 1;
      try {
        return await work();
      } finally {
        running -= 1;
        admit();
      }
    },
    async followUp(work) {
      if (running === 0 && waiting.length === 0) return work();
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        admit();
      });
      try {
        return await work();
      } finally {
        inSlots -= 1;
        admit();
      }
    },
    running: () => running,
  };
}
