/**
 * Named (prepared) statements: PostgreSQL parses and plans a named statement once per connection
 * and then only binds and runs it, where an unnamed one is parsed and planned on every call. In
 * the lifecycle benchmark planning was about a quarter of PostgreSQL's time (pg_stat_statements
 * with `track_planning`), for statements that take a fraction of a millisecond to run.
 *
 * PgBouncer in transaction mode hands each transaction a different server connection, where a
 * statement prepared on another is unknown: `?pgbouncer=true` on the URL (the convention Prisma's
 * own engines read) turns naming off for that database.
 */

/** Statements named per process at most; later new texts run unnamed, as before. */
export const MAX_NAMED_STATEMENTS = 256;
/** Statements with more parameters (bulk inserts of many rows) run unnamed: rare, and each size is a new text. */
export const MAX_NAMED_PARAMETERS = 100;

export function behindPgBouncer(databaseUrl: string): boolean {
  try {
    return new URL(databaseUrl).searchParams.get('pgbouncer') === 'true';
  } catch {
    return false;
  }
}

/**
 * A name for each distinct statement text, the same text always the same name, for the Prisma
 * adapter's `statementNameGenerator`; `''` (PostgreSQL's unnamed statement) past the limits.
 * Undefined behind PgBouncer. Our own SQL lists its columns rather than `*`: a column added by a
 * migration while this process runs would change a prepared `*` statement's result type, which
 * PostgreSQL refuses ("cached plan must not change result type").
 */
export function statementNamer(
  databaseUrl: string,
  limits: { statements?: number; parameters?: number } = {},
): ((query: { sql: string; args: readonly unknown[] }) => string) | undefined {
  if (behindPgBouncer(databaseUrl)) return undefined;
  const maxStatements = limits.statements ?? MAX_NAMED_STATEMENTS;
  const maxParameters = limits.parameters ?? MAX_NAMED_PARAMETERS;
  const names = new Map<string, string>();
  return ({ sql, args }) => {
    if (args.length > maxParameters) return '';
    let name = names.get(sql);
    if (name === undefined) {
      if (names.size >= maxStatements) return '';
      name = `jit_${names.size}`;
      names.set(sql, name);
    }
    return name;
  };
}
