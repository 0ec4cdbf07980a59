import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deps } from '../app/deps.js';
import { AppError, NotAllowed } from '../app/errors.js';
import type { ExtensionNotices } from '../app/extension-record.js';
import {
  beginSignIn,
  callbackUrl,
  completeSignIn,
  peekReauth,
  ReauthGone,
  type SignedInApproval,
} from '../app/reauth.js';
import { escapeHtml, linkToken, page, paragraph } from './pages.js';
import type { Route } from './routes.js';

/**
 * The approver's sign-in (`approverReauth: oidc`): `GET /approve/:token` shows a button (link
 * previews must not start anything), its POST sends the browser to the OpenID Connect provider
 * with a cookie holding the sign-in's state, and `GET /oidc/callback` is where it comes back:
 * the approval is made there, or refused with the reason.
 */

const stateCookie = 'jit_reauth_state';

/** `getNotices`: how an extension approved here tells its approvers and requester (Slack). */
export function approverReauthRoutes(getDeps: () => Deps, getNotices: () => ExtensionNotices): Route[] {
  return [
    {
      path: '/approve/:token',
      method: ['GET', 'POST'],
      handler: (req, res) => approvePage(getDeps(), req, res),
    },
    {
      path: '/oidc/callback',
      method: 'GET',
      handler: (req, res) => callback(getDeps(), getNotices, req, res),
    },
  ];
}

async function approvePage(deps: Deps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.resume();
  const token = linkToken(req);
  if (token === null)
    return page(res, 404, 'Link not found', [paragraph('This is not a link the bot made.')]);
  try {
    if (req.method === 'GET') {
      const reauth = await peekReauth(deps, token);
      return page(
        res,
        200,
        'Sign in to approve',
        [
          paragraph(
            `Your approval of ${escapeHtml(reauth.subject)} (${escapeHtml(reauth.resource)}) counts once you have ` +
              'signed in again with your company account.',
          ),
          '<form method="post"><button type="submit">Sign in and approve</button></form>',
        ],
        { formAction: issuerOrigin(deps) },
      );
    }
    const { redirectTo, state } = await beginSignIn(deps, token);
    res.writeHead(303, {
      location: redirectTo.toString(),
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      // Lax: the provider's redirect back is a top-level GET, which carries it.
      'set-cookie': stateCookieHeader(deps, state, 600),
    });
    res.end();
  } catch (error) {
    failurePage(deps, res, error);
  }
}

async function callback(
  deps: Deps,
  getNotices: () => ExtensionNotices,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  req.resume();
  const clear = { 'set-cookie': stateCookieHeader(deps, '', 0) };
  try {
    if (!deps.publicUrl) throw new ReauthGone('The bot has no JIT_PUBLIC_URL.');
    // The URL the provider redirected to, as registered: the bot may be behind a proxy.
    const url = new URL(callbackUrl(deps.publicUrl));
    url.search = new URL(req.url ?? '/', 'http://callback').search;
    const error = url.searchParams.get('error');
    if (error) {
      throw new NotAllowed(
        `The sign-in did not complete (${url.searchParams.get('error_description') ?? error}).`,
      );
    }
    const signedIn = await completeSignIn(deps, getNotices(), url, cookieValue(req, stateCookie));
    const text = approvedText(signedIn);
    return page(res, 200, 'Approved', [paragraph(`${escapeHtml(text)} You can close this page.`)], {
      headers: clear,
    });
  } catch (error) {
    failurePage(deps, res, error, clear);
  }
}

function approvedText(signedIn: SignedInApproval): string {
  if (signedIn.kind === 'extension') {
    const { result } = signedIn;
    return result.outcome === 'extended'
      ? `You approved ${result.subject.extension.id}; ${result.subject.request.id} now ends ${result.subject.request.expiresAt?.toISOString() ?? 'later'}.`
      : `You approved ${result.subject.extension.id}; it waits for the next level.`;
  }
  const { result } = signedIn;
  return result.outcome === 'approved'
    ? `You approved ${result.request.id}. Access is being granted.`
    : `You approved ${result.request.id}; your approval counts for level ${result.level + 1}, and the request waits for the next level.`;
}

function failurePage(
  deps: Deps,
  res: ServerResponse,
  error: unknown,
  headers?: Record<string, string>,
): void {
  const options = headers ? { headers } : {};
  if (error instanceof ReauthGone) {
    page(res, 410, 'Link used up', [paragraph(escapeHtml(error.message))], options);
  } else if (error instanceof AppError) {
    page(res, 403, 'Not approved', [paragraph(escapeHtml(error.message))], options);
  } else {
    deps.logger.warn({ err: error }, 'approver sign-in failed');
    const text = 'The sign-in could not be checked; nothing was approved. Press Approve again.';
    page(res, 502, 'Sign-in failed', [paragraph(text)], options);
  }
}

/**
 * The sign-in's state, for the callback only: its path as the browser sees it (the bot may be
 * served under a prefix of JIT_PUBLIC_URL), Secure when that is https.
 */
function stateCookieHeader(deps: Deps, value: string, maxAgeSec: number): string {
  const publicUrl = deps.publicUrl ?? 'http://localhost/';
  const path = new URL(callbackUrl(publicUrl)).pathname;
  const secure = publicUrl.startsWith('https://') ? '; Secure' : '';
  return `${stateCookie}=${value}; Path=${path}; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSec}${secure}`;
}

function issuerOrigin(deps: Deps): string {
  const issuer = deps.policy.oidc?.issuer;
  return issuer ? new URL(issuer).origin : '';
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=') || null;
  }
  return null;
}
