import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { envSchema, loadEnv } from '../../src/config/env.js';
import { parsePolicy } from '../../src/config/policy.js';

/**
 * The files an operator deploys from: if one drifts from the code (a renamed variable, a moved
 * build output, a dropped scope), this fails here instead of at someone's first `docker run`.
 */

const repoPath = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const readRepoFile = (path: string) => readFileSync(repoPath(path), 'utf8');

type Tree = Record<string, unknown>;

function asTree(value: unknown, what: string): Tree {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what} is not a mapping`);
  }
  return value as Tree;
}

function at(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) node = asTree(node, path)[key];
  return node;
}

/** Every string in a parsed YAML/JSON value, with its key path. */
function* stringsIn(value: unknown, path = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* stringsIn(item, `${path}[${i}]`);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      yield* stringsIn(item, path ? `${path}.${key}` : key);
    }
  }
}

describe('.env.example', () => {
  interface EnvEntry {
    name: string;
    value: string;
    comment: string[];
  }

  /** `NAME=value` lines, each with the comment lines right above it. */
  function readEnvExample(): EnvEntry[] {
    const entries: EnvEntry[] = [];
    let comment: string[] = [];
    for (const [i, line] of readRepoFile('.env.example').split('\n').entries()) {
      if (line.trim() === '') {
        comment = [];
      } else if (line.startsWith('#')) {
        comment.push(line.replace(/^#\s?/, ''));
      } else {
        const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
        if (!match) throw new Error(`.env.example line ${i + 1} is not NAME=value: ${line}`);
        entries.push({ name: match[1] as string, value: match[2] as string, comment });
        comment = [];
      }
    }
    return entries;
  }

  /** `${NAME}` references in the values (not the comments) of the example policy. */
  function policyVariables(): string[] {
    const names = new Set<string>();
    for (const [, text] of stringsIn(parseYaml(readRepoFile('jit.config.example.yaml')))) {
      for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(match[1] as string);
    }
    return [...names];
  }

  const schemaKeys = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];
  const isSchemaKey = (name: string): name is (typeof schemaKeys)[number] =>
    (schemaKeys as string[]).includes(name);

  it('names exactly the variables the bot reads plus those the example policy refers to', () => {
    const names = readEnvExample().map((entry) => entry.name);
    expect(new Set(names).size).toBe(names.length);
    expect(policyVariables()).toContain('PROD_DB_ADMIN_URL');
    expect([...names].sort()).toEqual([...schemaKeys, ...policyVariables()].sort());
  });

  it('says above each variable what it is, and whether it is required or optional', () => {
    for (const { name, comment } of readEnvExample()) {
      const first = comment[0] ?? '';
      expect(first, `comment above ${name}`).toMatch(/^(Required|Optional)\b/);
      if (!isSchemaKey(name)) continue;
      const required = !envSchema.shape[name].safeParse(undefined).success;
      expect(first.startsWith(required ? 'Required' : 'Optional'), `comment above ${name}`).toBe(true);
      const text = comment.join(' ');
      const fallback = envSchema.shape[name].safeParse(undefined);
      if (fallback.success && fallback.data !== undefined) {
        expect(text, `comment above ${name} names its default`).toContain(`default ${fallback.data}`);
      }
    }
  });

  it('is accepted by loadEnv once the placeholders are replaced, and shows the real defaults', () => {
    const entries = readEnvExample();
    const fromFile = Object.fromEntries(
      entries.filter((entry) => isSchemaKey(entry.name)).map((entry) => [entry.name, entry.value]),
    );
    const fakes = {
      SLACK_BOT_TOKEN: 'xoxb-0000000000-0000000000000-fakefakefakefakefakefake',
      SLACK_SIGNING_SECRET: '0123456789abcdef0123456789abcdef',
      SLACK_APP_TOKEN: 'xapp-1-A0000000000-0000000000000-fakefake',
      DATABASE_URL: 'postgresql://jit:secret@db.example.internal:5432/jit',
      JIT_HOOK_SECRET: 'f'.repeat(64),
      GITHUB_WEBHOOK_SECRET: 'g'.repeat(40),
    };
    const env = loadEnv({ ...fromFile, ...fakes });
    expect(env.SLACK_APP_TOKEN).toBe(fakes.SLACK_APP_TOKEN);
    expect(env.JIT_HOOK_SECRET).toBe(fakes.JIT_HOOK_SECRET);

    // Optional variables that the file fills in carry the value the bot would use without them.
    for (const { name, value } of entries) {
      if (!isSchemaKey(name) || value === '') continue;
      const fallback = envSchema.shape[name].safeParse(undefined);
      if (fallback.success && fallback.data !== undefined) {
        expect(envSchema.shape[name].parse(value), name).toEqual(fallback.data);
      }
    }
    // Placeholders look like placeholders, not like credentials someone pasted.
    expect(fromFile.SLACK_BOT_TOKEN).toBe('xoxb-your-bot-token');
    expect(fromFile.SLACK_SIGNING_SECRET).toBe('your-signing-secret');
  });
});

describe('jit.config.example.yaml', () => {
  const text = readRepoFile('jit.config.example.yaml');

  it('points editors at the JSON Schema', () => {
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./jit.config.schema.json');
  });

  it('is a valid policy with a one-level and a two-level resource', () => {
    const env = { PROD_DB_ADMIN_URL: 'postgresql://u:p@h/db' };
    const policy = parsePolicy(text, env, 'jit.config.example.yaml');
    expect(policy.securityChannel).toMatch(/^C/);
    expect(policy.admins.users.length + policy.admins.groups.length).toBeGreaterThan(0);
    expect(Object.values(policy.providers).map((provider) => provider.type)).toEqual(['postgres']);
    expect(policy.providers.proddb).toMatchObject({ url: 'postgresql://u:p@h/db' });
    expect(Object.keys(policy.providers.proddb?.identities ?? {}).length).toBeGreaterThan(0);

    const read = policy.resources['prod-db-read'];
    const write = policy.resources['prod-db-write'];
    expect(read?.approvals).toHaveLength(1);
    expect(read?.approvals[0]?.from.groups.length).toBeGreaterThan(0);
    expect(write?.approvals).toHaveLength(2);
    expect(write?.duration).toEqual({ default: 3600, max: 4 * 3600, min: 15 * 60 });
    expect(write?.autoApprove.length).toBeGreaterThan(0);
    expect(write?.optOut).toBeDefined();
  });

  it('does not start without the variables it refers to', () => {
    expect(() => parsePolicy(text, {})).toThrow(
      /providers\.proddb\.url: environment variable PROD_DB_ADMIN_URL/,
    );
  });
});

describe('manifest.yml', () => {
  const manifest = parseYaml(readRepoFile('manifest.yml')) as unknown;
  const requiredScopes = [
    'commands',
    'chat:write',
    'chat:write.public',
    'im:write',
    'users:read',
    'users:read.email',
    'usergroups:read',
  ];

  it('uses only keys Slack knows, in the sections the bot needs', () => {
    // Key sets from Slack's manifest schema (slackapi/manifest-schema), restricted to what jit-bot
    // sets: a typo such as `messages_tab_readonly_enabled` is rejected by Slack at import.
    const keys = (path: string) => Object.keys(asTree(path ? at(manifest, path) : manifest, path)).sort();
    expect(keys('')).toEqual(['display_information', 'features', 'oauth_config', 'settings']);
    expect(keys('features')).toEqual(['app_home', 'bot_user', 'slash_commands']);
    expect(keys('features.app_home')).toEqual([
      'home_tab_enabled',
      'messages_tab_enabled',
      'messages_tab_read_only_enabled',
    ]);
    expect(keys('settings')).toEqual([
      'event_subscriptions',
      'interactivity',
      'org_deploy_enabled',
      'socket_mode_enabled',
      'token_rotation_enabled',
    ]);
  });

  it('describes jit-bot with its bot user and App Home', () => {
    expect(at(manifest, 'display_information.name')).toBe('jit-bot');
    const description = at(manifest, 'display_information.description');
    expect(typeof description).toBe('string');
    expect((description as string).length).toBeLessThanOrEqual(140);
    expect(at(manifest, 'features.bot_user')).toEqual({ display_name: 'jit-bot', always_online: true });
    expect(at(manifest, 'features.app_home')).toEqual({
      home_tab_enabled: true,
      messages_tab_enabled: true,
      messages_tab_read_only_enabled: false,
    });
  });

  it('declares /jit with escaping on, so mentions arrive as <@U123|name>', () => {
    const commands = at(manifest, 'features.slash_commands') as Tree[];
    const jit = commands.find((command) => command.command === '/jit');
    expect(jit).toMatchObject({
      url: 'https://YOUR-HOST/slack/events',
      usage_hint: 'request <resource> <duration> <reason> | list | pending | release <id> | help',
      should_escape: true,
    });
    expect(typeof jit?.description).toBe('string');
  });

  it('asks for exactly the bot scopes the bot uses', () => {
    const scopes = at(manifest, 'oauth_config.scopes.bot') as string[];
    expect([...scopes].sort()).toEqual([...requiredScopes].sort());
    // Only the (planned) user-group provider needs to edit groups.
    expect(scopes).not.toContain('usergroups:write');
  });

  it('runs in HTTP mode with interactivity and the App Home event', () => {
    expect(at(manifest, 'settings.interactivity.is_enabled')).toBe(true);
    expect(at(manifest, 'settings.event_subscriptions.bot_events')).toEqual(['app_home_opened']);
    expect(at(manifest, 'settings.org_deploy_enabled')).toBe(false);
    expect(at(manifest, 'settings.socket_mode_enabled')).toBe(false);
    expect(at(manifest, 'settings.token_rotation_enabled')).toBe(false);
  });

  it('sends every request to /slack/events', () => {
    const urls = [...stringsIn(manifest)].filter(([path]) => /(^|\.)(request_)?url$/.test(path));
    expect(urls.map(([path]) => path).sort()).toEqual([
      'features.slash_commands[0].url',
      'settings.event_subscriptions.request_url',
      'settings.interactivity.request_url',
    ]);
    for (const [path, url] of urls) expect(url, path).toMatch(/^https:\/\/[^/]+\/slack\/events$/);
  });
});

describe('docker-compose.yml', () => {
  const compose = parseYaml(readRepoFile('docker-compose.yml')) as unknown;

  it('declares the app with its PostgreSQL and Redis', () => {
    const services = Object.keys(asTree(at(compose, 'services'), 'services'));
    expect(services.sort()).toEqual(['app', 'postgres', 'redis']);
    expect(at(compose, 'services.app.build')).toBe('.');
    expect(at(compose, 'services.app.env_file')).toBe('.env');
    expect(at(compose, 'services.app.volumes')).toContain('./jit.config.yaml:/app/jit.config.yaml:ro');
    expect(at(compose, 'services.app.environment.DATABASE_URL')).toMatch(
      /^postgresql:\/\/[^@]+@postgres:5432\//,
    );
    expect(at(compose, 'services.app.environment.REDIS_URL')).toBe('redis://redis:6379');
    expect(at(compose, 'services.app.depends_on')).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(String(at(compose, 'services.postgres.image'))).toMatch(/^postgres:16/);
    expect(String(at(compose, 'services.redis.image'))).toMatch(/^redis:7/);
  });

  it('keeps Redis from evicting BullMQ keys, with an append-only file', () => {
    const command = (at(compose, 'services.redis.command') as string[]).join(' ');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(command).toContain('--appendonly yes');
  });

  it('health-checks the services the app waits for', () => {
    expect(JSON.stringify(at(compose, 'services.postgres.healthcheck.test'))).toContain('pg_isready');
    expect(JSON.stringify(at(compose, 'services.redis.healthcheck.test'))).toContain('redis-cli ping');
  });
});

describe('Dockerfile', () => {
  interface Instruction {
    keyword: string;
    args: string;
  }
  interface Stage {
    name: string | undefined;
    instructions: Instruction[];
  }

  /** Instructions (continuation lines joined, comments dropped), grouped by FROM. */
  function readStages(): Stage[] {
    const lines: string[] = [];
    let pending = '';
    for (const raw of readRepoFile('Dockerfile').split('\n')) {
      // Docker drops comment lines, also in the middle of a continued instruction.
      if (/^\s*#/.test(raw)) continue;
      const line = pending + raw.trim();
      if (line.endsWith('\\')) pending = `${line.slice(0, -1).trimEnd()} `;
      else {
        pending = '';
        if (line !== '') lines.push(line);
      }
    }
    const stages: Stage[] = [];
    for (const line of lines) {
      const [keyword = '', ...rest] = line.split(/\s+/);
      const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
      if (instruction.keyword === 'FROM') {
        stages.push({ name: /\sAS\s+(\S+)$/i.exec(instruction.args)?.[1], instructions: [] });
      } else if (instruction.keyword !== 'ARG' || stages.length > 0) {
        stages.at(-1)?.instructions.push(instruction);
      }
    }
    return stages;
  }

  /** `.dockerignore` as Docker reads it: the last matching pattern wins, `!` re-includes. */
  function isDockerIgnored(path: string): boolean {
    const rules = readRepoFile('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const negated = line.startsWith('!');
        const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
        const source = pattern
          .split('/')
          .map((part) => (part === '**' ? '.*' : globToRegex(part)))
          .join('/')
          .replace(/\.\*\//g, '(?:.*/)?');
        return { negated, regex: new RegExp(`^${source}(?:/.*)?$`) };
      });
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negated;
    return ignored;
  }

  /** One path segment of a .dockerignore pattern: `*` and `?` stay within the segment. */
  function globToRegex(part: string): string {
    return part
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]');
  }

  function copySources(args: string): { from: string | undefined; sources: string[] } {
    const words = args.split(/\s+/);
    const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((word) => !word.startsWith('--'));
    return { from, sources: paths.slice(0, -1) };
  }

  const stages = readStages();
  const runtime = stages.at(-1) as Stage;
  const argsOf = (stage: Stage, keyword: string) =>
    stage.instructions.filter((item) => item.keyword === keyword).map((item) => item.args);

  it('builds in several stages and runs the compiled bot as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const users = argsOf(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(argsOf(runtime, 'CMD')).toEqual(['["node", "dist/main.js"]']);
    expect(argsOf(runtime, 'EXPOSE')).toContain('3000');
    expect(argsOf(runtime, 'ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
  });

  it('health-checks /healthz with node on the configured port', () => {
    const [healthcheck] = argsOf(runtime, 'HEALTHCHECK');
    expect(healthcheck).toMatch(/CMD node /);
    expect(healthcheck).toContain('http://127.0.0.1:${PORT:-3000}/healthz');
  });

  it('copies only files that exist in the build context or that a stage produces', () => {
    const tsconfigBuild = JSON.parse(readRepoFile('tsconfig.build.json')) as {
      compilerOptions: { outDir: string; rootDir: string };
    };
    const outDir = tsconfigBuild.compilerOptions.outDir.replace(/^\.\//, '');
    // CMD runs dist/main.js: tsc writes src/main.ts there only if rootDir/outDir say so.
    expect(tsconfigBuild.compilerOptions.rootDir.replace(/^\.\//, '')).toBe('src');
    expect(outDir).toBe('dist');
    expect(existsSync(repoPath('src/main.ts'))).toBe(true);

    for (const stage of stages) {
      for (const args of argsOf(stage, 'COPY')) {
        const { from, sources } = copySources(args);
        for (const source of sources) {
          if (from === undefined) {
            const path = source.replace(/^\.\//, '').replace(/\/$/, '');
            expect(existsSync(repoPath(path)), `COPY ${source} exists`).toBe(true);
            expect(isDockerIgnored(path), `COPY ${source} is not in .dockerignore`).toBe(false);
            continue;
          }
          const producer = stages.find((candidate) => candidate.name === from);
          expect(producer, `stage ${from}`).toBeDefined();
          const workdir = argsOf(producer as Stage, 'WORKDIR').at(-1) ?? '/';
          const relative = source.startsWith(`${workdir}/`) ? source.slice(workdir.length + 1) : source;
          const runs = argsOf(producer as Stage, 'RUN').join('\n');
          if (relative === outDir) expect(runs, `${from} builds ${outDir}`).toMatch(/npm run build/);
          else if (relative === 'node_modules') expect(runs, `${from} installs them`).toMatch(/npm ci/);
          else throw new Error(`COPY --from=${from} ${source}: not something that stage produces`);
        }
      }
    }
  });

  it('ships package.json and the migrations the bot applies at start', () => {
    const copied = argsOf(runtime, 'COPY').flatMap((args) => copySources(args).sources);
    expect(copied).toContain('package.json');
    expect(copied.some((source) => source.startsWith('prisma'))).toBe(true);
    expect(JSON.parse(readRepoFile('package.json')).type).toBe('module');
  });
});
