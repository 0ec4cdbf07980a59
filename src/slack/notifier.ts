import { createHash } from 'node:crypto';
import type { WebClient } from '@slack/web-api';
import { approvalDeadlinesFor, waitingApprovers } from '../app/approval-timeout.js';
import { approvalLevelsFor, resolvePrincipals } from '../app/approvers.js';
import { reviewersOf } from '../app/break-glass.js';
import { slackMessageColumns } from '../app/columns.js';
import { perRequestLoginOf } from '../app/credentials.js';
import type { Deps, NotificationKind } from '../app/deps.js';
import { approvalFollowUpToCome } from '../app/follow-ups.js';
import { snapshotOf } from '../app/grant-snapshot.js';
import { findRequest, findRequestWithMessages, type RequestWithApprovals } from '../app/queries.js';
import { cardActions } from '../audit/urgency.js';
import { isFinal, type RequestState } from '../domain/lifecycle.js';
import { currentLevel } from '../domain/policy.js';
import { type AccessRequest, Prisma, type SlackMessage } from '../generated/prisma/client.js';
import type { NotifyJob } from '../jobs/queues.js';
import { type ReviewStatus, reviewerMessage } from './views/break-glass.js';
import {
  type GrantView,
  grantCardBlocks,
  grantCardSummary,
  requesterGrantMessage,
} from './views/grant-card.js';
import { approvalReminder, type Message, requesterNotice } from './views/messages.js';
import { type RequestView, requestCardBlocks, requestSummary } from './views/request-card.js';

/** Kinds of a job queued before jobs carried several; `announce-grant` is part of `refresh` now. */
function legacyKinds(kind: string | undefined): NotificationKind[] {
  if (kind === 'ask-approvers' || kind === 'tell-requester' || kind === 'remind-approvers') return [kind];
  return ['refresh'];
}

/** Why a message was posted, as recorded in `slack_messages.purpose`; each has its own builder. */
type MessagePurpose = 'approver' | 'security' | 'requester' | 'reminder' | 'reviewer';

interface MessagePlace {
  purpose: MessagePurpose;
  /** The approver or requester it was sent to; null for the security channel. */
  userId: string | null;
  channel: string;
}

/** DM channel ids remembered; the oldest is forgotten first. */
const MAX_DM_CHANNELS = 10_000;
/** Approvers' cards whose shown content is remembered; the least recently shown is forgotten first. */
const MAX_SHOWN = 20_000;

/**
 * Sends the messages about a request: DMs to approvers, the grant's card in the security channel,
 * the requester's grant DM, in-place updates of all of those, and DMs to the requester. Everything
 * is rendered from the database when the job runs, so a retried job sends the current truth, and
 * messages already posted (recorded in `slack_messages`) are not posted again.
 */
