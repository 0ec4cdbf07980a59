import type { Check } from '../domain/policy.js';

/**
 * The few kinds of failure a use case reports. `slack/messages.ts` maps each to what the user
 * sees; everything else is a bug and is logged, never shown.
 */
export class AppError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The actor may not do this (not an approver, own request, not an admin). */
export class NotAllowed extends AppError {}

/** No such request, resource or user. */
export class NotFound extends AppError {}

/** The input is malformed or outside what policy allows; the message says what is allowed. */
export class InvalidInput extends AppError {
  /** The form field at fault, when the input came from one (`resource`, `duration`, `reason`). */
  readonly field: string | undefined;

  constructor(message: string, options: { field?: string } = {}) {
    super(message);
    this.field = options.field;
  }
}

/**
 * The identity has no account on the target (yet): a gap in setting someone up, told to the
 * requester but not audited, unlike an identity the target refuses (a superuser, say).
 */
export class UnknownIdentity extends InvalidInput {}

/** The request is no longer in a state where this makes sense (already decided, already ended). */
export class Conflict extends AppError {}

/**
 * The target system could not be reached or refused for a passing reason: retry later.
 * Permanent provider failures (unknown login, missing role) are `InvalidInput`.
 */
export class ProviderUnavailable extends AppError {}

/** The value of a passed domain check, or `InvalidInput` carrying its reason as a sentence. */
export function checked<T>(check: Check<T>, field?: string): T {
  if (!check.ok) throw new InvalidInput(sentence(check.reason), field ? { field } : {});
  return check.value;
}

/** Domain reasons are clauses (`you cannot…`); users read sentences. */
export function sentence(clause: string): string {
  return `${clause.charAt(0).toUpperCase()}${clause.slice(1)}.`;
}
