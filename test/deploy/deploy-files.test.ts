import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { envSchema, loadEnv } from '../../src/config/env.js';
import { parsePolicy } from '../../src/config/policy.js';
import { providerConfigSchema } from '../../src/providers/registry.js';
import { parseJitCommand } from '../../src/slack/grammar.js';
import { examplePolicyEnv } from '../support/example-policy-env.js';

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
    // COMPOSE_PROFILES is Docker Compose's own, so that `docker compose up` starts the bot.
    expect([...names].sort()).toEqual([...schemaKeys, ...policyVariables(), 'COMPOSE_PROFILES'].sort());
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

  const env = { ...examplePolicyEnv, PROD_DB_ADMIN_URL: 'postgresql://u:p@h/db' };

  it('is a valid policy with a one-level and a two-level resource, and every provider type', () => {
    const policy = parsePolicy(text, env, 'jit.config.example.yaml');
    expect(policy.securityChannel).toMatch(/^C/);
    expect(policy.admins.users.length + policy.admins.groups.length).toBeGreaterThan(0);
    const everyType = providerConfigSchema.options.map((option) => option.shape.type.value);
    expect(new Set(Object.values(policy.providers).map((provider) => provider.type))).toEqual(
      new Set(everyType),
    );
    const used = new Set(Object.values(policy.resources).map((resource) => resource.provider));
    expect([...used].sort()).toEqual(Object.keys(policy.providers).sort());
    expect(text).not.toMatch(/planned/);
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

/**
 * The bot-token scopes of each Web API method (Slack's method reference). A method the bot starts
 * calling must be added here, which makes whoever adds it decide on the manifest's scopes.
 */
const methodScopes: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'conversations.open': ['im:write'],
  'users.info': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  'usergroups.list': ['usergroups:read'],
  'usergroups.users.list': ['usergroups:read'],
  'usergroups.users.update': ['usergroups:write'],
  'auth.test': [],
  'views.open': [],
  'views.push': [],
  'views.update': [],
  'views.publish': [],
};

/**
 * Scopes that only an optional part of the bot needs: the manifest leaves them out (least
 * privilege) and says in a comment when to add them.
 */
const optionalScopes: Record<string, string> = {
  'usergroups:write': 'a slack-usergroup provider using the bot token',
};

/** Scopes that no Web API call in src/ shows, and what needs them. */
const scopesBeyondCalls: Record<string, string> = {
  commands: 'the /jit slash command',
  'chat:write.public': 'posting to the security channel without being invited to it',
  'users:read.email': 'users.info includes profile.email only with it (the provider login)',
};

/** Web API methods called in src/ (`client.chat.postMessage(`, across line breaks), with a file each. */
function webApiMethods(): Map<string, string> {
  const methods = new Map<string, string>();
  const files = readdirSync(repoPath('src'), { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && !file.startsWith('generated'),
  );
  for (const file of files) {
    const text = readRepoFile(`src/${file}`);
    for (const match of text.matchAll(/\bclient\s*\.\s*([a-z]+(?:\s*\.\s*[a-zA-Z]+)+)\s*\(/g)) {
      methods.set((match[1] as string).replace(/\s/g, ''), file);
    }
    for (const match of text.matchAll(/\.apiCall\(\s*'([a-zA-Z.]+)'/g)) methods.set(match[1] as string, file);
  }
  return methods;
}

describe('manifest.yml', () => {
  const manifest = parseYaml(readRepoFile('manifest.yml')) as unknown;

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
    // Lengths as Slack's manifest schema limits them.
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
    expect(commands.map((command) => command.command)).toEqual(['/jit']);
    const jit = commands[0] as Tree;
    expect(jit).toMatchObject({ url: 'https://YOUR-HOST/slack/events', should_escape: true });
    expect(typeof jit.description).toBe('string');
    expect((jit.description as string).length).toBeLessThanOrEqual(2000);
  });

  it('hints only at commands the grammar accepts, within the length Slack allows', () => {
    const [jit] = at(manifest, 'features.slash_commands') as Tree[];
    const usage = String(jit?.usage_hint);
    expect(usage.length).toBeLessThanOrEqual(1000);
    const examples = {
      '<resource>': 'prod-db-write',
      '<duration>': '2h',
      '<reason>': 'INC-42',
      '<id>': 'JIT-7K2MQ9',
    };
    const alternatives = usage.split(' | ');
    expect(alternatives.map((text) => text.split(' ')[0])).toEqual(
      expect.arrayContaining(['request', 'list', 'pending', 'release', 'extend', 'help']),
    );
    for (const alternative of alternatives) {
      const typed = alternative.replace(
        /<[a-z]+>/g,
        (word) => examples[word as keyof typeof examples] ?? word,
      );
      expect(parseJitCommand(typed).kind, typed).not.toBe('invalid');
    }
  });

  it('asks for exactly the bot scopes of the Web API methods the bot calls, and the few beyond', () => {
    const methods = webApiMethods();
    // The scan sees the calls (a broken pattern would find none and prove nothing).
    expect([...methods.keys()]).toEqual(
      expect.arrayContaining([
        'chat.postMessage',
        'conversations.open',
        'users.info',
        'usergroups.users.list',
      ]),
    );
    for (const [method, file] of methods) {
      expect(methodScopes[method], `${method} (src/${file}) is in methodScopes`).toBeDefined();
    }
    const needed = new Set([...methods.keys()].flatMap((method) => methodScopes[method] ?? []));
    for (const scope of Object.keys(scopesBeyondCalls)) needed.add(scope);
    const required = [...needed].filter((scope) => !(scope in optionalScopes));
    const scopes = at(manifest, 'oauth_config.scopes.bot') as string[];
    expect(new Set(scopes).size).toBe(scopes.length);
    expect([...scopes].sort()).toEqual(required.sort());
    const text = readRepoFile('manifest.yml');
    for (const scope of Object.keys(optionalScopes)) {
      expect(text, `a comment says when to add ${scope}`).toMatch(new RegExp(`#.*\\b${scope}\\b`));
    }
  });

  it('explains how to switch to Socket Mode', () => {
    const text = readRepoFile('manifest.yml');
    expect(text).toMatch(/socket_mode_enabled to true/);
    expect(text).toContain('connections:write');
    expect(text).toContain('SLACK_APP_TOKEN');
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
    expect(services.sort()).toEqual(['app', 'postgres', 'redis', 'sandbox']);
    expect(at(compose, 'services.app.build')).toBe('.');
    expect(at(compose, 'services.app.env_file')).toEqual([{ path: '.env', required: false }]);
    // .env.example turns the profile on, so `docker compose up` after copying it starts the bot.
    expect(at(compose, 'services.app.profiles')).toEqual(['bot']);
    expect(readRepoFile('.env.example')).toMatch(/^COMPOSE_PROFILES=bot$/m);
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

  it('runs the browser sandbox under the demo profile, without the bot or a Slack token', () => {
    expect(at(compose, 'services.sandbox.profiles')).toEqual(['demo']);
    expect(at(compose, 'services.sandbox.build')).toEqual({ context: '.', target: 'sandbox' });
    expect(at(compose, 'services.sandbox.ports')).toEqual(['127.0.0.1:${SANDBOX_PORT:-3001}:3001']);
    expect(JSON.stringify(at(compose, 'services.sandbox'))).not.toMatch(/SLACK_|env_file/);
    expect(at(compose, 'services.sandbox.environment.DATABASE_URL')).toMatch(/@postgres:5432\//);
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

  it('puts the jit command on PATH, running the compiled CLI', () => {
    const copied = argsOf(runtime, 'COPY').flatMap((args) => copySources(args).sources);
    expect(copied).toContain('bin/jit.mjs');
    // No sources in the image: that is what makes bin/jit.mjs run dist/ instead of src/ via tsx.
    expect(copied.filter((source) => /^(\.\/)?src(\/|$)/.test(source))).toEqual([]);
    const launcher = readRepoFile('bin/jit.mjs');
    expect(launcher.split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(launcher).toContain("'../src/cli/main.ts'");
    expect(launcher).toContain("'../dist/cli/main.js'");
    expect(existsSync(repoPath('src/cli/main.ts'))).toBe(true);

    // Linked while still root (the `node` user cannot write /usr/local/bin), and executable.
    const keywords = runtime.instructions.map((item) => item.keyword);
    const link = runtime.instructions.findIndex(
      (item) =>
        item.keyword === 'RUN' && /ln -s \/app\/bin\/jit\.mjs \/usr\/local\/bin\/jit\b/.test(item.args),
    );
    expect(link).toBeGreaterThan(-1);
    expect(link).toBeLessThan(keywords.lastIndexOf('USER'));
    expect(runtime.instructions[link]?.args).toMatch(/chmod 755 bin\/jit\.mjs/);
    expect(argsOf(runtime, 'WORKDIR').at(-1)).toBe('/app');
    expect(statSync(repoPath('bin/jit.mjs')).mode & 0o111).not.toBe(0);
  });

  it('ships package.json and the migrations the bot applies at start', () => {
    const copied = argsOf(runtime, 'COPY').flatMap((args) => copySources(args).sources);
    expect(copied).toContain('package.json');
    expect(copied.some((source) => source.startsWith('prisma'))).toBe(true);
    expect(JSON.parse(readRepoFile('package.json')).type).toBe('module');
  });
});
