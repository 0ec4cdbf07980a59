import type { SlackBlock } from '../../src/slack/views/text.js';

/** Reading what a Block Kit builder rendered, for assertions on its meaningful parts. */

/** Every mrkdwn text object in a block tree, in document order. */
export function mrkdwnTexts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(mrkdwnTexts);
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const own = record.type === 'mrkdwn' && typeof record.text === 'string' ? [record.text] : [];
  return [...own, ...Object.values(record).flatMap(mrkdwnTexts)];
}

/**
 * The mrkdwn with the control sequences the builders make on purpose taken out: date tokens,
 * mentions of `trustedIds` and block quotes. A `<` or `>` left over came from user text.
 */
export function withoutTrustedControls(mrkdwn: string, trustedIds: readonly string[]): string {
  let rest = mrkdwn.replace(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>]*>/g, '');
  for (const id of trustedIds) rest = rest.replaceAll(`<@${id}>`, '');
  return rest.replace(/^>/gm, '');
}

/** All the mrkdwn of a block tree, one text a line, without the trusted control sequences. */
export function untrustedText(blocks: unknown, trustedIds: readonly string[]): string {
  return withoutTrustedControls(mrkdwnTexts(blocks).join('\n'), trustedIds);
}

/** The elements of every actions block: the buttons a reader can press. */
export function actionElements<Element = Record<string, unknown>>(blocks: readonly SlackBlock[]): Element[] {
  return blocks
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b as unknown as { elements: Element[] }).elements);
}
