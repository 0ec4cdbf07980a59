/**
 * The baseline Bolt app as a process of its own, for the idle-memory benchmark. Configured by
 * SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL and PORT, like the bot.
 */
import { startBareBolt } from './bare-bolt.js';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const app = await startBareBolt({
  token: required('SLACK_BOT_TOKEN'),
  signingSecret: required('SLACK_SIGNING_SECRET'),
  apiUrl: required('SLACK_API_URL'),
  port: Number(required('PORT')),
});
console.log(`bare Bolt app ready on ${app.port}`);
process.on('SIGTERM', () => {
  void app.stop().then(() => process.exit(0));
});
