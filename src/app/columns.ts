import { Prisma } from '../generated/prisma/client.js';

/** The lists made so far, by model and prefix. */
const built = new Map<Record<string, string>, Map<string, Prisma.Sql>>();

/**
 * A model's columns named one by one, for raw SQL that would otherwise say `*`: the bot's
 * statements are prepared once per connection (src/db/statement-names.ts), and PostgreSQL refuses
 * to run a prepared `*` whose table gained a column since ("cached plan must not change result
 * type"), which a migration of the next release does while this one still runs.
 */
function columnsOf(fields: Record<string, string>, table?: string): Prisma.Sql {
  // Built once per model and prefix: the hot path's statements ask for them on every call.
  const byPrefix = built.get(fields) ?? new Map<string, Prisma.Sql>();
  built.set(fields, byPrefix);
  const prefix = table === undefined ? '' : `"${table}".`;
  let columns = byPrefix.get(prefix);
  if (columns === undefined) {
    columns = Prisma.raw(
      Object.values(fields)
        .map((field) => `${prefix}"${field}"`)
        .join(', '),
    );
    byPrefix.set(prefix, columns);
  }
  return columns;
}

/** Every column of `access_requests`, as `AccessRequest` has them; `of` prefixes a table or CTE name. */
export function requestColumns(of?: string): Prisma.Sql {
  return columnsOf(Prisma.AccessRequestScalarFieldEnum, of);
}

/** Every column of `slack_messages`, as `SlackMessage` has them. */
export function slackMessageColumns(of?: string): Prisma.Sql {
  return columnsOf(Prisma.SlackMessageScalarFieldEnum, of);
}
