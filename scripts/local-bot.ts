/**
 * The real bot on this machine for the demo and the sandbox: HTTP mode, the local PostgreSQL and
 * Redis, the PostgreSQL role provider on seeded roles and logins, and the in-repo fake of Slack's
 * Web API in place of Slack (its token is the fake's own; a real token is never used).
 */
import { escapeIdentifier } from 'pg';
import { type RunningBot, startBot } from '../src/bot.js';
import { loadEnv } from '../src/config/env.js';
import { parsePolicy } from '../src/config/policy.js';
import { applyMigrations } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { type FakeSlack, startFakeSlack } from '../test/support/fake-slack.js';

export const secret = 'local-signing-secret';
export const securityChannel = 'C0SECURITY';
export const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://jit:jit@127.0.0.1:5432/jit';
const providerUrl =
  process.env.DEMO_PROVIDER_URL ?? 'postgresql://jit_granter:jit_granter@127.0.0.1:5432/jit';

/** Prefix of the demo's roles and logins (tests running side by side each take their own). */
const prefix = process.env.JIT_DEMO_PREFIX ?? 'jit_demo';

/** The people of the local workspace, their part, and their database login (if any). */
export const people = {
  alice: { id: 'UDEMOALICE', name: 'alice', part: 'requester', login: `${prefix}_alice` },
  bob: { id: 'UDEMOBOB', name: 'bob', part: 'approver (first level)', login: null },
  carol: { id: 'UDEMOCAROL', name: 'carol', part: 'approver (second level)', login: null },
  sec: { id: 'UDEMOSEC', name: 'sec', part: 'security team', login: null },
  gus: { id: 'UDEMOGUS', name: 'gus', part: 'guest account', login: `${prefix}_gus` },
} as const;

/** The target roles, one per resource. */
export const roles = { write: `${prefix}_prod_write`, admin: `${prefix}_prod_admin` } as const;

const policyText = `
securityChannel: ${securityChannel}
admins: { users: [${people.sec.id}] }
identity: { emailDomains: [example.com] }
providers:
  proddb:
    type: postgres
    url: \${DEMO_PROVIDER_URL}
resources:
  prod-db-write:
    description: Write access to the production database (demo role ${roles.write})
    provider: proddb
    grant: { role: ${roles.write} }
    duration: { default: 1h, max: 4h }
    approvals:
      - from: { users: [${people.bob.id}] }
    optOut: { guests: deny }
    # Try \`/jit break-glass prod-db-write 15m INC-1 primary down\` as alice; sec reviews it.
    breakGlass: { maxDuration: 30m, reviewers: { users: [${people.sec.id}] }, limit: { count: 5, per: 1h } }
  prod-db-admin:
    description: Admin on the production database (demo role ${roles.admin}), two approval levels
    provider: proddb
    grant: { role: ${roles.admin} }
    duration: { default: 30m, max: 2h }
    approvals:
      - from: { users: [${people.bob.id}] }
      - from: { users: [${people.carol.id}] }
`;

/** The demo roles and logins on the local PostgreSQL (created once, kept between runs). */
async function prepareDatabaseRoles(): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const wanted: Array<[string, string]> = [
      [roles.write, 'NOLOGIN'],
      [roles.admin, 'NOLOGIN'],
      [people.alice.login, "LOGIN PASSWORD 'demo'"],
      [people.gus.login, "LOGIN PASSWORD 'demo'"],
    ];
    // A fresh database of the compose demo has no provider login yet (scripts/services.sh makes
    // it elsewhere); only there is one with a known password created.
    if (process.env.JIT_SANDBOX_CREATE_GRANTER === '1') {
      wanted.push(['jit_granter', "LOGIN PASSWORD 'jit_granter' IN ROLE pg_signal_backend"]);
    }
    for (const [name, options] of wanted) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
      if (!rowCount) await client.query(`CREATE ROLE ${escapeIdentifier(name)} ${options}`);
    }
    for (const role of Object.values(roles)) {
      await client.query(`GRANT ${escapeIdentifier(role)} TO jit_granter WITH ADMIN OPTION`);
    }
  } finally {
    await client.end();
  }
}

/** Who holds which demo role on the target database right now. */
export async function memberships(): Promise<Array<{ login: string; role: string }>> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ login: string; role: string }>(
      `SELECT u.rolname AS login, r.rolname AS role
       FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
       WHERE r.rolname = ANY($1) AND u.rolname <> 'jit_granter' ORDER BY 1, 2`,
      [Object.values(roles)],
    );
    return rows;
  } finally {
    await client.end();
  }
}

export interface LocalBot {
  bot: RunningBot;
  fake: FakeSlack;
  /** Where Slack would send slash commands, interactions and events. */
  eventsUrl: string;
  stop(): Promise<void>;
}

export async function startLocalBot(options: { queuePrefix: string }): Promise<LocalBot> {
  await applyMigrations(databaseUrl);
  await prepareDatabaseRoles();
  const fake = await startFakeSlack();
  for (const person of Object.values(people)) {
    fake.addUser({
      id: person.id,
      name: person.name,
      email: `${person.login ?? person.name}@example.com`,
      ...(person === people.gus ? { isRestricted: true } : {}),
    });
  }
  const policy = parsePolicy(policyText, { DEMO_PROVIDER_URL: providerUrl });
  const env = loadEnv({
    SLACK_BOT_TOKEN: fake.token,
    SLACK_SIGNING_SECRET: secret,
    SLACK_API_URL: fake.apiUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL,
    PORT: process.env.PORT ?? '3000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const bot = await startBot({
    env,
    policy,
    logger: createLogger(env.LOG_LEVEL),
    queuePrefix: options.queuePrefix,
  });
  return {
    bot,
    fake,
    eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`,
    async stop() {
      await bot.stop();
      await fake.close();
    },
  };
}
