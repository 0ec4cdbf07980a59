import type { types } from '@slack/bolt';
import { formatDuration } from '../../domain/duration.js';
import { maxReasonLength } from '../../domain/policy.js';
import { code, mention, slackDate, truncate } from './text.js';

export const callbackIds = {
  request: 'jit.request_modal',
  deny: 'jit.deny_modal',
  revoke: 'jit.revoke_modal',
  extend: 'jit.extend_modal',
  extensionDeny: 'jit.extension_deny_modal',
} as const;

/** Block and action ids of the request modal's inputs, read back on submission. */
export const requestFields = {
  resource: { block: 'resource', action: 'resource' },
  duration: { block: 'duration', action: 'duration' },
  reason: { block: 'reason', action: 'reason' },
} as const;

export const denyFields = { reason: { block: 'reason', action: 'reason' } } as const;

export const revokeFields = { reason: { block: 'reason', action: 'reason' } } as const;

export const extendFields = {
  duration: { block: 'duration', action: 'duration' },
  reason: { block: 'reason', action: 'reason' },
} as const;

export interface ResourceOption {
  name: string;
  description: string;
  defaultSec: number;
  maxSec: number;
}

/** What the modal carries from the slash command to its submission. */
export interface RequestModalMetadata {
  channelId: string | null;
}

export function requestModal(
  resources: readonly ResourceOption[],
  metadata: RequestModalMetadata,
): types.ModalView {
  // Slack allows 100 options in a static select; a policy with more resources is unusual enough
  // that the slash-command form covers the rest.
  const options = resources.slice(0, 100).map((r) => ({
    text: { type: 'plain_text' as const, text: truncate(r.name, 75) },
    description: {
      type: 'plain_text' as const,
      text: truncate(
        `${r.description} (default ${formatDuration(r.defaultSec)}, max ${formatDuration(r.maxSec)})`,
        75,
      ),
    },
    value: r.name,
  }));
  if (options.length === 0) {
    // Slack rejects a select without options; without inputs there is nothing to submit either.
    return modal({
      callbackId: callbackIds.request,
      metadata,
      title: 'Request access',
      close: 'Close',
      blocks: [
        textSection('No resources are configured yet. Ask the security team to add one to the policy file.'),
      ],
    });
  }
  return modal({
    callbackId: callbackIds.request,
    metadata,
    title: 'Request access',
    submit: 'Request',
    close: 'Cancel',
    blocks: [
      {
        type: 'input',
        block_id: requestFields.resource.block,
        label: { type: 'plain_text', text: 'Resource' },
        element: {
          type: 'static_select',
          action_id: requestFields.resource.action,
          placeholder: { type: 'plain_text', text: 'Choose a resource' },
          options,
        },
      },
      {
        type: 'input',
        block_id: requestFields.duration.block,
        optional: true,
        label: { type: 'plain_text', text: 'Duration' },
        hint: { type: 'plain_text', text: 'e.g. 30m, 2h, 1h30m. Empty means the resource default.' },
        element: {
          type: 'plain_text_input',
          action_id: requestFields.duration.action,
          placeholder: { type: 'plain_text', text: '1h' },
        },
      },
      reasonInput(requestFields.reason, { hint: 'What you need it for: incident, ticket or PR link.' }),
    ],
  });
}

/** What the deny modal carries: which request, and which message to update afterwards. */
export interface DenyModalMetadata {
  requestId: string;
}

export function denyModal(metadata: DenyModalMetadata): types.ModalView {
  return reasonModal({
    callbackId: callbackIds.deny,
    metadata,
    title: 'Deny request',
    submit: 'Deny',
    explanation: `Denying *${metadata.requestId}*. The requester will see your reason.`,
    reason: denyFields.reason,
  });
}

/** What the revoke modal carries to its submission: only the id; the rest is read again then. */
export interface RevokeModalMetadata {
  requestId: string;
}

/** The Revoke button's second step: the reason, which the requester is shown. */
export function revokeModal(grant: { id: string; requesterId: string; resource: string }): types.ModalView {
  const metadata: RevokeModalMetadata = { requestId: grant.id };
  return reasonModal({
    callbackId: callbackIds.revoke,
    metadata,
    title: 'Revoke access',
    submit: 'Revoke',
    explanation: `Revoking *${grant.id}*: ${mention(grant.requesterId)} loses ${code(grant.resource)} at once. They will see your reason.`,
    reason: revokeFields.reason,
  });
}

