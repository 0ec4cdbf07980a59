/** Where a CLI command writes; tests pass their own to read what was printed. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};

/** A subcommand: its arguments after the group and verb words; resolves with the exit code. */
export type CliCommand = (args: string[], io: CliIo) => Promise<number>;
