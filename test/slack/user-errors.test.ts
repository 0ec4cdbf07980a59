import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { NotAllowed } from '../../src/app/errors.js';
import { Prisma } from '../../src/generated/prisma/client.js';
import { userMessageFor } from '../../src/slack/user-errors.js';

const silent = pino({ level: 'silent' });

function prismaError(code: string, message: string) {
  return new Prisma.PrismaClientKnownRequestError(message, {
    code,
    clientVersion: Prisma.prismaVersion.client,
  });
}

describe('userMessageFor', () => {
  it('tells the user to try again when the database had no connection in time, without a bug reference', () => {
    for (const error of [
      prismaError('P2028', 'Transaction API error: Unable to start a transaction in the given time.'),
      prismaError('P2024', 'Timed out fetching a new connection from the connection pool.'),
    ]) {
      const text = userMessageFor(error, silent);
      expect(text).toContain('very busy');
      expect(text).toContain('nothing was recorded');
      expect(text).not.toContain('ref ');
    }
  });

  it('treats other transaction errors as bugs: a reference, and none of the internals', () => {
    const text = userMessageFor(prismaError('P2028', 'Transaction already closed: internal detail'), silent);
    expect(text).toMatch(/ref [0-9a-z]+/);
    expect(text).not.toContain('internal detail');
  });

  it('shows the message of our own errors', () => {
    expect(userMessageFor(new NotAllowed('You cannot approve your own request.'), silent)).toBe(
      ':no_entry_sign: You cannot approve your own request.',
    );
  });
});
