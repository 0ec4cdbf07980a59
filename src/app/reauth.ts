import { type ApprovalResult, approveRequest } from './approve.js';
import { hashToken, newLinkToken, withSlash } from './credentials.js';
import type { ApproverLogin, Deps, LoginClaims } from './deps.js';
import { AppError, InvalidInput, NotAllowed, NotFound } from './errors.js';
import { approveExtension, type ExtensionApprovalResult } from './extension-decisions.js';
import type { ExtensionNotices } from './extension-record.js';
import { auditRefusal } from './refusal-audit.js';

/**
 * Approver re-authentication (`approverReauth: oidc` on a resource): a click on Approve does not
 * approve; it gets a one-time link to the bot's own page, where the approver signs in at the
 * company's OpenID Connect provider. Only a sign-in that is fresh (`maxAge`), strong enough
 * (`acrValues`, `requireAmr`) and whose email is the Slack approver's makes the approval, which
 * then goes through `approveRequest` like any other and carries the sign-in on its audit event.
 * A stolen Slack session alone cannot approve.
 */

/** Thrown by `approveRequest` for an approval that needs the sign-in first. */
export class ReauthRequired extends AppError {
  /** `extensionId`: the approval asked for is of this extension of the grant. */
  constructor(
    readonly requestId: string,
    readonly extensionId: string | null = null,
  ) {
    super(`${extensionId ?? requestId} needs you to sign in again before your approval counts.`);
  }
}

/** A link or callback that does not work (any more): unknown, used, expired, or decided. */
export class ReauthGone extends NotFound {}

/** What an approval made after a sign-in records about it. */
export interface ReauthProof {
  issuer: string;
  subject: string;
  authTime: string;
  acr: string | null;
  amr: readonly string[];
}

/** How long a link works: long enough to sign in, short enough not to linger in a DM. */
const linkLifetimeMs = 10 * 60 * 1000;
/** The sign-in's clock may run a little ahead of ours. */
const clockSkewSec = 30;

export function callbackUrl(publicUrl: string): string {
  return new URL('oidc/callback', withSlash(publicUrl)).toString();
}

/** The link for one approver and request (an ephemeral answer to their click). */
export async function startReauth(
  deps: Deps,
  requestId: string,
  approverId: string,
  extensionId: string | null = null,
): Promise<{ url: string; expiresAt: Date }> {
  const publicUrl = requireLogin(deps).publicUrl;
  const token = newLinkToken(deps);
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + linkLifetimeMs);
  await deps.db.approvalReauth.create({
    data: { tokenHash: hashToken(token), requestId, approverId, extensionId, createdAt: now, expiresAt },
  });
  return { url: new URL(`approve/${token}`, withSlash(publicUrl)).toString(), expiresAt };
}

async function liveReauth(deps: Deps, where: { tokenHash: string } | { stateHash: string }) {
  const row = await deps.db.approvalReauth.findFirst({ where, include: { request: true, extension: true } });
  if (!row || row.usedAt || row.expiresAt <= deps.clock.now()) {
    throw new ReauthGone(
      'This sign-in link has been used or has expired. Press Approve again for a new one.',
    );
  }
  const waiting = row.extension ? row.extension.state === 'pending' : row.request.state === 'pending';
  if (!waiting)
    throw new ReauthGone(`${row.extensionId ?? row.requestId} is no longer waiting for approval.`);
  return row;
}

/** What the page shows before the sign-in starts (GET: link previews must not start one). */
export async function peekReauth(deps: Deps, token: string): Promise<{ subject: string; resource: string }> {
  const row = await liveReauth(deps, { tokenHash: hashToken(token) });
  const subject = row.extensionId ? `the extension ${row.extensionId} of ${row.requestId}` : row.requestId;
  return { subject, resource: row.request.resource };
}

/** What a sign-in approved: the request (`approveRequest`'s result) or an extension of it. */
export type SignedInApproval =
  | { kind: 'request'; result: ApprovalResult }
  | { kind: 'extension'; result: ExtensionApprovalResult };

/**
 * Starts the sign-in (the page's button, a POST): a fresh state, nonce and PKCE verifier for the
 * row, and where to send the browser. `state` also goes into a cookie, so the callback must come
 * back to the browser that started it.
 */
