import { appendAuditEvent } from '../audit/chain.js';
import { mayHoldAccess } from '../domain/lifecycle.js';
import type { AccessRequest } from '../generated/prisma/client.js';
import { afterCommit } from './after-commit.js';
import type { Deps } from './deps.js';
import { ProviderUnavailable } from './errors.js';
import { freezesCovering } from './freeze.js';
import { recordPrepared, snapshotOf } from './grant-snapshot.js';
import { grantTargetFor } from './grant-target.js';
import type { GrantTarget, ManagedGrant, Provider } from './provider.js';
import { lockRequest } from './transition.js';

/**
 * Drift detection: the targets are asked whether they hold what the database says. An active
 * grant whose access vanished (someone removed it by hand) is granted again; a grant that ended
 * recently but whose access is back or still there (re-added behind the bot's back, or a revoke
 * that did not take) is revoked again. Every fix is an audit event, so the security channel sees
 * it. A target that cannot answer is skipped this round: nothing is ever fixed on a guess.
 */

export const driftActor = 'drift';

/** How long after its end a grant is still checked for access that came back. */
export const driftEndedWindowMs = 24 * 60 * 60 * 1000;

const endedStates = ['expired', 'released', 'revoked', 'grant_failed'] as const;

export interface DriftOptions {
  /**
   * Whether the grant is being taken back right now (a revoke waiting for its retry): its access
   * may be half gone, and granting it again would undo the revoke.
   */
  ending?(requestId: string): Promise<boolean>;
}

export interface DriftReport {
  /** Grants the target holds as the database says. */
  verified: number;
  /** Active grants whose access had vanished, granted again. */
  regranted: string[];
  /** Ended grants whose access was there, revoked again. */
  revoked: string[];
  /** Not decided this round: the target could not say, a fix failed, or the grant is ending. */
  skipped: string[];
  /**
   * Grants found on a target by the bot's own mark (a label) whose request has ended or is
   * unknown, removed: `provider/ref`. Only providers that mark their grants report these.
   */
  leftovers: string[];
}

type Verdict = 'verified' | 'regranted' | 'revoked' | 'skipped' | 'ignored';

export async function detectDrift(deps: Deps, options: DriftOptions = {}): Promise<DriftReport> {
  const report: DriftReport = { verified: 0, regranted: [], revoked: [], skipped: [], leftovers: [] };
  const now = deps.clock.now();
  const round = new Round(deps, options);
  // Past their end the expiry job is taking them back; that is not drift.
  const active = await deps.db.accessRequest.findMany({
    where: { state: 'active', expiresAt: { gt: now } },
    orderBy: { grantedAt: 'asc' },
  });
  for (const grant of active) tally(report, grant.id, await round.checkActive(grant));
  const ended = await deps.db.accessRequest.findMany({
    where: {
      state: { in: [...endedStates] },
      endedAt: { gte: new Date(now.getTime() - driftEndedWindowMs) },
    },
    // Newest first: access found on the target is most likely that of the latest grant.
    orderBy: { endedAt: 'desc' },
  });
  for (const grant of ended) tally(report, grant.id, await round.checkEnded(grant));
  report.leftovers = await removeLeftovers(deps);
  if (report.regranted.length + report.revoked.length + report.leftovers.length > 0) {
    deps.logger.warn(report, 'drift fixed');
  }
  return report;
}

/**
 * Marked grants on the targets that no request may hold any more: the request ended longer ago
 * than the ended-grant check looks back, the bot lost track (a restore from an older backup), or
 * nobody ever asked (a copy of a marked object). Each removal is an urgent audit event.
 */
