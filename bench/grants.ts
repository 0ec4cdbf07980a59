import { randomBytes } from 'node:crypto';
import { newRequestId } from '../src/domain/ids.js';
import { type BenchWorld, requesterId, resourceName } from './bot.js';
import { chunks, grantMemberships } from './services.js';

/**
 * Active grants as the grant job leaves them: a row per grant in state `active`, and the role
 * really granted to the login on PostgreSQL. Grant `i` is resource `i % roles` for requester
 * `floor(i / roles)`, so each (login, role) pair is granted once and consecutive grants
 * alternate resources.
 */
export interface SeededGrant {
  id: string;
  expiresAt: Date;
}

export async function seedActiveGrants(
  world: BenchWorld,
  expiresAt: (i: number) => Date,
  count: number,
): Promise<SeededGrant[]> {
  const roleCount = world.roles.roles.length;
  if (count > roleCount * world.roles.logins.length) throw new Error('not enough (login, role) pairs');
  const ids = new Set<string>();
  while (ids.size < count) ids.add(newRequestId((n) => randomBytes(n)));
  const now = new Date();
  const rows = [...ids].map((id, i) => {
    const person = Math.floor(i / roleCount);
    const due = expiresAt(i);
    return {
      id,
      requesterId: requesterId(person),
      resource: resourceName(i % roleCount),
      reason: 'benchmark',
      durationSec: Math.max(1, Math.round((due.getTime() - now.getTime()) / 1000)),
      state: 'active' as const,
      version: 2,
      identity: world.roles.logins[person] as string,
      createdAt: now,
      decidedAt: now,
      decidedBy: 'UBENCHAPPR',
      grantedAt: now,
      expiresAt: due,
    };
  });
  for (const chunk of chunks(rows, 1_000)) await world.db.prisma.accessRequest.createMany({ data: chunk });

  const memberships = new Map<string, string[]>();
  for (const row of rows) {
    const role = world.roles.roles[Number(row.resource.slice('res-'.length))] as string;
    const logins = memberships.get(role) ?? [];
    logins.push(row.identity);
    memberships.set(role, logins);
  }
  await grantMemberships(memberships);
  return rows.map((row) => ({ id: row.id, expiresAt: row.expiresAt }));
}
