import type { IncomingMessage, ServerResponse } from 'node:http';

/** A route as Bolt's receivers take it (`customRoutes`), in both HTTP and Socket Mode. */
export interface Route {
  path: string;
  method: string | string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
