/** Small pieces of Slack mrkdwn shared by the Block Kit builders. */

/**
 * User-supplied text goes into mrkdwn escaped, so a reason like `<!channel>` or `<@U123>` is shown
 * as typed and cannot ping anyone or fake a link.
 */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function mention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeText(userId);
}

/** A timestamp Slack renders in each reader's own time zone, with a UTC fallback. */
export function slackDate(date: Date): string {
  const unix = Math.floor(date.getTime() / 1000);
  const fallback = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${unix}^{date_short_pretty} {time}|${fallback}>`;
}

/** Cuts text to Slack's limits, marking the cut; never between the two halves of an emoji. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

export function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

/** A Block Kit block; the builders are checked against Slack's limits by the tests' fake Slack. */
export interface SlackBlock {
  type: string;
  block_id?: string;
  [key: string]: unknown;
}

const ordinals = ['first', 'second', 'third', 'fourth', 'fifth'];

/** An approval level in words, from its index: 0 → "first level". */
export function levelName(index: number): string {
  return `${ordinals[index] ?? `level ${index + 1}`}${index < ordinals.length ? ' level' : ''}`;
}

/**
 * The confirmation dialog of a button that takes access away (Revoke, Release now, Withdraw):
 * every such button asks first, with the same wording, wherever it is shown (card, DM, Home).
 */
export function confirmDialog(options: {
  title: string;
  text: string;
  confirm: string;
  deny: string;
  danger?: boolean;
}): Record<string, unknown> {
  return {
    title: { type: 'plain_text', text: truncate(options.title, 100) },
    text: { type: 'mrkdwn', text: truncate(options.text, 300) },
    confirm: { type: 'plain_text', text: options.confirm },
    deny: { type: 'plain_text', text: options.deny },
    ...(options.danger ? { style: 'danger' } : {}),
  };
}

/** The confirmations, one per destructive button, so a card and the Home tab say the same. */
export const confirmations = {
  revoke: (r: { id: string; requesterId: string; resource: string }) =>
    confirmDialog({
      title: `Revoke ${r.id}?`,
      text: `${mention(r.requesterId)} loses ${code(r.resource)} at once. You will be asked for a reason, which they will see.`,
      confirm: 'Revoke',
      deny: 'Cancel',
      danger: true,
    }),
  release: (r: { id: string; resource: string }) =>
    confirmDialog({
      title: `Release ${r.id}?`,
      text: `Your access to ${code(r.resource)} ends now. Request it again if you need it later.`,
      confirm: 'Release',
      deny: 'Keep it',
    }),
  withdraw: (r: { id: string; resource: string }) =>
    confirmDialog({
      title: `Withdraw ${r.id}?`,
      text: `Your request for ${code(r.resource)} is cancelled and its approvers are told. Request it again if you need it later.`,
      confirm: 'Withdraw',
      deny: 'Keep it',
    }),
};
