import { webApi } from '@slack/bolt';

/** A Slack SDK logger that says nothing, for clients the tests build by hand. */
export const silentLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => webApi.LogLevel.ERROR,
  setName: () => {},
};
