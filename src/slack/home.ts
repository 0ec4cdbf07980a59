import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { z } from 'zod';
import { approveRequest } from '../app/approve.js';
import { isAdmin } from '../app/approvers.js';
import { unreviewedBreakGlass } from '../app/break-glass.js';
import type { Deps } from '../app/deps.js';
import { releaseRequest } from '../app/end-grant.js';
import { ProviderUnavailable } from '../app/errors.js';
import { standingFreezes } from '../app/freeze.js';
import { listAwaitingApprover, listOpenRequests } from '../app/queries.js';
import { ReauthRequired } from '../app/reauth.js';
import { describeState } from '../domain/lifecycle.js';
import { blockActionSchema, slackUserIdSchema } from './payloads.js';
import { reauthText } from './reauth-link.js';
import { userMessageFor } from './user-errors.js';
import { type HomeModel, homeActionIds, homeLimits, homeView } from './views/home.js';
import { approvalRecordedText } from './views/messages.js';
import { code } from './views/text.js';

/**
 * The App Home tab, published whenever its owner opens it (and after a click on it). Everything is
 * read fresh from the database, so publishing twice, or two publishes racing, shows the same truth.
 */

/** The part of Slack's `app_home_opened` event we rely on; `tab` is `messages` for the DM tab. */
const appHomeOpenedSchema = z.object({
  type: z.literal('app_home_opened'),
  user: slackUserIdSchema,
  tab: z.string().optional(),
});

/** More than any list shows, so the tab can say how many it left out. */
const fetchLimit = 100;

async function homeModel(deps: Deps, userId: string): Promise<HomeModel> {
  const [mine, awaiting, admin] = await Promise.all([
    listOpenRequests(deps, userId, fetchLimit),
    listAwaitingApprover(deps, userId, fetchLimit),
    isAdmin(deps, userId),
  ]);
  if (!admin) return { mine, awaiting, admin: null };
  const [grants, grantCount, freezes, unreviewed] = await Promise.all([
    deps.db.accessRequest.findMany({
      where: { state: 'active' },
      orderBy: { expiresAt: 'asc' },
      take: homeLimits.grants,
    }),
    deps.db.accessRequest.count({ where: { state: 'active' } }),
    standingFreezes(deps),
    unreviewedBreakGlass(deps, homeLimits.unreviewed),
  ]);
  const now = deps.clock.now();
  return {
    mine,
    awaiting,
    admin: {
      grants,
      grantCount,
      freezes,
      unreviewed: unreviewed.rows.map((row) => ({
        requestId: row.requestId,
        requesterId: row.request.requesterId,
        resource: row.request.resource,
        state: row.request.state,
        createdAt: row.createdAt,
        dueAt: row.dueAt,
        overdue: row.dueAt <= now,
      })),
      unreviewedCount: unreviewed.count,
    },
  };
}

export function registerHome(app: App, deps: Deps): void {
  async function publishHome(client: WebClient, userId: string, log: Logger, notice?: string): Promise<void> {
    try {
      const view = homeView({ ...(await homeModel(deps, userId)), notice: notice ?? null });
      await client.views.publish({ user_id: userId, view });
    } catch (err) {
      log.warn({ err }, 'could not publish the App Home');
    }
  }

  app.event('app_home_opened', async ({ event, client }) => {
    const parsed = appHomeOpenedSchema.safeParse(event);
    if (!parsed.success)
      return void deps.logger.warn({ issues: parsed.error.issues }, 'malformed app_home_opened');
    if (parsed.data.tab !== undefined && parsed.data.tab !== 'home') return;
    await publishHome(client, parsed.data.user, deps.logger.child({ userId: parsed.data.user }));
  });

  app.action(homeActionIds.approve, async ({ ack, body, client }) => {
    await ack();
    const parsed = blockActionSchema.safeParse(body);
    if (!parsed.success) return void deps.logger.warn('malformed Home approve action');
    const userId = parsed.data.user.id;
    const requestId = parsed.data.actions[0].value;
    const log = deps.logger.child({ requestId, userId });
    let notice: string;
    try {
      const result = await approveRequest(deps, requestId, userId);
      notice =
        result.outcome === 'approved'
          ? `:white_check_mark: You approved ${code(requestId)}; access is being granted.`
          : approvalRecordedText(requestId, result.level);
    } catch (error) {
      notice =
        (error instanceof ReauthRequired ? await reauthText(deps, error, userId, log) : null) ??
        userMessageFor(error, log);
    }
    await publishHome(client, userId, log, notice);
  });

  app.action(homeActionIds.release, async ({ ack, body, client }) => {
    await ack();
    const parsed = blockActionSchema.safeParse(body);
    if (!parsed.success) return void deps.logger.warn('malformed Home release action');
    const userId = parsed.data.user.id;
    const requestId = parsed.data.actions[0].value;
    const log = deps.logger.child({ requestId, userId });
    let notice: string;
    try {
      const request = await releaseRequest(deps, requestId, userId);
      notice = `:lock: ${code(request.id)} is now ${describeState(request.state)}.`;
    } catch (error) {
      // As from the grant's DM: the release is repeated until the target answers.
      if (error instanceof ProviderUnavailable) {
        await deps.jobs
          .retryRevoke(requestId, 'release', userId, null)
          .catch((err) => log.error({ err }, 'release retry could not be enqueued'));
      }
      notice = userMessageFor(error, log);
    }
    await publishHome(client, userId, log, notice);
  });
}
