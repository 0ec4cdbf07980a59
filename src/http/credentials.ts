import type { IncomingMessage, ServerResponse } from 'node:http';
import { PickupGone, peekPickup, redeemPickup } from '../app/credentials.js';
import type { Deps } from '../app/deps.js';
import { AppError, ProviderUnavailable } from '../app/errors.js';
import { escapeHtml, linkToken, page, paragraph } from './pages.js';
import type { Route } from './routes.js';

/**
 * `GET` and `POST /credentials/:token`: the page a one-time link from Slack opens. GET only shows
 * a button (link previews and scanners fetch links; they must not use one up); POST sets a fresh
 * password on the target and shows it once. Never cached, never framed, no referrer.
 */

export function credentialRoutes(getDeps: () => Deps): Route[] {
  return [
    {
      path: '/credentials/:token',
      method: ['GET', 'POST'],
      handler: (req, res) => handle(getDeps(), req, res),
    },
  ];
}

async function handle(deps: Deps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const token = linkToken(req);
  // Nothing is read from the body: the token in the path is all there is.
  req.resume();
  if (token === null)
    return page(res, 404, 'Link not found', [paragraph('This is not a link the bot made.')]);
  try {
    if (req.method === 'GET') {
      const pickup = await peekPickup(deps, token);
      return page(res, 200, 'Get your password', [
        paragraph(
          `This shows a fresh password for your grant ${escapeHtml(pickup.requestId)}, once. ` +
            'Any password shown for it before stops working.',
        ),
        '<form method="post"><button type="submit">Show my password</button></form>',
      ]);
    }
    const issued = await redeemPickup(deps, token);
    return page(res, 200, 'Your password', [
      paragraph(`For grant ${escapeHtml(issued.requestId)}. Copy it now: this page cannot be shown again.`),
      `<dl><dt>Login</dt><dd><code>${escapeHtml(issued.login)}</code></dd>` +
        `<dt>Password</dt><dd><code>${escapeHtml(issued.password)}</code></dd>` +
        `<dt>Valid until</dt><dd>${escapeHtml(issued.validUntil.toISOString())}</dd></dl>`,
      paragraph(
        'The database itself refuses this login after that time. Never paste the password into Slack.',
      ),
    ]);
  } catch (error) {
    if (error instanceof PickupGone)
      return page(res, 410, 'Link used up', [paragraph(escapeHtml(error.message))]);
    if (error instanceof ProviderUnavailable) {
      deps.logger.warn({ err: error }, 'credential page: target unavailable');
      return page(res, 503, 'Try again shortly', [
        paragraph('The database cannot be reached right now. The link still works for a few minutes.'),
      ]);
    }
    deps.logger.error({ err: error }, 'credential page failed');
    const message =
      error instanceof AppError ? escapeHtml(error.message) : 'Something went wrong; nothing was changed.';
    return page(res, 500, 'Could not show a password', [paragraph(message)]);
  }
}
