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

const usage = [
  'usage: jit <command> [options]',
  '  jit policy check --user U123 --resource <name> --duration 2h [--at 2026-11-28T23:00] [--groups S1,S2] [--guest]',
  '  jit policy validate [file]',
  '  jit audit verify',
  '  jit audit export [--since 2026-11-01] [--user U123] [--format jsonl|csv]',
].join('\n');

export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [group = '', verb = '', ...args] = argv;
  const command = groups[group]?.[verb];
  if (!command) {
    const help = group === '' || group === 'help' || group === '--help' || group === '-h';
    (help ? io.out : io.err)(usage);
    return help ? 0 : 2;
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
