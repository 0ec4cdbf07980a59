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
