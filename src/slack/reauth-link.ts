import type { Logger } from 'pino';
import type { Deps } from '../app/deps.js';
import { type ReauthRequired, startReauth } from '../app/reauth.js';
import { userMessageFor } from './user-errors.js';
import { code, slackDate } from './views/text.js';

/**
 * What an approver is told when their approval needs a fresh sign-in (`approverReauth: oidc`):
 * a one-time link to the bot's page, for them alone (the answer is ephemeral or on their Home).
 */
export async function reauthText(
  deps: Deps,
  needed: ReauthRequired,
  approverId: string,
  log: Logger,
): Promise<string> {
  try {
    const link = await startReauth(deps, needed.requestId, approverId, needed.extensionId);
    return (
      `:closed_lock_with_key: ${code(needed.extensionId ?? needed.requestId)} needs you to sign in again before your approval counts. ` +
      `<${link.url}|Sign in and approve> (works once, until ${slackDate(link.expiresAt)}).`
    );
  } catch (error) {
    return userMessageFor(error, log);
  }
}
