import type { IncomingMessage, ServerResponse } from 'node:http';

/** Decoding Web API requests the way Slack does, and the small HTTP plumbing around it. */

/** Arguments the client sends as JSON strings inside a form body. */
const JSON_ARGS = ['blocks', 'view', 'attachments', 'metadata'];

export interface DecodedArgs {
  args: Record<string, unknown>;
  token: string | undefined;
  problem?: string;
}

/** Query string plus form or JSON body; the token from the header, or a form/query field. */
export function decodeArgs(req: IncomingMessage, url: URL, raw: string): DecodedArgs {
  const args: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  let problem: string | undefined;
  if (raw !== '') {
    if (contentType === 'application/x-www-form-urlencoded') {
      Object.assign(args, Object.fromEntries(new URLSearchParams(raw)));
    } else if (contentType === 'application/json') {
      // Slack ignores a token inside a JSON body: it must come in the Authorization header.
      const body = parseJsonObject(raw);
      if (body === undefined) problem = 'invalid_json';
      else Object.assign(args, { ...body, token: undefined });
    } else {
      problem = contentType ? 'invalid_post_type' : 'missing_post_type';
    }
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const fieldToken = typeof args.token === 'string' ? args.token : undefined;
  delete args.token;
  for (const key of JSON_ARGS) {
    const value = args[key];
    if (typeof value !== 'string') continue;
    try {
      args[key] = JSON.parse(value);
    } catch {
      // Left as the raw string: the method answers with Slack's error for malformed JSON.
    }
  }
  return { args, token: bearer ?? fieldToken, ...(problem ? { problem } : {}) };
}

export function parseJsonObject(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function isJson(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim() === 'application/json';
}

export function describeEntries(
  entries: Array<[string, { ok: boolean; error?: string; messages?: string[] }]>,
): string {
  if (entries.length === 0) return 'nothing';
  return entries
    .slice(-30)
    .map(([name, e]) => {
      const outcome = e.ok ? 'ok' : `${e.error}${e.messages ? ` ${e.messages.join(' ')}` : ''}`;
      return `${name} (${outcome})`;
    })
    .join(', ');
}

export function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (!res.headersSent) res.writeHead(status, { 'content-type': type });
  res.end(body);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
