import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Env } from '../config/env.js';
import type { Route } from '../http/routes.js';
import { boltLogger } from '../logger.js';
import { dropRedeliveredEvents } from './event-dedup.js';
import { type DeliveryMemory, guardAgainstReplays } from './replay-guard.js';

export interface SlackAppOptions {
  env: Env;
  logger: Logger;
  routes: Route[];
  /** Tests turn Web API retries off; production keeps the client's defaults (it retries 429/5xx). */
  clientOptions?: WebClientOptions;
  /** Redis for refusing replayed requests and dropping redelivered events; none: no such checks. */
  memory?: DeliveryMemory;
}

/**
 * The Bolt app: HTTP mode on `POST /slack/events` by default, Socket Mode when
 * `SLACK_APP_TOKEN` is set. Health, metrics and hooks are custom routes, served in both modes.
 */
export function createSlackApp({ env, logger, routes, clientOptions, memory }: SlackAppOptions): App {
  const webClientOptions: WebClientOptions = { slackApiUrl: env.SLACK_API_URL, ...clientOptions };
  const common = {
    token: env.SLACK_BOT_TOKEN,
    logger: boltLogger(logger),
    clientOptions: webClientOptions,
    customRoutes: routes,
    // Bolt's default conversation store keeps state in memory per process; we keep none there.
    convoStore: false as const,
  };
  const app = env.SLACK_APP_TOKEN
    ? new App({
        ...common,
        socketMode: true,
        appToken: env.SLACK_APP_TOKEN,
        // The Socket Mode client calls apps.connections.open with these options (so it reaches
        // SLACK_API_URL) and writes its own retry policy into them; a copy keeps that policy out of
        // the clients Bolt hands to listeners, which otherwise share the object.
        installerOptions: { port: env.PORT, clientOptions: { ...webClientOptions } },
      })
    : new App({ ...common, receiver: httpReceiver(env, common.logger, routes, logger, memory) });
  if (memory) dropRedeliveredEvents(app, memory, logger);
  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });
  return app;
}

/** Bolt's HTTP receiver on `POST /slack/events`, behind the replay guard when there is a memory. */
function httpReceiver(
  env: Env,
  boltLog: ReturnType<typeof boltLogger>,
  routes: Route[],
  logger: Logger,
  memory: DeliveryMemory | undefined,
): HTTPReceiver {
  const endpoint = '/slack/events';
  const signingSecret = env.SLACK_SIGNING_SECRET;
  const receiver = new HTTPReceiver({
    signingSecret,
    endpoints: [endpoint],
    customRoutes: routes,
    logger: boltLog,
  });
  if (memory) guardAgainstReplays(receiver, { signingSecret, endpoint, memory, logger });
  return receiver;
}

/**
 * Starts the app; returns the HTTP port. In HTTP mode that is the port actually bound (useful with
 * PORT=0). In Socket Mode `start()` resolves with the `apps.connections.open` answer once Slack has
 * said hello, and the custom routes listen on `installerOptions.port`, i.e. PORT as configured.
 */
export async function startSlackApp(app: App, env: Env): Promise<number> {
  const started = (await app.start(env.PORT)) as unknown;
  const server = started as Server | undefined;
  const address =
    server && typeof server.address === 'function' ? (server.address() as AddressInfo | null) : null;
  return address?.port ?? env.PORT;
}