export function createNotifier(deps: Deps, client: WebClient) {
  // A person's DM with the app keeps its channel id, so it is opened once per person, not once per
  // message (conversations.open is rate-limited like chat.postMessage).
  const dmChannels = new Map<string, string>();

  async function openDm(userId: string): Promise<string> {
    const known = dmChannels.get(userId);
    if (known) return known;
    const opened = await client.conversations.open({ users: userId });
    const channel = opened.channel?.id;
    if (!channel) throw new Error(`conversations.open returned no channel for ${userId}`);
    if (dmChannels.size >= MAX_DM_CHANNELS) dmChannels.delete(dmChannels.keys().next().value as string);
    dmChannels.set(userId, channel);
    return channel;
  }

  // What this process last showed in each approver's card (a digest of its text and blocks), so
  // that bringing a card up to date when nothing in it would change is no call to Slack. Only
  // approvers' cards: theirs never come back to something shown before (a pending card carries
  // the clock, the decision then stays), so a digest cannot hide another replica's later update,
  // as it could on a grant card (an extension asked, then denied). Another replica, or a
  // restart, costs at most one update more.
  const shown = new Map<string, string>();
  const remembers = (purpose: MessagePurpose) => purpose === 'approver';

  function digestOf(message: Message): string {
    return createHash('sha256')
      .update(JSON.stringify([message.text, message.blocks]))
      .digest('base64');
  }

  function remember(place: Pick<MessagePlace, 'purpose' | 'channel'>, ts: string, message: Message): void {
    if (!remembers(place.purpose)) return;
    const key = `${place.channel}/${ts}`;
    shown.delete(key);
    if (shown.size >= MAX_SHOWN) shown.delete(shown.keys().next().value as string);
    shown.set(key, digestOf(message));
  }

  /** `chat.update`, unless the approver's card already shows exactly this. */
  async function show(
    place: Pick<MessagePlace, 'purpose' | 'channel'>,
    ts: string,
    message: Message,
  ): Promise<void> {
    if (remembers(place.purpose) && shown.get(`${place.channel}/${ts}`) === digestOf(message)) return;
    await client.chat.update({ channel: place.channel, ts, ...message });
    remember(place, ts, message);
  }

  function render(place: Pick<MessagePlace, 'purpose' | 'userId'>, request: RequestWithApprovals): Message {
    if (place.purpose === 'security') {
      const view = grantView(request, deps.policy.resources[request.resource]?.approvals?.length ?? 1);
      return { text: grantCardSummary(view), blocks: grantCardBlocks(view) };
    }
    if (place.purpose === 'requester') {
      return requesterGrantMessage({
        ...grantView(request),
        perRequestLogin: perRequestLoginOf(deps, request),
      });
    }
    if (place.purpose === 'reviewer' && request.breakGlassReview) {
      return reviewerMessage({ ...grantView(request), review: reviewStatus(request.breakGlassReview) });
    }
    if (place.purpose === 'reminder') {
      return approvalReminder({
        ...request,
        timesOutAt: approvalDeadlinesFor(deps.policy, request).timeoutAt,
        approvedByReader: request.approvals.some((a) => a.approverId === place.userId),
      });
    }
    const view = requestView(deps, request);
    const withButtons =
      request.state === 'pending' && !request.approvals.some((a) => a.approverId === place.userId);
    return {
      text: withButtons ? `Approval needed: ${requestSummary(view)}` : requestSummary(view),
      blocks: requestCardBlocks(view, { withButtons }),
    };
  }

  /** The messages already posted about one request, read once per job and kept up to date by it. */
  type Posted = SlackMessage[];

  const find = (posted: Posted, purpose: MessagePurpose, channel?: string) =>
    posted.find((m) => m.purpose === purpose && (channel === undefined || m.channel === channel));

  /**
   * Posts a message and records it for later updates. The record is claimed first (a row with an
   * empty ts, unique per request, purpose and channel), so of two jobs that both find the message
   * missing only one posts it; the other leaves it to the first (`null`). A refresh that ran
   * between the claim and the record did not see the message, so if the request has moved on
   * since it was rendered, the message is brought up to date here.
   */
  async function postRecorded(
    rendered: RequestWithApprovals,
    place: MessagePlace,
    posted: Posted,
    thread?: { thread_ts: string; reply_broadcast: boolean },
  ): Promise<string | null> {
    const claim = await claimMessage(rendered.id, place);
    if (!claim.ours) {
      if (!posted.some((m) => m.id === claim.row.id)) posted.push(claim.row);
      return shownTs(claim.row, posted);
    }
    const message = { channel: place.channel, ...render(place, rendered) };
    let ts: string;
    try {
      const answer = await client.chat.postMessage(thread ? { ...message, ...thread } : message);
      ts = String(answer.ts);
      remember(place, ts, message);
    } catch (error) {
      // Not posted: the claim goes, so this job's retry (or another job) posts it.
      await deps.db.slackMessage
        .deleteMany({ where: { id: claim.row.id, ts: '' } })
        .catch((err) => deps.logger.warn({ err, requestId: rendered.id }, 'message claim left to go stale'));
      throw error;
    }
    // The record and the request's version now, in one statement.
    const [now] = await deps.db.$queryRaw<
      { recorded: bigint; version: number; state: string; decidedAt: Date | null }[]
    >`
      WITH "recorded" AS (
        UPDATE "slack_messages" SET "ts" = ${ts}
        WHERE "id" = ${claim.row.id} AND "ts" = '' AND "createdAt" = ${claim.row.createdAt}
        RETURNING "id")
      SELECT (SELECT count(*) FROM "recorded") AS "recorded", "version", "state"::text AS "state",
        "decidedAt"
      FROM "access_requests" WHERE "id" = ${rendered.id}`;
    if (!now || Number(now.recorded) === 0) {
      // The claim was taken over as stale while Slack was slow to answer: theirs stands.
      await client.chat.delete({ channel: place.channel, ts });
      return null;
    }
    const recorded = { ...claim.row, ts };
    posted.push(recorded);
    justPosted.add(recorded);
    const movedOn = now.version !== rendered.version || now.state !== rendered.state;
    if (movedOn && !approvalFollowUpToCome(now, deps.clock.now())) {
      await show(place, ts, render(place, await findRequest(deps, rendered.id)));
    }
    return ts;
  }

  /**
   * The message's record, claimed for this job (`ours`), or the one another job holds. A claim
   * whose poster never recorded a ts within `staleClaimMs` (it died mid-post) is taken over.
   */
  async function claimMessage(
    requestId: string,
    place: MessagePlace,
  ): Promise<{ ours: boolean; row: SlackMessage }> {
    const createdAt = deps.clock.now();
    // One statement: the claim, or else the record that stands. A claim being written at the same
    // moment is not seen by this statement's snapshot (no row at all): then it is read after it.
    const [row] = await deps.db.$queryRaw<Array<SlackMessage & { ours: boolean }>>`
      WITH "claimed" AS (
        INSERT INTO "slack_messages" ("requestId", "purpose", "userId", "channel", "ts", "createdAt")
        VALUES (${requestId}, ${place.purpose}, ${place.userId}, ${place.channel}, '', ${createdAt})
        ON CONFLICT ("requestId", "purpose", "channel") DO NOTHING
        RETURNING ${slackMessageColumns()})
      SELECT ${slackMessageColumns()}, true AS "ours" FROM "claimed"
      UNION ALL
      SELECT ${slackMessageColumns()}, false AS "ours" FROM "slack_messages"
      WHERE "requestId" = ${requestId} AND "purpose" = ${place.purpose} AND "channel" = ${place.channel}
        AND NOT EXISTS (SELECT 1 FROM "claimed")`;
    const { ours, ...stands } = row ?? { ours: false };
    if (ours) return { ours: true, row: stands as SlackMessage };
    const theirs = row
      ? (stands as SlackMessage)
      : await deps.db.slackMessage.findFirstOrThrow({
          where: { requestId, purpose: place.purpose, channel: place.channel },
        });
    if (theirs.ts !== '' || createdAt.getTime() - theirs.createdAt.getTime() < staleClaimMs) {
      return { ours: false, row: theirs };
    }
    const taken = await deps.db.slackMessage.updateMany({
      where: { id: theirs.id, ts: '', createdAt: theirs.createdAt },
      data: { createdAt },
    });
    return taken.count === 1 ? { ours: true, row: { ...theirs, createdAt } } : { ours: false, row: theirs };
  }

  /**
   * Messages a job posted itself: rendered from the request as the job read it, and brought up to
   * date right after they were recorded if it had changed, so its refresh leaves them alone.
   */
  const justPosted = new WeakSet<SlackMessage>();

  /** The jobs' message lists that met a message another job was still posting. */
  const metPending = new WeakSet<Posted>();

  /**
   * The message's ts once it is in Slack; null while another job is still posting it. A poster
   * brings its message up to date after recording it, so a job that finds a fresh claim leaves the
   * message to it. A claim that has waited longer may be a poster that died: the job that met it
   * retries once done (see `send`), until the message is in or the claim is stale and taken over.
   */
  function shownTs(message: SlackMessage, posted: Posted): string | null {
    if (message.ts !== '') return message.ts;
    if (deps.clock.now().getTime() - message.createdAt.getTime() >= freshClaimMs) metPending.add(posted);
    return null;
  }

  async function askApprovers(request: RequestWithApprovals, posted: Posted): Promise<void> {
    if (request.state !== 'pending') return;
    const resource = deps.policy.resources[request.resource];
    if (!resource) return;
    const levels = await approvalLevelsFor(deps, resource, request.escalatedLevels);
    const level = currentLevel(levels, request.approvals);
    if (level === null) return;
    const approved = new Set(request.approvals.map((a) => a.approverId));
    const alreadyAsked = new Set(
      posted.filter((m) => m.purpose === 'approver' && m.ts !== '').map((m) => m.userId),
    );
    const toAsk = [...(levels[level]?.approvers ?? [])].filter(
      (id) => id !== request.requesterId && !approved.has(id) && !alreadyAsked.has(id),
    );
    for (const approverId of toAsk) {
      const channel = await openDm(approverId);
      await postRecorded(request, { purpose: 'approver', userId: approverId, channel }, posted);
    }
  }

  /** A break-glass grant's reviewers, each a DM with Acknowledge / Flag (never its requester). */
  async function askReviewers(request: RequestWithApprovals, posted: Posted): Promise<void> {
    const review = request.breakGlassReview;
    if (!review || review.outcome) return;
    const alreadyAsked = new Set(
      posted.filter((m) => m.purpose === 'reviewer' && m.ts !== '').map((m) => m.userId),
    );
    const reviewers = await resolvePrincipals(deps, reviewersOf(review));
    for (const reviewerId of reviewers) {
      if (reviewerId === request.requesterId || alreadyAsked.has(reviewerId)) continue;
      const channel = await openDm(reviewerId);
      await postRecorded(request, { purpose: 'reviewer', userId: reviewerId, channel }, posted);
    }
  }

  /**
   * Half-way to the timeout: a reply under each waiting approver's card, also shown in the DM
   * itself, at most one per approver. Approvers never asked (their card was lost) get the card.
   */
  async function remindApprovers(request: RequestWithApprovals, posted: Posted): Promise<void> {
    if (request.state !== 'pending') return;
    const waiting = await waitingApprovers(deps, request);
    if (!waiting) return;
    const cards = new Map(posted.filter((m) => m.purpose === 'approver').map((m) => [m.userId, m]));
    const reminded = new Set(
      posted.filter((m) => m.purpose === 'reminder' && m.ts !== '').map((m) => m.userId),
    );
    for (const approverId of waiting.approverIds) {
      const card = cards.get(approverId);
      if (!card || reminded.has(approverId)) continue;
      const cardTs = shownTs(card, posted);
      if (cardTs === null) continue;
      const place = { purpose: 'reminder', userId: approverId, channel: card.channel } as const;
      await postRecorded(request, place, posted, { thread_ts: cardTs, reply_broadcast: true });
    }
    await askApprovers(request, posted);
  }

  /**
   * Brings every message about the request up to date, and posts the security team's card if
   * the request has none yet. The card is the request's one top-level message in the security
   * channel: it says in words where the request stands, carries the Revoke button while the grant
   * is active, and has the request's other audit events in its thread.
   */
  async function refresh(request: RequestWithApprovals, posted: Posted): Promise<void> {
    await Promise.all(
      posted.map((m) => {
        // Still being posted: its poster shows the request as it is once it has recorded it.
        if (m.ts === '' || justPosted.has(m)) return Promise.resolve();
        if (!isPurpose(m.purpose)) {
          deps.logger.warn({ requestId: request.id, purpose: m.purpose }, 'message of unknown purpose');
          return Promise.resolve();
        }
        const message = render({ purpose: m.purpose, userId: m.userId }, request);
        return show({ purpose: m.purpose, channel: m.channel }, m.ts, message);
      }),
    );
    await securityCard(request, posted);
  }

  /**
   * The ts of the request's card in the security channel, posting it first if need be; null
   * while another job is posting it.
   */
  async function securityCard(request: RequestWithApprovals, posted: Posted): Promise<string | null> {
    const channel = deps.policy.securityChannel;
    const found = find(posted, 'security', channel);
    if (found && found.ts !== '') return found.ts;
    // Not posted yet, or still being posted (whose claim may have gone stale): the claim decides.
    return postRecorded(request, { purpose: 'security', userId: null, channel }, posted);
  }

  async function tellRequester(
    request: RequestWithApprovals,
    state: RequestState,
    posted: Posted,
  ): Promise<void> {
    const channel = await openDm(request.requesterId);
    const grantDm = find(posted, 'requester', channel);
    if (state === 'active') {
      // The grant DM carries the Release now button and is kept up to date. A grant that ended
      // before it went out gets none: the end's own notice tells the requester.
      if ((grantDm && grantDm.ts !== '') || isFinal(request.state)) return;
      const place = { purpose: 'requester', userId: request.requesterId, channel } as const;
      await postRecorded(request, place, posted);
      return;
    }
    // Their own release shows on the grant DM, updated in place; it needs no second message.
    if (state === 'released' && grantDm) return;
    const notice = requesterNotice({ ...request, state });
    if (!notice) return;
    await client.chat.postMessage({ channel, ...notice });
  }

  /**
   * The transition's audit events. The steps the card shows count as posted once it shows them:
   * every such step of the request so far when this job brought the card up to date, or, when it
   * was overtaken by a later change, its own steps, which the card shows once the later change's
   * follow-up has run (that change's own event stays unposted until then, and the sweep brings
   * it back if the follow-up is lost, so the card is sure to catch up). Any other event goes to
   * the audit poster, which threads it under the card. One statement either way.
   */
  async function settleAudit(
    requestId: string,
    auditIds: readonly bigint[],
    cardShown: boolean,
  ): Promise<void> {
    if (!cardShown && auditIds.length === 0) return;
    const now = deps.clock.now();
    const scope = cardShown
      ? Prisma.sql`"requestId" = ${requestId}`
      : Prisma.sql`"id" = ANY(${auditIds as bigint[]}::bigint[])`;
    const rest = await deps.db.$queryRaw<{ id: bigint }[]>`
      WITH "marked" AS (
        UPDATE "audit_events" SET "postedAt" = ${now}
        WHERE ${scope} AND "postedAt" IS NULL AND "action" = ANY(${cardActions as string[]}::text[])
        RETURNING "id")
      SELECT "id" FROM "audit_events"
      WHERE "id" = ANY(${auditIds as bigint[]}::bigint[]) AND "postedAt" IS NULL
        AND "id" NOT IN (SELECT "id" FROM "marked")`;
    await deps.jobs.postAudit(rest.map((row) => row.id));
  }

  return {
    /** One follow-up job: the messages of its kinds, in order, then its audit events. */
    async send(job: NotifyJob): Promise<void> {
      const kinds = job.kinds ?? legacyKinds(job.kind);
      const { request, messages: posted } = await findRequestWithMessages(deps, job.requestId);
      for (const kind of kinds) {
        if (kind === 'ask-approvers') await askApprovers(request, posted);
        else if (kind === 'remind-approvers') await remindApprovers(request, posted);
        else if (kind === 'tell-requester') await tellRequester(request, job.state as RequestState, posted);
        else if (kind === 'ask-reviewers') await askReviewers(request, posted);
      }
      // Overtaken by a later change of state, whose own follow-up brings every message up to
      // date: refreshing here would only show a state already gone. A review changes no state,
      // so its messages are brought up to date whatever the state is now.
      const current = request.state === job.state;
      const reviewed = kinds.includes('reviewed') || kinds.includes('review-overdue');
      const refreshed = (kinds.includes('refresh') && current) || reviewed;
      if (refreshed) await refresh(request, posted);
      await settleAudit(request.id, (job.auditIds ?? []).map(BigInt), refreshed);
      // A message this job needed was still being posted by another: once that is done, the
      // retry brings it up to date (or, if that poster died, takes its claim over and posts it).
      if (metPending.has(posted)) throw new MessageBeingPosted(request.id);
    },
    /** The ts of the request's card in the security channel, posting it first if need be. */
    async securityThread(requestId: string): Promise<string> {
      const { request, messages } = await findRequestWithMessages(deps, requestId);
      const ts = await securityCard(request, messages);
      if (ts === null) throw new MessageBeingPosted(requestId);
      return ts;
    },
    /** Brings every message about the request up to date now (a click on a stale button). */
    async refreshNow(requestId: string): Promise<void> {
      const { request, messages } = await findRequestWithMessages(deps, requestId);
      await refresh(request, messages);
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;

/** A claim on a message with no ts yet, younger than this: its poster is at work. */
const freshClaimMs = 10_000;
/** A claim on a message older than this with no ts: its poster died, another job may post it. */
const staleClaimMs = 60_000;

/** Thrown for a retry: a message the job needs is still being posted by another job. */
export class MessageBeingPosted extends Error {
  constructor(requestId: string) {
    super(`a message about ${requestId} is still being posted by another job; retrying`);
    this.name = 'MessageBeingPosted';
  }
}

function isPurpose(purpose: string): purpose is MessagePurpose {
  return (
    purpose === 'approver' ||
    purpose === 'security' ||
    purpose === 'requester' ||
    purpose === 'reminder' ||
    purpose === 'reviewer'
  );
}

function reviewStatus(review: NonNullable<RequestWithApprovals['breakGlassReview']>): ReviewStatus {
  return {
    dueAt: review.dueAt,
    outcome: review.outcome,
    decidedBy: review.decidedBy,
    decidedAt: review.decidedAt,
    overdueAt: review.overdueAt,
    freezeOnFlag: review.freezeOnFlag,
  };
}

export function grantView(
  request: AccessRequest & {
    approvals?: ReadonlyArray<{ level: number; approverId: string }>;
    breakGlassReview?: RequestWithApprovals['breakGlassReview'];
  },
  levelCount = 1,
): GrantView {
  return {
    breakGlass: request.breakGlassReview ? reviewStatus(request.breakGlassReview) : null,
    escalatedLevels: request.escalatedLevels,
    id: request.id,
    requesterId: request.requesterId,
    resource: request.resource,
    identity: request.identity,
    reason: request.reason,
    durationSec: request.durationSec,
    state: request.state,
    decidedBy: request.decidedBy,
    decisionRule: request.decisionRule,
    reviewRule: request.reviewRule,
    approvals: [...(request.approvals ?? [])].sort((a, b) => a.level - b.level),
    levelCount,
    grantedAt: request.grantedAt,
    expiresAt: request.expiresAt,
    endedAt: request.endedAt,
    endReason: request.endReason,
  };
}

/**
 * The request as its approvers' cards show it: until it is decided, then the decision, which
 * stays. What the grant does afterwards (granted, extended, ended) is on the security card and
 * the requester's DM; the approver's card no longer changes with it.
 */
export function requestView(
  deps: Pick<Deps, 'policy'> & Partial<Pick<Deps, 'clock'>>,
  request: RequestWithApprovals,
): RequestView {
  const approved = grantSteps.has(request.state);
  const resource = deps.policy.resources[request.resource];
  const snapshot = snapshotOf(deps.policy, request);
  const now = deps.clock?.now();
  const levels = (resource?.approvals ?? []).map((level, i) => ({
    count: level.count,
    approvedBy: request.approvals.filter((a) => a.level === i).map((a) => a.approverId),
    escalated: request.escalatedLevels.includes(i),
  }));
  return {
    id: request.id,
    requesterId: request.requesterId,
    resource: request.resource,
    resourceDescription: resource?.description ?? '',
    durationSec: request.durationSec,
    reason: request.reason,
    state: approved ? 'approved' : request.state,
    createdAt: request.createdAt,
    expiresAt: approved ? null : request.expiresAt,
    endReason: approved ? null : request.endReason,
    decidedBy: request.decidedBy,
    levels,
    reviewRule: request.reviewRule,
    identity: request.identity,
    ...(snapshot ? { providerName: snapshot.provider } : {}),
    endsIfGrantedNow: now ? new Date(now.getTime() + request.durationSec * 1000) : null,
  };
}

/** The states of an approved request, its grant's steps. */
const grantSteps: ReadonlySet<RequestState> = new Set<RequestState>([
  'approved',
  'active',
  'expired',
  'released',
  'revoked',
  'grant_failed',
]);
