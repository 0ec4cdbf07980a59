import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, type Logger, type LogLevel } from '@slack/bolt';

/**
 * The baseline Bolt app: the bot's receiver settings (HTTP mode on `/slack/events`, signature
 * check, bot token, no conversation store) and one listener that acks `/jit` and does nothing
 * else.
 */
export interface BareBoltOptions {
  token: string;
  signingSecret: string;
  apiUrl: string;
  port: number;
}

const quietLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => 'error' as LogLevel,
  setName: () => {},
};

export async function startBareBolt(
  options: BareBoltOptions,
): Promise<{ port: number; stop(): Promise<void> }> {
  const app = new App({
    token: options.token,
    signingSecret: options.signingSecret,
    endpoints: '/slack/events',
    clientOptions: { slackApiUrl: options.apiUrl },
    convoStore: false,
    logger: quietLogger,
  });
  app.command('/jit', async ({ ack }) => {
    await ack();
  });
  const server = (await app.start(options.port)) as unknown as Server;
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => app.stop().then(() => undefined),
  };
}
