import type { Logger } from 'pino';
import type { Policy } from '../config/policy.js';
import type { OnCallSchedule } from '../config/policy-schema.js';
import type { RequestState } from '../domain/lifecycle.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Provider } from './provider.js';

/** What the use cases need from the outside world; `main.ts` builds it, tests build their own. */
export interface Deps {
  db: PrismaClient;
  policy: Policy;
  /** Providers by their name in the policy file. */
  providers: ReadonlyMap<string, Provider>;
  directory: Directory;
  jobs: JobQueue;
  clock: Clock;
  logger: Logger;
  randomBytes: (n: number) => Uint8Array;
  metrics: Metrics;
  limits: Limits;
  /** `JIT_PUBLIC_URL`: where people reach the bot's own pages (the credential page). */
  publicUrl?: string;
  /** On-call schedules (`onCall:` in the policy file), for `autoApprove[].requesterOnCall`. */
  onCall?: OnCallSchedules;
  /** The company's OpenID Connect provider (`oidc:`), for `approverReauth: oidc`. */
  approverLogin?: ApproverLogin;
}

/** A sign-in at the company's OpenID Connect provider (authorization code flow with PKCE). */
export interface ApproverLogin {
  /** Where to send the approver's browser; `maxAge` and `acr_values` come from the policy. */
  authorizationUrl(params: {
    redirectUri: string;
    state: string;
    nonce: string;
    codeVerifier: string;
  }): Promise<URL>;
  /**
   * Redeems the callback's code and checks the ID token (signature, issuer, audience, nonce,
   * state); throws when any of that fails.
   */
  finish(
    callbackUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<LoginClaims>;
}

/** What the ID token says about the sign-in. */
export interface LoginClaims {
  issuer: string;
  subject: string;
  /** The policy's `emailClaim`, when present and a string. */
  email: string | null;
  /** Seconds since the epoch; null when the token does not say. */
  authTime: number | null;
  acr: string | null;
  amr: readonly string[];
}

export interface OnCallSchedules {
  /** The emails (lower case) of whoever is on call in the schedule now; throws when it cannot tell. */
  onCallNow(schedule: OnCallSchedule): Promise<ReadonlySet<string>>;
}

/**
 * Per-person limits, counted in Redis so every replica shares them. When Redis cannot answer in
 * time they let everything through: a flood is better than a bot that refuses a revoke.
 */
export interface Limits {
  /** Counts one slash command of `userId`; false when they are over the rate. */
  command(userId: string): Promise<boolean>;
  /** Whether to audit this refusal of `actor`, and how many refusals before it were left out. */
  refusalAudit(actor: string): Promise<{ audit: true; notAuditedBefore: number } | { audit: false }>;
}

/** `created`, or the final state a request reached. */
export type RequestOutcome = 'created' | RequestState;

/** What the use cases count for `/metrics`; `src/metrics.ts` implements it with prom-client. */
export interface Metrics {
  requestCreated(): void;
  /** `count` requests reached `state`, a final state (see `isFinal`); one by default. */
  requestEnded(state: RequestState, count?: number): void;
  /** From creation to the approval by a person that completed the last level. */
  approvalLatency(seconds: number): void;
  /** From `expiresAt` to the expiry being recorded. */
  expiryLateness(seconds: number): void;
  /** One failed attempt to take a grant back on its target. */
  revokeFailed(resource: string): void;
}

export interface Clock {
  now(): Date;
}

export interface SlackUser {
  id: string;
  name: string;
  email: string | null;
  /** Restricted or ultra-restricted (guest) account. */
  isGuest: boolean;
  isBot: boolean;
  deleted: boolean;
  /** The account's home team (users.info `team_id`); another team's means Slack Connect. */
  teamId: string | null;
  /** users.info `is_stranger`: from outside the workspace the token belongs to. */
  isStranger: boolean;
}

/** Slack's user directory, cached by the implementation (users.info is rate limited). */
export interface Directory {
  user(userId: string): Promise<SlackUser>;
  groupMembers(groupId: string): Promise<readonly string[]>;
  /** The team the bot is installed in (auth.test), or null when Slack cannot say right now. */
  homeTeamId(): Promise<string | null>;
}

/** Messages the bot sends about a request; rendered from the request's state when sent. */
export type NotificationKind =
  /** DM the approvers of the level that is now waiting. */
  | 'ask-approvers'
  /**
   * Bring every message already posted about the request up to date, and post its security
   * card if it has none yet: the card is how the security channel learns of the change.
   */
  | 'refresh'
  /** DM the requester the outcome of the latest transition. */
  | 'tell-requester'
  /** Remind the approvers still waited on, under the card they were sent (once per approver). */
  | 'remind-approvers'
  /** DM a break-glass grant's reviewers its review card (Acknowledge / Flag). */
  | 'ask-reviewers'
  /**
   * A break-glass review was recorded, or its deadline passed: bring every message up to date,
   * whatever state the request is in now (the review does not change the state).
   */
  | 'reviewed'
  | 'review-overdue';

/**
 * Work that happens after a transaction commits. Each job is idempotent and keyed so that
 * enqueueing it twice runs it once; the reconcile sweep re-enqueues what a crash lost.
 */
export interface NotifySubject {
  id: string;
  version: number;
  state: string;
}

export interface JobQueue {
  grant(requestId: string): Promise<void>;
  expireAt(requestId: string, at: Date): Promise<void>;
  /** Retry a release or revoke the provider could not do right away. */
  retryRevoke(
    requestId: string,
    event: 'release' | 'revoke',
    actorId: string,
    reason: string | null,
  ): Promise<void>;
  /**
   * The cleanup revoke a request owes (`cleanupNeeded`): a grant that may have landed after the
   * request ended. Retried and alerted like an expiry; the sweep re-creates it if Redis lost it.
   */
  cleanupRevoke(requestId: string): Promise<void>;
  /**
   * Before a release or revoke is tried outside a job (a click, a command, a hook): the same
   * jobs as `retryRevoke`, due only after a grace period. If the process dies between the target
   * and the record, they finish the end; after a finished attempt they find nothing to do.
   */
  guardRevokes(
    requestIds: readonly string[],
    event: 'release' | 'revoke',
    actorId: string,
    reason: string | null,
  ): Promise<void>;
  /**
   * After the end was recorded: the guard job of `guardRevokes` has nothing left to do. Dropped
   * rather than left to run a minute later as a revocation, which would hold follow-up work back
   * while it runs (`src/jobs/revocations-first.ts`). A guard already running is left to finish.
   */
  dropGuard(requestId: string, event: 'release' | 'revoke'): Promise<void>;
  /**
   * Everything a transition of `request` leaves to tell, as one job (its version and state are
   * part of it): the messages of `kinds`, in order, and the transition's audit events, which the
   * security card shows or its thread carries (see `src/audit/urgency.ts`).
   */
  notify(
    request: NotifySubject,
    kinds: NotificationKind | readonly NotificationKind[],
    auditIds?: readonly bigint[],
    options?: { delayMs?: number },
  ): Promise<void>;
  /** The same for many requests at once (bulk revocations), in one round trip. */
  notifyMany(requests: readonly NotifySubject[], kinds: readonly NotificationKind[]): Promise<void>;
  /**
   * Posts audit events to the security channel. `urgent` ones (a revoke that keeps failing, a
   * freeze, grants outside the policy) go ahead of every routine post waiting in the queue.
   */
  postAudit(eventIds: readonly bigint[], options?: { urgent?: boolean }): Promise<void>;
  /** The deadline of a break-glass grant's review: unreviewed then, it is alerted. */
  reviewDeadline(requestId: string, dueAt: Date): Promise<void>;
  /** The reminder at half the resource's approval timeout and the timeout itself, for a new request. */
  approvalDeadlines(request: { id: string; resource: string; createdAt: Date }): Promise<void>;
}
