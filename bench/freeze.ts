import { escapeIdentifier } from 'pg';
import { freeze } from '../src/app/freeze.js';
import { createWorld, people } from './bot.js';
import { seedActiveGrants } from './grants.js';
import { countMemberships, granterUrl, grantMemberships, withClient } from './services.js';
import { type BenchResult, envInt, since } from './stats.js';

const ROLES = 10;

/**
 * `freeze all` with N active grants (real memberships on PostgreSQL): time from calling the use
 * case the slash command calls until it returns, every grant then revoked on PostgreSQL and
 * recorded. The bot runs whole, so its workers pick up the notifications meanwhile.
 *
 * Baseline: the same memberships taken back by a plain loop of one REVOKE per grant on one
 * connection of the provider's login (for context: what a script would do).
 */
export async function freezeBench(): Promise<BenchResult> {
  const total = envInt('BENCH_FREEZE_N', 1_000);
  const world = await createWorld({ roles: ROLES, logins: Math.ceil(total / ROLES) });
  try {
    const bot = await world.startBot();
    const far = new Date(Date.now() + 3_600_000);
    await seedActiveGrants(world, () => far, total);
    const memberships = await membershipsOf(world.roles.roles, world.roles.logins, total);

    const baseline = await revokeLoop(memberships);
    await grantMemberships(groupByRole(memberships));

    const started = performance.now();
    const result = await freeze(bot.deps, {
      actorId: people.admin,
      scope: { scope: 'all' },
      reason: 'benchmark: suspected credential leak',
    });
    const elapsed = since(started);
    const left = await countMemberships(world.roles.roles, world.roles.logins);
    const revoked = await world.db.prisma.accessRequest.count({ where: { state: 'revoked' } });
    return {
      name: 'freeze',
      baseline: `plain loop of ${total} REVOKE statements on one connection`,
      rows: [
        {
          metric: `freeze all, ${total} grants`,
          ours: elapsed,
          baseline,
          unit: 'ms',
          goal: '< 5 s',
          met: elapsed < 5_000 && left === 0 && revoked === total,
        },
      ],
      notes: [
        `${ROLES} roles × ${Math.ceil(total / ROLES)} logins; revoked and recorded: ${revoked} of ${total} (use case said ${result.revocation.revoked.length}); memberships left on PostgreSQL: ${left}`,
      ],
    };
  } finally {
    await world.close();
  }
}

type Membership = { role: string; login: string };

/** The memberships seeded for `total` grants (see seedActiveGrants). */
async function membershipsOf(roles: string[], logins: string[], total: number): Promise<Membership[]> {
  const out: Membership[] = [];
  for (let i = 0; i < total; i++) {
    out.push({
      role: roles[i % roles.length] as string,
      login: logins[Math.floor(i / roles.length)] as string,
    });
  }
  const held = await countMemberships(roles, logins);
  if (held !== total) throw new Error(`expected ${total} memberships before the freeze, found ${held}`);
  return out;
}

function groupByRole(memberships: readonly Membership[]): Map<string, string[]> {
  const byRole = new Map<string, string[]>();
  for (const { role, login } of memberships) {
    const logins = byRole.get(role) ?? [];
    logins.push(login);
    byRole.set(role, logins);
  }
  return byRole;
}

/** The baseline run; returns its duration in ms. */
async function revokeLoop(memberships: readonly Membership[]): Promise<number> {
  return withClient(granterUrl, async (client) => {
    const started = performance.now();
    for (const { role, login } of memberships) {
      await client.query(`REVOKE ${escapeIdentifier(role)} FROM ${escapeIdentifier(login)}`);
    }
    return since(started);
  });
}
