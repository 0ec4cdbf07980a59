import { appendAuditEvent } from '../audit/chain.js';
import { afterCommit } from './after-commit.js';
import type { Deps } from './deps.js';

/**
 * Refusals of people (a non-approver's click, a non-admin's `/jit freeze`, a foreign identity)
 * are audited, and so posted to the security channel, but only up to a few per person and
 * window, counted in Redis across every replica: someone clicking Approve in a loop must not
 * bury the alerts that matter under their own refusals. Past the cap a refusal is logged only,
 * and the next one audited says how many were left out (`notAuditedBefore`).
 */
export interface RefusalEvent {
  requestId: string | null;
  actor: string;
  action: 'approval.refused' | 'approval.reauth_failed' | 'admin.refused' | 'identity.refused';
  fromState?: string;
  toState?: string;
  details: Record<string, unknown>;
}

export async function auditRefusal(deps: Deps, event: RefusalEvent): Promise<void> {
  const slot = await deps.limits.refusalAudit(event.actor);
  if (!slot.audit) {
    const log = deps.logger.child({ actor: event.actor, requestId: event.requestId });
    log.warn({ action: event.action, details: event.details }, 'refusal not audited: over the per-user cap');
    return;
  }
  const details =
    slot.notAuditedBefore > 0 ? { ...event.details, notAuditedBefore: slot.notAuditedBefore } : event.details;
  const auditId = await deps.db.$transaction((tx) =>
    appendAuditEvent(
      tx,
      {
        requestId: event.requestId,
        actor: event.actor,
        action: event.action,
        ...(event.fromState ? { fromState: event.fromState } : {}),
        ...(event.toState ? { toState: event.toState } : {}),
        details,
      },
      deps.clock.now(),
    ),
  );
  await afterCommit(deps, event.requestId ?? '-', [() => deps.jobs.postAudit([auditId])]);
}
