/**
 * Freezes: the security team's brake. A freeze covers everything, one resource, or one requester;
 * while it stands, requests in its scope are denied and grants in it are revoked. Pure.
 */

export type FreezeScope =
  | { scope: 'all' }
  | { scope: 'resource'; resource: string }
  | { scope: 'user'; userId: string };

/** A freeze as stored: `target` is the resource or user id, empty for `all`. */
export interface StoredScope {
  scope: string;
  target: string;
}

export interface FrozenSubject {
  resource: string;
  requesterId: string;
}

export function storedScope(freeze: FreezeScope): StoredScope {
  switch (freeze.scope) {
    case 'all':
      return { scope: 'all', target: '' };
    case 'resource':
      return { scope: 'resource', target: freeze.resource };
    case 'user':
      return { scope: 'user', target: freeze.userId };
  }
}

export function freezeCovers(freeze: StoredScope, subject: FrozenSubject): boolean {
  if (freeze.scope === 'all') return true;
  if (freeze.scope === 'resource') return freeze.target === subject.resource;
  if (freeze.scope === 'user') return freeze.target === subject.requesterId;
  return false;
}

/** The stored scopes that would cover `subject`: what to look up in the freezes table. */
export function scopesCovering(subject: FrozenSubject): StoredScope[] {
  return [
    { scope: 'all', target: '' },
    { scope: 'resource', target: subject.resource },
    { scope: 'user', target: subject.requesterId },
  ];
}