async function removeLeftovers(deps: Deps): Promise<string[]> {
  const removed: string[] = [];
  for (const [name, provider] of deps.providers) {
    if (!provider.listManaged || !provider.removeManaged) continue;
    let found: ManagedGrant[];
    try {
      found = await provider.listManaged();
    } catch (error) {
      deps.logger.warn({ provider: name, err: error }, 'drift could not list marked grants this round');
      continue;
    }
    if (found.length === 0) continue;
    const requests = await deps.db.accessRequest.findMany({
      where: { id: { in: [...new Set(found.map((grant) => grant.requestId))] } },
      select: { id: true, state: true },
    });
    const states = new Map(requests.map((request) => [request.id, request.state]));
    for (const grant of found) {
      const state = states.get(grant.requestId);
      if (state !== undefined && mayHoldAccess(state)) continue;
      try {
        await provider.removeManaged(grant);
      } catch (error) {
        deps.logger.warn(
          { provider: name, ref: grant.ref, err: error },
          'drift could not remove a marked grant',
        );
        continue;
      }
      removed.push(`${name}/${grant.ref}`);
      const now = deps.clock.now();
      const auditId = await deps.db.$transaction((tx) =>
        appendAuditEvent(
          tx,
          {
            requestId: state === undefined ? null : grant.requestId,
            actor: driftActor,
            action: 'drift.revoked',
            details: {
              found: "a grant marked as the bot's left on the target",
              provider: name,
              object: grant.ref,
              markedRequest: grant.requestId,
              state: state ?? 'unknown request',
            },
          },
          now,
        ),
      );
      await deps.jobs.postAudit([auditId], { urgent: true });
    }
  }
  return removed;
}

function tally(report: DriftReport, id: string, verdict: Verdict): void {
  if (verdict === 'verified') report.verified++;
  else if (verdict === 'skipped') report.skipped.push(id);
  else if (verdict === 'regranted' || verdict === 'revoked') report[verdict].push(id);
}

class Round {
  /** Providers that did not answer this round: one timeout each is enough. */
  private readonly unreachable = new Set<string>();

  constructor(
    private readonly deps: Deps,
    private readonly options: DriftOptions,
  ) {}

  async checkActive(grant: AccessRequest): Promise<Verdict> {
    if (await this.options.ending?.(grant.id)) return 'skipped';
    // A freeze's revocation (or the sweep's) takes these back; granting them again would fight it.
    if ((await freezesCovering(this.deps, grant)).length > 0) return 'skipped';
    const held = await this.ask(grant, (provider, target) => provider.verify(target));
    if (held === undefined) return 'skipped';
    if (held) return this.markVerified(grant, { state: 'active' });
    const regranted = await this.ask(grant, async (provider, target) => {
      // Like a first grant: what it will create is on record before the target acts.
      const created = provider.prepare ? await provider.prepare(target) : {};
      if (provider.prepare && !(await recordPrepared(this.deps, grant.id, 'active', created))) return false;
      await provider.grant({ ...target, details: { ...target.details, ...created } });
      return true;
    });
    if (!regranted) return 'skipped';
    return this.recordRegrant(grant);
  }

  async checkEnded(grant: AccessRequest): Promise<Verdict> {
    // The same access may rightly be held through a newer grant of the same user.
    if (await this.heldByAnotherGrant(grant)) return 'ignored';
    const held = await this.ask(grant, (provider, target) => provider.verify(target));
    if (held === undefined) return 'skipped';
    if (!held) return this.markVerified(grant, {});
    if (await this.heldByAnotherGrant(grant)) return 'ignored';
    const revoked = await this.ask(grant, async (provider, target) => {
      await provider.revoke(target);
      return true;
    });
    if (!revoked) {
      await this.report(grant, 'drift.revoke_failed', { once: true });
      return 'skipped';
    }
    await this.report(grant, 'drift.revoked', { verified: true });
    return 'revoked';
  }

