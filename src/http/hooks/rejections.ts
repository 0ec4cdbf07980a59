import { afterCommit } from '../../app/after-commit.js';
import type { Deps } from '../../app/deps.js';
import { appendAuditEvent } from '../../audit/chain.js';

export type HookName = 'recall' | 'github';

/**
 * Audited rejections per hook and minute, per process. Rejections come before any
 * authentication, so without a cap anyone could flood the audit chain and the security channel
 * (whose posting is rate limited) and push real events back. Past the cap they are logged, and
 * the next audited rejection carries how many were left out.
 */
export class RejectionAuditBudget {
  private readonly windows = new Map<HookName, { startMs: number; used: number; suppressed: number }>();

  constructor(
    private readonly perWindow = 30,
    private readonly windowMs = 60_000,
  ) {}

  /** Whether to audit this rejection, and how many before it were not audited. */
  take(
    hook: HookName,
    now: Date,
  ): { audit: true; suppressedBefore: number } | { audit: false; first: boolean } {
    const nowMs = now.getTime();
    let window = this.windows.get(hook);
    if (!window || nowMs - window.startMs >= this.windowMs || nowMs < window.startMs) {
      window = { startMs: nowMs, used: 0, suppressed: window?.suppressed ?? 0 };
      this.windows.set(hook, window);
    }
    if (window.used >= this.perWindow) {
      window.suppressed += 1;
      return { audit: false, first: window.suppressed === 1 };
    }
    window.used += 1;
    const suppressedBefore = window.suppressed;
    window.suppressed = 0;
    return { audit: true, suppressedBefore };
  }
}

export interface Rejection {
  hook: HookName;
  status: number;
  /** Why, in our words: never the body, a header value or the secret. */
  why: string;
}

/**
 * Writes `hook.rejected` to the audit trail (and so to the security channel). A failure to audit
 * is logged and does not change the answer: the caller is refused either way.
 */
export async function auditRejection(
  deps: Deps,
  budget: RejectionAuditBudget,
  rejection: Rejection,
  from: string | undefined,
): Promise<void> {
  const log = deps.logger.child({ hook: rejection.hook });
  log.warn({ status: rejection.status, why: rejection.why, from }, 'hook call rejected');
  const now = deps.clock.now();
  const slot = budget.take(rejection.hook, now);
  if (!slot.audit) {
    if (slot.first) log.warn('too many rejected hook calls: further ones this minute are only logged');
    return;
  }
  const details = {
    ...rejection,
    ...(from ? { from } : {}),
    ...(slot.suppressedBefore > 0 ? { notAuditedBefore: slot.suppressedBefore } : {}),
  };
  try {
    const auditId = await deps.db.$transaction((tx) =>
      appendAuditEvent(tx, { actor: `hook:${rejection.hook}`, action: 'hook.rejected', details }, now),
    );
    await afterCommit(deps, '-', [() => deps.jobs.postAudit([auditId])]);
  } catch (err) {
    log.error({ err }, 'the rejected hook call could not be audited');
  }
}
