import { randomBytes } from 'node:crypto';

/**
 * The one workspace tests pretend to be in. The request signer and the fake Web API share these
 * ids, so a payload built by one refers to things the other knows about.
 */
export const WORKSPACE = {
  teamId: 'T0JITTEST',
  teamDomain: 'jit-test',
  teamName: 'JIT Test',
  apiAppId: 'A0JITBOT',
  botUserId: 'UBOT',
  botId: 'BBOT',
  botName: 'jit-bot',
  botToken: 'xoxb-test-bot-token',
  /** App-level token (Socket Mode's `apps.connections.open`, scope `connections:write`). */
  appToken: 'xapp-1-test-app-token',
  /** The legacy `token` field Slack still puts in payloads; Bolt ignores it. */
  verificationToken: 'legacy-verification-token',
} as const;

/**
 * A trigger_id in Slack's format (`<digits>.<digits>.<hex>`) whose first part is the issue time in
 * milliseconds, so the fake server can enforce Slack's 3-second validity.
 */
export function newTriggerId(issuedAtMs = Date.now()): string {
  return `${issuedAtMs}.4744562912.${randomBytes(16).toString('hex')}`;
}

export const TRIGGER_ID_FORMAT = /^\d+\.\d+\.[0-9a-f]+$/;

/** Issue time of a trigger_id made by `newTriggerId`; undefined for any other valid trigger_id. */
export function triggerIssuedAt(triggerId: string): number | undefined {
  const first = triggerId.split('.')[0] ?? '';
  return /^\d{13}$/.test(first) ? Number(first) : undefined;
}
