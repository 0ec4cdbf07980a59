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
  /**
   * What `prepare` said the grant would create besides the access itself (an organization
   * membership, say), as recorded on the request before the grant ran. Revoke and verify use it
   * to take back and check those too. Empty when there was nothing.
   */
  details?: Readonly<Record<string, unknown>>;
}

export interface Provider {
  readonly type: string;
  /**
   * Refuses (`InvalidInput`, saying why) an identity this provider must never grant to: one it
   * could not fully take back (a superuser whose sessions cannot be ended), a shared or service
   * account, a group. Asked when the request is made, and `grant` checks again itself. Throws
   * `ProviderUnavailable` when it cannot look right now.
   */
  checkIdentity?(target: GrantTarget): Promise<void>;
  /**
   * Asked before every grant attempt: what the grant would create besides the access itself (e.g.
   * `{ orgMembership: 'created' }` for a user not yet in the organization). The caller records
   * the answer on the request *before* calling `grant`, merged with what earlier attempts said,
   * and passes it back as `target.details` to grant, revoke and verify: a crash between the
   * target and the record cannot lose what has to be taken back.
   */
  prepare?(target: GrantTarget): Promise<Record<string, unknown>>;
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
  /**
   * What a grant to this target would touch, found without changing anything (read-only lookups
   * only): one line per identity or object, for `jit policy check --probe`. Throws what `grant`
   * would throw for an identity or object that is not fit (`InvalidInput`, `UnknownIdentity`).
   */
  probe?(target: GrantTarget): Promise<string[]>;
  /**
   * Grants on the target that carry this bot's own mark (a label, a tag), whatever the database
   * says: drift compares them with the requests and removes those whose request has ended or is
   * unknown. Providers whose grants carry no mark leave it out.
   */
  listManaged?(): Promise<ManagedGrant[]>;
  /** Removes one grant `listManaged` found; removing one that is gone succeeds. */
  removeManaged?(grant: ManagedGrant): Promise<void>;
  /**
   * For grants that are a login of their own, made for the request (PostgreSQL's `login:
   * per-request`): that login's name, shown to the requester instead of their identity. Null
   * (or left out) when the grant goes to the requester's own identity.
   */
  loginFor?(target: Pick<GrantTarget, 'requestId' | 'identity' | 'grant'>): string | null;
  /**
   * Sets a fresh password on the login `loginFor` names, valid until `target.expiresAt` on the
   * target itself, and returns it; each call replaces the one before. Only ever shown on the
   * bot's own credential page, never in Slack or a log.
   */
  issueCredential?(target: GrantTarget): Promise<IssuedCredential>;
  /**
   * The grant's end moved to `target.expiresAt` (an extension): providers that record or
   * enforce the expiry on the target itself move it too.
   */
  extend?(target: GrantTarget): Promise<void>;
  close(): Promise<void>;
}

/** A credential for a login made for one request. */
export interface IssuedCredential {
  login: string;
  password: string;
  /** When the target itself stops accepting it. */
  validUntil: Date;
}

/** A grant found on the target by the bot's own mark. */
export interface ManagedGrant {
  /** The request id the mark names. */
  requestId: string;
  /** The expiry the mark records, when it records one. */
  expiresAt: Date | null;
  /** How the provider finds the object again (`namespace/name`, say); shown in audit details. */
  ref: string;
}
