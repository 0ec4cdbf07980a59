/** `scheme://user:password@` anywhere in a text. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi;

/**
 * Database drivers do not echo the connection URL today; make sure no message or stack of a
 * provider error ever carries its password, whatever a driver does tomorrow.
 */
export function withoutPasswords<E extends Error>(error: E): E {
  error.message = error.message.replace(URL_PASSWORD, '$1***@');
  if (error.stack) error.stack = error.stack.replace(URL_PASSWORD, '$1***@');
  return error;
}

/** System error codes of a connection that could not be made or was lost: worth a retry. */
const SYSTEM_CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

export function isSystemConnectionError(error: unknown): boolean {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return code !== undefined && SYSTEM_CONNECTION_CODES.has(code);
}

/**
 * Connections a provider keeps to one target database, opened on demand and closed after 30 s
 * idle. A request's identity check, its grant and its revoke each take one; GRANT and REVOKE
 * wait for the target's commit to be flushed, so two connections (what this was) held every
 * request in line behind those flushes: the lifecycle benchmark ran at 55/s with 2 and at 90/s
 * with 5, the same with 8 or 16 (by then the machine's CPU is the limit).
 */
export const TARGET_POOL_SIZE = 5;
