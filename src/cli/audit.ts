import type { CliCommand } from './io.js';

/** `jit audit verify` and `jit audit export`. */
export const auditCommands: Record<string, CliCommand> = {};
