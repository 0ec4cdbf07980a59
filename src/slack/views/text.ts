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
