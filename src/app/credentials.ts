import { createHash } from 'node:crypto';
import { appendAuditEvent } from '../audit/chain.js';
import { describeState } from '../domain/lifecycle.js';
import type { AccessRequest } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import type { Deps } from './deps.js';
import { Conflict, InvalidInput, NotAllowed, NotFound } from './errors.js';
import { grantTargetFor } from './grant-target.js';
import type { IssuedCredential } from './provider.js';

/**
 * Credentials for grants that are a login made for the request (PostgreSQL `login: per-request`).
 * A password never goes through Slack: the requester presses a button on their grant message and
 * gets, privately, a one-time link to the bot's own page (`JIT_PUBLIC_URL/credentials/<token>`),
 * valid for a few minutes; opening it and confirming sets a fresh password on the target and shows
 * it once. Only the token's SHA-256 is stored. A link someone else used first says so to the
 * requester, and every issue is audited, so a leaked link cannot be used unnoticed.
 */

/** How long a link works once made (and never past the grant's end). */
export const pickupLifetimeMs = 10 * 60_000;

/** The login the request's grant is made to, when it is a login of its own; null otherwise. */
export function perRequestLoginOf(
  deps: Pick<Deps, 'policy' | 'providers'>,
  request: AccessRequest,
): string | null {
  try {
    const { provider, target } = grantTargetFor(deps, request, request.expiresAt ?? new Date(0));
    return provider.loginFor?.(target) ?? null;
  } catch {
    // No provider for it any more: nothing to pick up either.
    return null;
  }
}

export interface Pickup {
  url: string;
  login: string;
  expiresAt: Date;
}

/** Makes a one-time link for the requester of an active grant whose login was made for it. */
export async function createPickup(deps: Deps, requestId: string, userId: string): Promise<Pickup> {
  const request = await deps.db.accessRequest.findUnique({ where: { id: requestId } });
  if (!request) throw new NotFound(`No request ${requestId}.`);
  if (request.requesterId !== userId) {
    throw new NotAllowed(`Only the requester of ${requestId} can get its password.`);
  }
  if (request.state !== 'active' || !request.expiresAt) {
    throw new Conflict(`${requestId} is ${describeState(request.state)}: there is no password to get.`);
  }
  const login = perRequestLoginOf(deps, request);
  if (!login) throw new InvalidInput(`${requestId} uses your own login: it has no password of its own.`);
  if (!deps.publicUrl) {
    throw new InvalidInput('The bot has no JIT_PUBLIC_URL, so it has no page to show a password on.');
  }
  const token = newLinkToken(deps);
  const now = deps.clock.now();
  const expiresAt = new Date(Math.min(now.getTime() + pickupLifetimeMs, request.expiresAt.getTime()));
  await deps.db.credentialPickup.create({
    data: { tokenHash: hashToken(token), requestId, userId, expiresAt, createdAt: now },
  });
  return { url: new URL(`credentials/${token}`, withSlash(deps.publicUrl)).toString(), login, expiresAt };
}

/** A link that does not work (any more): unknown, used, expired, or its grant has ended. */
export class PickupGone extends NotFound {}

/** What the page says before anything is issued: the link still works, for this request. */
export async function peekPickup(deps: Deps, token: string): Promise<{ requestId: string; expiresAt: Date }> {
  const pickup = await deps.db.credentialPickup.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!pickup || pickup.usedAt || pickup.expiresAt <= deps.clock.now()) throw gone(pickup);
  return { requestId: pickup.requestId, expiresAt: pickup.expiresAt };
}

/**
 * Uses the link: claims it (one caller wins, however many press at once), sets a fresh password
 * on the target and audits it. When the target cannot be reached the link is given back, so the
 * requester can try again while it lasts.
 */
export async function redeemPickup(
  deps: Deps,
  token: string,
): Promise<IssuedCredential & { requestId: string }> {
  const tokenHash = hashToken(token);
  const now = deps.clock.now();
  const claimed = await deps.db.credentialPickup.updateMany({
    where: { tokenHash, usedAt: null, expiresAt: { gt: now } },
    data: { usedAt: now },
  });
  const pickup = await deps.db.credentialPickup.findUnique({ where: { tokenHash } });
  if (claimed.count !== 1 || !pickup) throw gone(pickup);
  const request = await deps.db.accessRequest.findUniqueOrThrow({ where: { id: pickup.requestId } });
  if (request.state !== 'active' || !request.expiresAt) {
    throw new PickupGone(`${request.id} is ${describeState(request.state)}: there is no password to get.`);
  }
  const { provider, target } = grantTargetFor(deps, request, request.expiresAt);
  if (!provider.issueCredential || !provider.loginFor?.(target)) {
    throw new PickupGone(`${request.id} uses the requester's own login: it has no password of its own.`);
  }
  let credential: IssuedCredential;
  try {
    credential = await provider.issueCredential(target);
  } catch (error) {
    await deps.db.credentialPickup.update({ where: { tokenHash }, data: { usedAt: null } });
    throw error;
  }
  const auditId = await deps.db.$transaction((tx) =>
    appendAuditEvent(
      tx,
      {
        requestId: request.id,
        actor: pickup.userId,
        action: 'credential.issued',
        details: { login: credential.login, validUntil: credential.validUntil.toISOString() },
      },
      deps.clock.now(),
    ),
  );
  deps.logger.info({ requestId: request.id, login: credential.login }, 'password issued');
  await afterCommit(deps, request.id, [() => deps.jobs.postAudit([auditId])]);
  return { ...credential, requestId: request.id };
}

function gone(pickup: { usedAt: Date | null } | null): PickupGone {
  if (pickup?.usedAt) {
    return new PickupGone(
      'This link was used already. If that was not you, release the grant in Slack now and tell the security team.',
    );
  }
  return new PickupGone(
    'This link has expired or does not exist. Get a new one from your grant message in Slack.',
  );
}

/** The secret part of a one-time link: 32 random bytes, base64url (43 characters). */
export function newLinkToken(deps: Pick<Deps, 'randomBytes'>): string {
  return Buffer.from(deps.randomBytes(32)).toString('base64url');
}

/** SHA-256 of a link's token: what the database keeps instead of the token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