  /**
   * Records the re-grant. The version moves, so an end that revoked on the target before this
   * grant and records after it finds the row changed and revokes once more. If the grant ended
   * meanwhile, what was just granted is taken back.
   */
  private async recordRegrant(grant: AccessRequest): Promise<Verdict> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.$transaction(async (tx) => {
      const current = await lockRequest(tx, grant.id);
      if (current.state !== 'active') return { state: current.state, auditId: null };
      await tx.accessRequest.update({
        where: { id: grant.id },
        data: { verifiedAt: now, version: { increment: 1 } },
      });
      const auditId = await appendAuditEvent(tx, this.event(grant, 'drift.regranted'), now);
      return { state: current.state, auditId };
    });
    if (outcome.auditId !== null) {
      const auditId = outcome.auditId;
      await afterCommit(this.deps, grant.id, [() => this.deps.jobs.postAudit([auditId])]);
      return 'regranted';
    }
    if (!mayHoldAccess(outcome.state)) {
      // Ended while we granted: the next round's check of ended grants repeats this if it fails.
      await this.ask(grant, async (provider, target) => {
        await provider.revoke(target);
        return true;
      });
    }
    return 'skipped';
  }

  private async markVerified(grant: AccessRequest, where: { state?: 'active' }): Promise<Verdict> {
    // Not a transition: no version bump, no audit event.
    await this.deps.db.accessRequest.updateMany({
      where: { id: grant.id, ...where },
      data: { verifiedAt: this.deps.clock.now() },
    });
    return 'verified';
  }

  private async report(
    grant: AccessRequest,
    action: 'drift.revoked' | 'drift.revoke_failed',
    options: { verified?: boolean; once?: boolean },
  ): Promise<void> {
    const now = this.deps.clock.now();
    const auditId = await this.deps.db.$transaction(async (tx) => {
      // One alert per grant for a revoke that keeps failing, not one per round.
      if (options.once && (await tx.auditEvent.findFirst({ where: { requestId: grant.id, action } }))) {
        return null;
      }
      if (options.verified) {
        await tx.accessRequest.update({ where: { id: grant.id }, data: { verifiedAt: now } });
      }
      return appendAuditEvent(tx, this.event(grant, action), now);
    });
    // Access found where it should not be, or a revoke that did not take: an alert.
    const urgent = { urgent: true };
    if (auditId !== null) {
      await afterCommit(this.deps, grant.id, [() => this.deps.jobs.postAudit([auditId], urgent)]);
    }
  }

  private event(grant: AccessRequest, action: string) {
    const found =
      action === 'drift.regranted' ? 'access missing on the target' : 'access still on the target';
    return {
      requestId: grant.id,
      actor: driftActor,
      action,
      details: { state: grant.state, identity: grant.identity, found },
    };
  }

  /** Whether an approved or active grant of the same user holds the same access on the target. */
  private async heldByAnotherGrant(grant: AccessRequest): Promise<boolean> {
    const key = this.accessKey(grant);
    if (key === null) return false;
    const holders = await this.deps.db.accessRequest.findMany({
      where: { requesterId: grant.requesterId, state: { in: ['approved', 'active'] } },
    });
    return holders.some((holder) => this.accessKey(holder) === key);
  }

  /** Provider, grant block and identity: what a grant holds on its target. */
  private accessKey(grant: AccessRequest): string | null {
    const snapshot = snapshotOf(this.deps.policy, grant);
    if (!snapshot) return null;
    const block = Object.keys(snapshot.grant)
      .sort()
      .map((key) => [key, snapshot.grant[key]]);
    return JSON.stringify([snapshot.provider, block, grant.identity]);
  }

  /** Runs one provider call; undefined when the target could not do it (logged, skipped). */
  private async ask<T>(
    grant: AccessRequest,
    work: (provider: Provider, target: GrantTarget) => Promise<T>,
  ): Promise<T | undefined> {
    const providerName = snapshotOf(this.deps.policy, grant)?.provider ?? '?';
    if (this.unreachable.has(providerName)) return undefined;
    try {
      const { provider, target } = grantTargetFor(this.deps, grant, grant.expiresAt ?? this.deps.clock.now());
      return await work(provider, target);
    } catch (error) {
      if (error instanceof ProviderUnavailable) this.unreachable.add(providerName);
      this.deps.logger.warn(
        { requestId: grant.id, provider: providerName, err: error },
        'drift check skipped this grant this round',
      );
      return undefined;
    }
  }
}
