import { formatDuration } from '../../domain/duration.js';
import { describeState } from '../../domain/lifecycle.js';
import { grantActionIds } from './grant-card.js';
import type { RequestLine } from './messages.js';
import { actionIds } from './request-card.js';
import { code, confirmations, escapeText, mention, type SlackBlock, slackDate, truncate } from './text.js';

/**
 * The App Home tab: the viewer's own pending and active requests, the approvals waiting for them,
 * and for the security team the active grants and standing freezes. Slack allows 100 blocks in a
 * Home view; each list is capped so that all of them together stay within it.
 */

export type HomeRequest = RequestLine & { createdAt: Date };

export interface HomeFreeze {
  scope: string;
  target: string;
  reason: string;
  createdBy: string;
  createdAt: Date;
}

/** A break-glass grant nobody has reviewed yet. */
export interface HomeBreakGlass {
  requestId: string;
  requesterId: string;
  resource: string;
  state: HomeRequest['state'];
  createdAt: Date;
  dueAt: Date;
  overdue: boolean;
}

export interface HomeModel {
  /** The viewer's pending, approved and active requests, newest first. */
  mine: readonly HomeRequest[];
  /** Requests the viewer can approve now, oldest first. */
  awaiting: readonly HomeRequest[];
  /** For the security team only. */
  admin: {
    grants: readonly HomeRequest[];
    /** All active grants; `grants` may be the first few of them. */
    grantCount: number;
    freezes: readonly HomeFreeze[];
    /** Break-glass grants waiting for review, oldest first; `unreviewedCount` is all of them. */
    unreviewed?: readonly HomeBreakGlass[];
    unreviewedCount?: number;
  } | null;
  /** The outcome of the viewer's last click on this tab. */
  notice?: string | null;
}

/**
 * Home clicks carry no response_url, so a click cannot be answered the way a message button is.
 * Approve and Release do their work and show the outcome on the tab itself, with ids of their
 * own; Deny, Extend and Revoke open a modal, and the ids of the message buttons serve as they are.
 */
export const homeActionIds = {
  approve: 'jit.home.approve',
  release: 'jit.home.release',
} as const;

/** Two blocks per own request or approval, one per grant: 2·10 + 2·10 + 25 + the rest < 100. */
export const homeLimits = { mine: 10, awaiting: 10, grants: 25, freezes: 20, unreviewed: 20 } as const;

const sectionLimit = 3000;

function section(text: string, blockId?: string, accessory?: SlackBlock): SlackBlock {
  return {
    type: 'section',
    ...(blockId ? { block_id: blockId } : {}),
    text: { type: 'mrkdwn', text: truncate(text, sectionLimit) },
    ...(accessory ? { accessory } : {}),
  };
}

function header(text: string): SlackBlock {
  return { type: 'header', text: { type: 'plain_text', text } };
}

function context(text: string): SlackBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, sectionLimit) }] };
}

function button(actionId: string, text: string, requestId: string, style?: 'primary' | 'danger'): SlackBlock {
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text },
    value: requestId,
    ...(style ? { style } : {}),
  };
}

function more(total: number, shown: number, hint: string): SlackBlock[] {
  return total > shown ? [context(`…and ${total - shown} more${hint}`)] : [];
}

function quote(reason: string): string {
  return `>${escapeText(truncate(reason, 300))}`;
}

function myRequestBlocks(r: HomeRequest): SlackBlock[] {
  const status =
    r.state === 'active' && r.expiresAt ? `active until ${slackDate(r.expiresAt)}` : describeState(r.state);
  const blocks = [
    section(
      `${code(r.id)} ${code(r.resource)} for ${formatDuration(r.durationSec)}: *${status}*\n${quote(r.reason)}`,
      `jit.home.mine.${r.id}`,
    ),
  ];
  const buttons =
    r.state === 'active'
      ? [
          { ...button(homeActionIds.release, 'Release now', r.id), confirm: confirmations.release(r) },
          button(grantActionIds.extend, 'Extend', r.id),
        ]
      : r.state === 'pending'
        ? [{ ...button(homeActionIds.release, 'Withdraw', r.id), confirm: confirmations.withdraw(r) }]
        : [];
  if (buttons.length > 0) {
    blocks.push({ type: 'actions', block_id: `jit.home.mine.${r.id}.actions`, elements: buttons });
  }
  return blocks;
}

function awaitingBlocks(r: HomeRequest): SlackBlock[] {
  return [
    section(
      `${mention(r.requesterId)} requests ${code(r.resource)} for ${formatDuration(r.durationSec)} ` +
        `(${code(r.id)}, ${slackDate(r.createdAt)})\n${quote(r.reason)}`,
      `jit.home.awaiting.${r.id}`,
    ),
    {
      type: 'actions',
      block_id: `jit.home.awaiting.${r.id}.actions`,
      elements: [
        button(homeActionIds.approve, 'Approve', r.id, 'primary'),
        button(actionIds.deny, 'Deny', r.id, 'danger'),
      ],
    },
  ];
}

