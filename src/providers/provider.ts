/**
 * What every provider implements. All three operations are idempotent: granting twice leaves one
 * grant, revoking what is not there succeeds. A provider throws `ProviderUnavailable` for failures
 * worth retrying and `InvalidInput` for failures no retry will fix.
 */
export interface GrantTarget {
  /** The request id, for logs and for providers that record it. */
  requestId: string;
  /** The requester's identity on the target (database login, username…). */
  identity: string;
  /** The requester's Slack user id, for providers whose identity is the Slack account itself. */
  userId?: string;
  /** The resource's name in the policy file, for providers that tell an outside system. */
  resource?: string;
  /** The resource's `grant` block from the policy file (provider-specific, already validated). */
  grant: Record<string, unknown>;
  /** When the grant is due to end; informational for providers that can enforce it themselves. */
  expiresAt: Date;
}

export interface Provider {
  readonly type: string;
  grant(target: GrantTarget): Promise<void>;
  revoke(target: GrantTarget): Promise<void>;
  /**
   * Revokes many grants in as few round trips as the target allows (freezes, bulk revokes). All
   * or nothing as far as the caller knows: when it throws, the caller revokes one by one.
   */
  revokeAll?(targets: readonly GrantTarget[]): Promise<void>;
  /** Whether the identity holds the access right now. */
  verify(target: GrantTarget): Promise<boolean>;
  /**
   * How many sessions the identity has open on the target right now, for idle recall. Providers
   * that cannot tell leave it out, and the policy refuses `recallAfterIdle` on their resources.
   * Throws rather than answering 0 when it cannot look: 0 means "idle", and idle gets recalled.
   */
  activeSessions?(target: GrantTarget): Promise<number>;
  close(): Promise<void>;
}
