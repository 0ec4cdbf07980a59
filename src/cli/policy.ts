import type { CliCommand } from './io.js';

/** `jit policy check` and `jit policy validate`. */
export const policyCommands: Record<string, CliCommand> = {};
