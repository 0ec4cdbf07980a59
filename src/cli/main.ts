import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { auditCommands } from './audit.js';
import { type CliCommand, type CliIo, processIo } from './io.js';
import { policyCommands } from './policy.js';

/**
 * `jit <group> <verb> [options]`: the operator's command line. Each group lives in its own file
 * and parses its options with `node:util` parseArgs.
 */
const groups: Record<string, Record<string, CliCommand>> = {
  policy: policyCommands,
  audit: auditCommands,
};

/** One line per verb, for `jit --help` and `jit <group> --help`. */
const verbs: Record<string, Record<string, string>> = {
  policy: {
    check: 'decide a request with the policy engine, offline (--help for the options)',
    validate: 'check a policy file: every problem by key path, exit 1 if any',
  },
  audit: {
    verify: 'check the audit chain in the database: exit 0 intact, 1 broken, 2 could not run',
    export: 'write the audit events as JSON lines or CSV (--since, --user, --format)',
  },
};

const usage = [
  'usage: jit <group> <command> [options]',
  ...Object.entries(verbs).flatMap(([group, list]) =>
    Object.entries(list).map(([verb, line]) => `  jit ${group} ${verb}`.padEnd(24) + line),
  ),
  '',
  '  jit --version           print the version',
  '  jit <group> --help, jit <group> <command> --help',
].join('\n');

function groupUsage(group: string): string {
  return [
    `usage: jit ${group} <command> [options]`,
    ...Object.entries(verbs[group] ?? {}).map(([verb, line]) => `  ${verb}`.padEnd(12) + line),
  ].join('\n');
}

const isHelp = (word: string | undefined) => word === '--help' || word === '-h' || word === 'help';

/** The version in package.json, found from this file in a checkout and in the image alike. */
async function version(): Promise<string> {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const text = await readFile(new URL(up, import.meta.url), 'utf8');
      const parsed = JSON.parse(text) as { name?: string; version?: string };
      if (parsed.name === 'jit-bot' && parsed.version) return parsed.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

/**
 * Runs one command. Results go to stdout, every problem to stderr; help asked for goes to stdout
 * with exit 0, a usage mistake to stderr with exit 2.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [group = '', verb = '', ...args] = argv;
  if (group === '' || isHelp(group)) {
    io.out(usage);
    return 0;
  }
  if (group === '--version' || group === '-V' || group === 'version') {
    io.out(`jit ${await version()}`);
    return 0;
  }
  const commands = groups[group];
  if (!commands) {
    io.err(`jit: unknown command "${group}"`);
    io.err(usage);
    return 2;
  }
  if (isHelp(verb)) {
    io.out(groupUsage(group));
    return 0;
  }
  const command = commands[verb];
  if (!command) {
    io.err(verb === '' ? `jit ${group}: a command is required` : `jit ${group}: unknown command "${verb}"`);
    io.err(groupUsage(group));
    return 2;
  }
  try {
    return await command(args, io);
  } catch (error) {
    io.err(`jit ${group} ${verb}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
