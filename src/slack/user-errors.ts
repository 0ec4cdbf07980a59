import type { Logger } from 'pino';
import {
  AppError,
  Conflict,
  InvalidInput,
  NotAllowed,
  NotFound,
  ProviderUnavailable,
} from '../app/errors.js';
import { Prisma } from '../generated/prisma/client.js';

/**
 * The one place where failures become what a Slack user reads. Our typed errors carry messages
 * written for users; anything else is a bug: it is logged with a reference the user can quote,
 * and its text (which may contain internals) is never shown.
 */
export function userMessageFor(error: unknown, logger: Logger): string {
  if (error instanceof InvalidInput) return `:warning: ${error.message}`;
  if (error instanceof NotAllowed) return `:no_entry_sign: ${error.message}`;
  if (error instanceof NotFound) return `:mag: ${error.message}`;
  if (error instanceof Conflict) return `:information_source: ${error.message}`;
  if (error instanceof ProviderUnavailable) {
    return ':hourglass: The target system is not answering right now; this will be retried automatically.';
  }
  if (error instanceof AppError) return error.message;
  if (isOverloaded(error)) {
    logger.warn({ err: error }, 'no database connection in time; the user was asked to try again');
    return ':hourglass: jit-bot is very busy right now and did not get to this; nothing was recorded. Please try again in a minute.';
  }
  const ref = Math.random().toString(36).slice(2, 8);
  logger.error({ err: error, ref }, 'unexpected error in a Slack handler');
  return `:boom: Something went wrong on our side (ref ${ref}). Please try again; if it persists, tell the security team.`;
}

/**
 * The database pool had no connection for this within the transaction's `maxWait`: a burst the
 * bot could not absorb. The transaction never started, so nothing was written.
 */
function isOverloaded(error: unknown): boolean {
  return (
    error instanceof Prisma.PrismaClientKnownRequestError &&
    (error.code === 'P2024' ||
      (error.code === 'P2028' && error.message.includes('Unable to start a transaction')))
  );
}