/** Shown in place of the revoke modal when the revoke did something other than revoke. */
export function revokeOutcomeModal(lines: readonly string[]): types.ModalView {
  return outcomeModal(callbackIds.revoke, 'Revoke access', lines.join('\n'));
}

/** What the extend modal carries to its submission: only the id; the grant is read again then. */
export interface ExtendModalMetadata {
  requestId: string;
}

/** The Extend button's form: how much more time, and optionally why. */
export function extendModal(grant: {
  id: string;
  resource: string;
  expiresAt: Date | null;
  maxSec: number;
}): types.ModalView {
  const metadata: ExtendModalMetadata = { requestId: grant.id };
  const until = grant.expiresAt ? ` until ${slackDate(grant.expiresAt)}` : '';
  return modal({
    callbackId: callbackIds.extend,
    metadata,
    title: 'Extend access',
    submit: 'Ask',
    close: 'Cancel',
    blocks: [
      textSection(
        `You have ${code(grant.resource)}${until} (*${grant.id}*). The time you ask for is added to that. ` +
          `Past a total of ${formatDuration(grant.maxSec)}, only the approvers can allow it.`,
      ),
      {
        type: 'input',
        block_id: extendFields.duration.block,
        label: { type: 'plain_text', text: 'More time' },
        hint: { type: 'plain_text', text: 'e.g. 30m, 1h, 1h30m' },
        element: {
          type: 'plain_text_input',
          action_id: extendFields.duration.action,
          placeholder: { type: 'plain_text', text: '30m' },
          max_length: 20,
        },
      },
      reasonInput(extendFields.reason, {
        optional: true,
        hint: 'Why you need longer; empty keeps the request’s reason.',
      }),
    ],
  });
}

/** Shown in place of the extend modal once the ask is recorded: applied, asked, or refused. */
export function extendOutcomeModal(text: string): types.ModalView {
  return outcomeModal(callbackIds.extend, 'Extend access', text);
}

/** What the extension's deny modal carries: which extension, and the message to update after. */
export interface ExtensionDenyModalMetadata {
  extensionId: string;
  channel: string | null;
  ts: string | null;
}

export function extensionDenyModal(metadata: ExtensionDenyModalMetadata): types.ModalView {
  return reasonModal({
    callbackId: callbackIds.extensionDeny,
    metadata,
    title: 'Deny extension',
    submit: 'Deny',
    explanation: `Denying *${metadata.extensionId}*: the grant ends as planned. The requester will see your reason.`,
    reason: denyFields.reason,
  });
}

/** The frame every modal shares; `submit` is left out when there is nothing to submit. */
function modal(options: {
  callbackId: string;
  metadata: unknown;
  title: string;
  submit?: string;
  close: string;
  blocks: types.ModalView['blocks'];
}): types.ModalView {
  return {
    type: 'modal',
    callback_id: options.callbackId,
    private_metadata: JSON.stringify(options.metadata),
    title: { type: 'plain_text', text: options.title },
    ...(options.submit ? { submit: { type: 'plain_text', text: options.submit } } : {}),
    close: { type: 'plain_text', text: options.close },
    blocks: options.blocks,
  };
}

/** Where an input sits in the modal and under which action id its value comes back. */
interface FieldIds {
  block: string;
  action: string;
}

/** A form that says what is about to happen and asks why: deny, revoke, deny an extension. */
function reasonModal(options: {
  callbackId: string;
  metadata: unknown;
  title: string;
  submit: string;
  explanation: string;
  reason: FieldIds;
}): types.ModalView {
  return modal({
    callbackId: options.callbackId,
    metadata: options.metadata,
    title: options.title,
    submit: options.submit,
    close: 'Cancel',
    blocks: [textSection(options.explanation), reasonInput(options.reason)],
  });
}

/** What a form turns into once its submission is handled: what happened, and Close. */
function outcomeModal(callbackId: string, title: string, text: string): types.ModalView {
  return modal({
    callbackId,
    metadata: {},
    title,
    close: 'Close',
    blocks: [textSection(truncate(text, 3000))],
  });
}

function textSection(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

/** The free-text reason; Slack stops the typing at the length `checkReason` accepts. */
function reasonInput(field: FieldIds, options: { optional?: boolean; hint?: string } = {}): types.InputBlock {
  return {
    type: 'input',
    block_id: field.block,
    ...(options.optional ? { optional: true } : {}),
    label: { type: 'plain_text', text: 'Reason' },
    ...(options.hint ? { hint: { type: 'plain_text', text: options.hint } } : {}),
    element: {
      type: 'plain_text_input',
      action_id: field.action,
      multiline: true,
      max_length: maxReasonLength,
    },
  };
}