export async function beginSignIn(deps: Deps, token: string): Promise<{ redirectTo: URL; state: string }> {
  const row = await liveReauth(deps, { tokenHash: hashToken(token) });
  const { login, publicUrl } = requireLogin(deps);
  const state = newLinkToken(deps);
  const nonce = newLinkToken(deps);
  const codeVerifier = newLinkToken(deps);
  await deps.db.approvalReauth.update({
    where: { tokenHash: row.tokenHash },
    data: { stateHash: hashToken(state), nonce, codeVerifier },
  });
  const redirectTo = await login.authorizationUrl({
    redirectUri: callbackUrl(publicUrl),
    state,
    nonce,
    codeVerifier,
  });
  return { redirectTo, state };
}

/**
 * The provider's redirect back. The row is used up first (a replayed callback finds it used),
 * then the code is redeemed and the sign-in checked against the Slack approver; a sign-in that
 * does not qualify is audited and approves nothing.
 */
export async function completeSignIn(
  deps: Deps,
  notices: ExtensionNotices,
  url: URL,
  cookieState: string | null,
): Promise<SignedInApproval> {
  const state = url.searchParams.get('state');
  if (!state) throw new ReauthGone('The sign-in came back without its state.');
  const row = await liveReauth(deps, { stateHash: hashToken(state) });
  if (cookieState !== state) {
    throw new ReauthGone('The sign-in came back to a different browser than the one that started it.');
  }
  const { count } = await deps.db.approvalReauth.updateMany({
    where: { tokenHash: row.tokenHash, usedAt: null },
    data: { usedAt: deps.clock.now() },
  });
  if (count !== 1) throw new ReauthGone('This sign-in has already been used.');
  if (!row.nonce || !row.codeVerifier) throw new ReauthGone('The sign-in was not started from this link.');

  const claims = await requireLogin(deps).login.finish(url, {
    state,
    nonce: row.nonce,
    codeVerifier: row.codeVerifier,
  });
  const problem = await disqualified(deps, row.approverId, claims);
  if (problem) {
    await auditRefusal(deps, {
      requestId: row.requestId,
      actor: row.approverId,
      action: 'approval.reauth_failed',
      fromState: 'pending',
      toState: 'pending',
      details: { reason: problem, issuer: claims.issuer, subject: claims.subject },
    });
    throw new NotAllowed(`Your approval was not counted: ${problem}.`);
  }
  const proof: ReauthProof = {
    issuer: claims.issuer,
    subject: claims.subject,
    authTime: new Date((claims.authTime as number) * 1000).toISOString(),
    acr: claims.acr,
    amr: claims.amr,
  };
  if (row.extensionId) {
    return {
      kind: 'extension',
      result: await approveExtension(deps, notices, row.extensionId, row.approverId, proof),
    };
  }
  return { kind: 'request', result: await approveRequest(deps, row.requestId, row.approverId, proof) };
}

/** Why a sign-in does not count as the approver's, or null when it does. */
async function disqualified(deps: Deps, approverId: string, claims: LoginClaims): Promise<string | null> {
  const oidc = deps.policy.oidc;
  if (!oidc) return 'the bot has no oidc: set up';
  const approver = await deps.directory.user(approverId);
  const expected = approver.email?.toLowerCase() ?? null;
  if (!expected) return 'your Slack account has no email to match the sign-in against';
  if (claims.email?.toLowerCase() !== expected) {
    return `the sign-in was not yours (it was ${claims.email ?? 'an account without an email'}, you are ${expected} in Slack)`;
  }
  if (claims.authTime === null) return 'the provider did not say when you signed in';
  const age = deps.clock.now().getTime() / 1000 - claims.authTime;
  if (age > oidc.maxAge + clockSkewSec) {
    return `the sign-in was not fresh (${Math.round(age)} s old; at most ${oidc.maxAge} s): sign in again`;
  }
  if (oidc.acrValues && !(claims.acr && oidc.acrValues.includes(claims.acr))) {
    return `the sign-in was not strong enough (acr ${claims.acr ?? 'none'}; needed one of ${oidc.acrValues.join(', ')})`;
  }
  const missing = (oidc.requireAmr ?? []).filter((method) => !claims.amr.includes(method));
  if (missing.length > 0)
    return `the sign-in did not use ${missing.join(', ')} (amr: ${claims.amr.join(', ') || 'none'})`;
  return null;
}

/** The sign-in and the page it returns to, or why this bot cannot ask for one. */
function requireLogin(deps: Deps): { login: ApproverLogin; publicUrl: string } {
  if (!deps.approverLogin || !deps.publicUrl) {
    throw new InvalidInput('The bot has no JIT_PUBLIC_URL or oidc: set up, so it cannot ask for a sign-in.');
  }
  return { login: deps.approverLogin, publicUrl: deps.publicUrl };
}
