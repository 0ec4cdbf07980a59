import { parseArgs } from 'node:util';
import { z } from 'zod';
import { exportAuditEvents, unreviewedBreakGlassIds } from '../audit/export.js';
import { describeVerification, verifyAuditChain } from '../audit/verify.js';
import { envSchema } from '../config/env.js';
import { createPrismaClient, type PrismaClient } from '../db/client.js';
import type { CliCommand, CliIo } from './io.js';

/**
 * `jit audit verify` and `jit audit export`, run by the security team against the bot's database.
 * Exit codes: 0 done (verify: every link intact), 1 verify found a broken link, 2 the command
 * could not run (bad arguments, DATABASE_URL missing or bad, database unreachable), so a cron job
 * can tell tampering from an outage.
 */

const cannotRun = 2;

const isoDateTime = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function isCalendarDate(day: string): boolean {
  const date = new Date(`${day}T00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}

const exportOptionsSchema = z.object({
  since: z
    .string()
    .regex(isoDateTime, 'must be an ISO date or date-time, e.g. 2026-11-01 or 2026-11-01T08:00Z')
    // JavaScript rolls 2026-02-30 over into March; a date that does not exist is refused instead.
    .refine((text) => isCalendarDate(text.slice(0, 10)), 'is not a valid date')
    // A date-time without an offset is UTC, so an export does not depend on the machine's zone.
    .transform(
      (text) => new Date(text.includes('T') && !/(Z|[+-]\d{2}:\d{2})$/.test(text) ? `${text}Z` : text),
    )
    .refine((date) => !Number.isNaN(date.getTime()), 'is not a valid date-time')
    .optional(),
  user: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be a Slack user id like U0123ABCD, or an actor like hook:recall')
    .optional(),
  format: z.enum(['jsonl', 'csv'], { error: 'must be jsonl or csv' }).default('jsonl'),
  unreviewed: z.boolean().default(false),
});

function databaseUrl(io: CliIo): string {
  const parsed = envSchema.shape.DATABASE_URL.safeParse(io.env.DATABASE_URL || undefined);
  if (!parsed.success) throw new Error(`DATABASE_URL ${parsed.error.issues[0]?.message ?? 'is required'}`);
  return parsed.data;
}

function parseOptions(args: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']) {
  return parseArgs({ args, options: options ?? {}, strict: true, allowPositionals: false }).values;
}

/** Prisma's messages quote the calling source first; the cause is the last line. */
function lastLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .at(-1) ?? 'failed'
  );
}

/**
 * A command body with a database client; every failure to run is one line on stderr and exit 2.
 * Connection errors name the host and the user, never the password in DATABASE_URL.
 */
function auditCommand(
  verb: string,
  help: string,
  body: (args: string[], io: CliIo, db: () => PrismaClient) => Promise<number>,
): CliCommand {
  return async (args, io) => {
    if (args.includes('--help') || args.includes('-h')) {
      io.out(help);
      return 0;
    }
    let db: PrismaClient | undefined;
    try {
      return await body(args, io, () => {
        db ??= createPrismaClient(databaseUrl(io));
        return db;
      });
    } catch (error) {
      io.err(`jit audit ${verb}: ${lastLine(error)}`);
      return cannotRun;
    } finally {
      await db?.$disconnect();
    }
  };
}

const verifyHelp = [
  'usage: jit audit verify',
  '',
  'Reads the audit chain from DATABASE_URL in id order and names the first event that was edited',
  'or no longer links to the one before it. Exit 0 intact (prints the count, newest id and hash),',
  '1 broken, 2 could not run.',
].join('\n');

const exportHelp = [
  'usage: jit audit export [--since 2026-11-01] [--user U0123ABCD] [--unreviewed] [--format jsonl|csv]',
  '',
  'Writes the audit events from DATABASE_URL to stdout, oldest first.',
  '  --since <date>    from this ISO date or date-time on (UTC when it has no offset)',
  '  --user <id>       events by this user or actor, and events about their requests',
  '  --unreviewed      only the events of break-glass grants nobody has reviewed yet',
  '  --format <f>      jsonl (default) or csv',
  '',
  'Break-glass grants nobody has reviewed are named on stderr after every export.',
].join('\n');

const verify = auditCommand('verify', verifyHelp, async (args, io, db) => {
  parseOptions(args, {});
  const result = await verifyAuditChain(db());
  io.out(describeVerification(result));
  return result.ok ? 0 : 1;
});

const exportEvents = auditCommand('export', exportHelp, async (args, io, db) => {
  const values = parseOptions(args, {
    since: { type: 'string' },
    user: { type: 'string' },
    format: { type: 'string' },
    unreviewed: { type: 'boolean' },
  });
  const parsed = exportOptionsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`--${String(issue?.path[0] ?? 'option')} ${issue?.message ?? 'is invalid'}`);
  }
  const { format, since, user, unreviewed } = parsed.data;
  const filter = { ...(since ? { since } : {}), ...(user ? { user } : {}), unreviewedBreakGlass: unreviewed };
  await exportAuditEvents(db(), filter, format, (line) => io.out(line));
  const open = await unreviewedBreakGlassIds(db());
  if (open.length > 0) {
    const named = open.slice(0, 20).join(', ') + (open.length > 20 ? ` and ${open.length - 20} more` : '');
    io.err(
      `warning: ${open.length} break-glass grant${open.length === 1 ? ' is' : 's are'} not reviewed: ${named}`,
    );
  }
  return 0;
});

export const auditCommands: Record<string, CliCommand> = { verify, export: exportEvents };
