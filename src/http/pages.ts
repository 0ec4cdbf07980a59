import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';

/**
 * The bot's own small HTML pages (the credential page, the approver's sign-in): never cached,
 * never framed, no referrer, nothing but inline style.
 */

export function page(
  res: ServerResponse,
  status: number,
  title: string,
  body: string[],
  options: { formAction?: string; headers?: Record<string, string> } = {},
): void {
  res.writeHead(status, {
    ...options.headers,
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${options.formAction ? ` ${options.formAction}` : ''}; frame-ancestors 'none'`,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">` +
      `<meta name="viewport" content="width=device-width"><title>jit-bot: ${title}</title>` +
      '<style>body{font:16px system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}' +
      'code{font-size:1.1em;background:#eee;padding:.1em .3em;user-select:all}dt{font-weight:bold}</style>' +
      `</head><body><h1>${title}</h1>${body.join('')}</body></html>`,
  );
}

export const paragraph = (html: string) => `<p>${html}</p>`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What `newLinkToken` puts in a link: 43 base64url characters. */
const linkTokenSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

/** The link token in the route's `:token`, or null when it is not one the bot makes. */
export function linkToken(req: IncomingMessage): string | null {
  const parsed = linkTokenSchema.safeParse(
    (req as IncomingMessage & { params?: Record<string, string> }).params?.token,
  );
  return parsed.success ? parsed.data : null;
}