function grantBlock(r: HomeRequest): SlackBlock {
  const until = r.expiresAt ? ` until ${slackDate(r.expiresAt)}` : '';
  const revoke = {
    ...button(grantActionIds.revoke, 'Revoke', r.id, 'danger'),
    confirm: confirmations.revoke(r),
  };
  return section(
    `${mention(r.requesterId)} has ${code(r.resource)}${until} (${code(r.id)})\n${quote(r.reason)}`,
    `jit.home.grant.${r.id}`,
    revoke,
  );
}

function freezeLine(f: HomeFreeze): string {
  const scope =
    f.scope === 'all' ? '*all access*' : f.scope === 'user' ? `user ${mention(f.target)}` : code(f.target);
  return `• ${scope}: ${escapeText(truncate(f.reason, 200))}, by ${mention(f.createdBy)} since ${slackDate(f.createdAt)}`;
}

/** Lines packed into as few sections as fit. */
function packed(lines: readonly string[], blockId: string): SlackBlock[] {
  const texts: string[] = [];
  for (const line of lines) {
    const last = texts.at(-1);
    if (last !== undefined && last.length + 1 + line.length <= sectionLimit)
      texts[texts.length - 1] = `${last}\n${line}`;
    else texts.push(line);
  }
  return texts.map((text, i) => section(text, `${blockId}.${i}`));
}

function unreviewedLine(b: HomeBreakGlass): string {
  const due = b.overdue ? `*overdue* since ${slackDate(b.dueAt)}` : `due ${slackDate(b.dueAt)}`;
  return `• ${code(b.requestId)} ${mention(b.requesterId)} took ${code(b.resource)} ${slackDate(b.createdAt)} (${describeState(b.state)}): ${due}`;
}

/** Unreviewed break-glass first: it is the one list here that waits for someone. */
function unreviewedBlocks(admin: NonNullable<HomeModel['admin']>): SlackBlock[] {
  const all = admin.unreviewed ?? [];
  if (all.length === 0) return [];
  const shown = all.slice(0, homeLimits.unreviewed);
  const total = admin.unreviewedCount ?? all.length;
  return [
    { type: 'divider' },
    header(`Break-glass to review (${total})`),
    ...packed(shown.map(unreviewedLine), 'jit.home.break_glass'),
    ...more(total, shown.length, '.'),
    context(
      'Each reviewer has a DM with *Acknowledge* and *Flag*; `jit audit export --unreviewed` lists them.',
    ),
  ];
}

function adminBlocks(admin: NonNullable<HomeModel['admin']>): SlackBlock[] {
  const grants = admin.grants.slice(0, homeLimits.grants);
  const freezes = admin.freezes.slice(0, homeLimits.freezes);
  return [
    ...unreviewedBlocks(admin),
    { type: 'divider' },
    header(`Active grants (${admin.grantCount})`),
    ...(grants.length === 0 ? [section('No one holds access right now.')] : grants.map(grantBlock)),
    ...more(
      admin.grantCount,
      grants.length,
      ': `/jit revoke <@user|resource> <reason…>` acts on many at once.',
    ),
    { type: 'divider' },
    header('Freezes'),
    ...(freezes.length === 0
      ? [section('Nothing is frozen. `/jit freeze <resource|@user|all> <reason…>`')]
      : packed(freezes.map(freezeLine), 'jit.home.freezes')),
    ...more(admin.freezes.length, freezes.length, '.'),
    ...(freezes.length > 0 ? [context('`/jit unfreeze <resource|@user|all>` lifts a freeze.')] : []),
  ];
}

export function homeView(model: HomeModel): { type: 'home'; blocks: SlackBlock[] } {
  const mine = model.mine.slice(0, homeLimits.mine);
  const awaiting = model.awaiting.slice(0, homeLimits.awaiting);
  const blocks: SlackBlock[] = [
    header('Just-in-time access'),
    ...(model.notice ? [section(model.notice, 'jit.home.notice')] : []),
    context(
      '`/jit request <resource> <duration> <reason…>` or `/jit` asks for access; `/jit help` lists every command.',
    ),
    header('Your requests'),
    ...(mine.length === 0
      ? [section('You have no pending or active requests.')]
      : mine.flatMap(myRequestBlocks)),
    ...more(model.mine.length, mine.length, ': `/jit list` shows them all.'),
    { type: 'divider' },
    header('Waiting for your approval'),
    ...(awaiting.length === 0 ? [section('Nothing is waiting for you.')] : awaiting.flatMap(awaitingBlocks)),
    ...more(model.awaiting.length, awaiting.length, ': `/jit pending` shows them all.'),
    ...(model.admin ? adminBlocks(model.admin) : []),
  ];
  return { type: 'home', blocks };
}
