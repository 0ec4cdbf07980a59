import { ConfigError } from '../config/env.js';
import { loadPolicy, type Policy } from '../config/policy.js';
import type { CliIo } from './io.js';

/**
 * The policy file as the bot reads it, for commands run where the bot's secrets are not: a
 * `${VAR}` that is not set is replaced by a placeholder (and named) instead of failing, since
 * no connection is made.
 */
export type PolicyFile =
  | { ok: true; policy: Policy; unset: string[] }
  | { ok: false; problems: string[]; unset: string[] };

export function policyPath(io: CliIo, given: string | undefined): string {
  return given || io.env.JIT_CONFIG || './jit.config.yaml';
}

export function placeholderFor(name: string): string {
  return `unset-${name}`;
}

export async function readPolicyFile(path: string, io: CliIo): Promise<PolicyFile> {
  const unset = new Set<string>();
  const env = new Proxy(io.env, {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      const value = target[name];
      if (value !== undefined && value !== '') return value;
      unset.add(name);
      return placeholderFor(name);
    },
  });
  try {
    const policy = await loadPolicy(path, env);
    return { ok: true, policy, unset: [...unset].sort() };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ok: false, problems: problemsIn(error.message, path), unset: [...unset].sort() };
  }
}

/**
 * The loader reports every problem in one message, `<file>: <key path>: <problem>; <key path>: …`;
 * one per line reads better in a terminal.
 */
function problemsIn(message: string, path: string): string[] {
  const prefix = `${path}: `;
  if (!message.startsWith(prefix)) return [message];
  return message.slice(prefix.length).split(/; (?=[^;:\s][^;:]*: )/);
}

/** Lines for stderr naming the variables a placeholder stood in for. */
export function unsetNotes(unset: readonly string[]): string[] {
  return unset.map(
    (name) => `note: environment variable ${name} is not set; "${placeholderFor(name)}" stands in for it`,
  );
}
