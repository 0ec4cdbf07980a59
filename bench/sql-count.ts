import pg from 'pg';

/**
 * Counts the SQL statements this process sends, per database, at the driver: every query of
 * node-postgres' `Client` (Prisma's adapter, the providers' pools and raw pools alike), including
 * BEGIN and COMMIT. The benchmark runs the bot in its own process, so the counts are the bot's.
 */
export interface SqlCounter {
  /** Statements sent to `database` since the counter started or was last reset. */
  count(database: string): number;
  /** The most frequent statement texts (first 100 characters) with their counts. */
  top(n: number): Array<[string, number]>;
  reset(): void;
  stop(): void;
}

/** `keepTexts`: also tally statement texts for `top` (costs the bot's process a regex per statement). */
export function countSql(keepTexts = true): SqlCounter {
  const counts = new Map<string, number>();
  const texts = new Map<string, number>();
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function counted(this: { database?: string }, ...args: unknown[]) {
    const database = this.database ?? '';
    counts.set(database, (counts.get(database) ?? 0) + 1);
    if (keepTexts) {
      const first = args[0] as string | { text?: string } | undefined;
      const text = (typeof first === 'string' ? first : (first?.text ?? ''))
        .replace(/\s+/g, ' ')
        .slice(0, 100);
      texts.set(text, (texts.get(text) ?? 0) + 1);
    }
    return original.apply(this, args);
  };
  return {
    count: (database) => counts.get(database) ?? 0,
    top: (n) => [...texts.entries()].sort((a, b) => b[1] - a[1]).slice(0, n),
    reset: () => {
      counts.clear();
      texts.clear();
    },
    stop: () => {
      proto.query = original;
    },
  };
}
