import { parseArgs } from 'node:util';
import type { Policy } from '../config/policy.js';
import { formatDuration, parseDuration } from '../domain/duration.js';
import {
  decideExtension,
  decideRequest,
  type PolicyDecision,
  type RequesterContext,
} from '../domain/policy.js';
import type { CliCommand, CliIo } from './io.js';
import { describeLocalTime, parseLocalTime } from './local-time.js';
import { policyPath, readPolicyFile, unsetNotes } from './policy-file.js';
import { probeGrant } from './probe.js';

/**
 * `jit policy check` and `jit policy validate`: the security team tries a policy file before
 * deploying it. `check` runs the bot's own engine (`decideRequest` / `decideExtension`) on a
 * request described on the command line, without Slack or a database.
 */

const exit = { ok: 0, badPolicy: 1, usage: 2 } as const;

const checkUsage = `usage: jit policy check --user <U…> --resource <name> [options]

Decides a request with the bot's policy engine, without Slack or a database, and prints the
decision and its reasons.

  --config <file>     policy file (default: $JIT_CONFIG, else ./jit.config.yaml)
  --user <U…>         the requester's Slack user id (required)
  --resource <name>   the resource (required)
  --duration <d>      how long, e.g. 30m, 2h, 1h30m (default: the resource's default);
                      with --extend-from, the time to add
  --at <time>         when: 2026-11-28T23:00 is wall-clock time in the policy's timezone, and
                      2026-11-28T22:00Z or 2026-11-28T23:00+01:00 an exact instant (default: now)
  --groups <S1,S2>    the Slack user groups the requester is in (the CLI does not ask Slack)
  --guest             the requester is a guest (restricted) account
  --recent <n>        their requests for this resource in the last hour (default: 0)
  --extend-from <d>   decide an extension of a grant that has had <d> so far
  --probe             also ask the resource's provider, read-only, which identity and objects
                      a grant would touch (connects to the target; changes nothing there)
  --identity <name>   the requester's identity on the target, for --probe (default: the
                      provider's identities map for --user)
  --json              print the decision as JSON

Standing freezes are not checked: they live in the bot's database. A \${VAR} in the file that is
not set in the environment is replaced by a placeholder, and named on stderr.

Exit codes: 0 a decision was printed (deny, auto-approve or approval alike), 1 the policy file
cannot be read or is invalid, or the probe was refused, 2 bad usage.`;

const validateUsage = `usage: jit policy validate [file]

Checks a policy file as the bot does at start and prints every problem with its key path.
The file defaults to $JIT_CONFIG, else ./jit.config.yaml. A \${VAR} that is not set in the
environment is replaced by a placeholder, and named on stderr.

Exit codes: 0 valid, 1 problems found (or the file cannot be read), 2 bad usage.`;

const checkOptions = {
  config: { type: 'string' },
  user: { type: 'string' },
  resource: { type: 'string' },
  duration: { type: 'string' },
  at: { type: 'string' },
  groups: { type: 'string' },
  guest: { type: 'boolean', default: false },
  recent: { type: 'string' },
  'extend-from': { type: 'string' },
  json: { type: 'boolean', default: false },
  probe: { type: 'boolean', default: false },
  identity: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type CheckValues = ReturnType<typeof parseArgs<{ options: typeof checkOptions; strict: true }>>['values'];

class UsageError extends Error {}

const slackUserId = /^[UW][A-Z0-9]{2,}$/;
const slackGroupId = /^S[A-Z0-9]{2,}$/;

const check: CliCommand = async (args, io) => {
  let values: CheckValues;
  try {
    ({ values } = parseArgs({ args, options: checkOptions, strict: true, allowPositionals: false }));
  } catch (error) {
    return usageFailure(io, (error as Error).message, 'check');
  }
  if (values.help) {
    io.out(checkUsage);
    return exit.ok;
  }
  const file = await readPolicyFile(policyPath(io, values.config), io);
  for (const note of unsetNotes(file.unset)) io.err(note);
  if (!file.ok) {
    for (const problem of file.problems) io.err(problem);
    return exit.badPolicy;
  }
  try {
    const dryRun = describeDryRun(file.policy, values);
    const decision = dryRun.decide();
    if (values.probe && file.unset.length > 0) {
      io.err(`jit policy check --probe: set ${file.unset.join(', ')}: the probe connects to the target`);
      return exit.badPolicy;
    }
    const probe = values.probe
      ? await probeGrant({
          policy: file.policy,
          resource: String(dryRun.summary.resource),
          userId: String(dryRun.summary.user),
          identity: values.identity,
          expiresAt: new Date(
            Date.now() + Number(dryRun.summary.durationSec ?? dryRun.summary.extraSec) * 1000,
          ),
        })
      : undefined;
    if (probe && !probe.ok) {
      io.err(`jit policy check: ${probe.problem}`);
      return exit.badPolicy;
    }
    const probeLines = probe?.ok ? probe.lines : [];
    const probed = probe?.ok ? { probe: probeLines } : {};
    if (values.json) io.out(JSON.stringify({ ...dryRun.summary, decision, ...probed }, null, 2));
    else for (const line of [...dryRun.lines, ...decisionLines(decision), ...probeLines]) io.out(line);
    return exit.ok;
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(io, error.message, 'check');
    throw error;
  }
};

const validate: CliCommand = async (args, io) => {
  let parsed: { values: { help: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    return usageFailure(io, (error as Error).message, 'validate');
  }
  if (parsed.values.help) {
    io.out(validateUsage);
    return exit.ok;
  }
  if (parsed.positionals.length > 1) return usageFailure(io, 'give one policy file at most', 'validate');
  const path = policyPath(io, parsed.positionals[0]);
  const file = await readPolicyFile(path, io);
  for (const note of unsetNotes(file.unset)) io.err(note);
  if (!file.ok) {
    // Problems go to stderr, as every command's do; stdout carries only results.
    for (const problem of file.problems) io.err(problem);
    io.err(`${path}: ${file.problems.length} problem(s)`);
    return exit.badPolicy;
  }
  const resources = Object.keys(file.policy.resources).length;
  const providers = Object.keys(file.policy.providers).length;
  io.out(`OK: ${path}: ${plural(resources, 'resource')}, ${plural(providers, 'provider')}`);
  return exit.ok;
};

export const policyCommands: Record<string, CliCommand> = { check, validate };

function usageFailure(io: CliIo, message: string, verb: 'check' | 'validate'): number {
  io.err(`jit policy ${verb}: ${message}`);
  io.err(`Run \`jit policy ${verb} --help\` for the options.`);
  return exit.usage;
}

/** The request the options describe: what is printed about it, and the engine call. */
interface DryRun {
  summary: Record<string, unknown>;
  lines: string[];
  decide(): PolicyDecision;
}

function describeDryRun(policy: Policy, values: CheckValues): DryRun {
  const userId = required(values.user, '--user');
  if (!slackUserId.test(userId))
    throw new UsageError(`--user "${userId}" is not a Slack user id like U0123ABCD`);
  const name = required(values.resource, '--resource');
  const resource = policy.resources[name];
  if (!resource) {
    const known = Object.keys(policy.resources).sort().join(', ');
    throw new UsageError(`no resource "${name}" in the policy file (it has: ${known})`);
  }
  const groups = (values.groups ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  const badGroup = groups.find((g) => !slackGroupId.test(g));
  if (badGroup) throw new UsageError(`--groups "${badGroup}" is not a Slack user group id like S0123ABCD`);
  const recentRequests = count(values.recent);
  const { at, note } = when(values.at, policy.timezone);
  const context: RequesterContext = {
    userId,
    groups: new Set(groups),
    isGuest: values.guest,
    at,
    recentRequests,
    freezes: [],
  };
  const seconds =
    values.duration === undefined ? resource.duration.default : duration(values.duration, '--duration');
  const grantedSec =
    values['extend-from'] === undefined ? null : duration(values['extend-from'], '--extend-from');
  const asked =
    grantedSec === null
      ? `${userId} asks for ${name} for ${formatDuration(seconds)}`
      : `${userId} extends ${name} by ${formatDuration(seconds)} (so far ${formatDuration(grantedSec)}, total ${formatDuration(grantedSec + seconds)})`;
  const assumed = [
    groups.length > 0 ? `in groups ${groups.join(', ')}` : 'in no user group',
    values.guest ? 'a guest account' : 'not a guest',
    `${recentRequests} request(s) for it in the last hour`,
    'no standing freeze',
  ];
  return {
    summary: {
      resource: name,
      user: userId,
      at: at.toISOString(),
      ...(grantedSec === null ? { durationSec: seconds } : { grantedSec, extraSec: seconds }),
      groups,
      guest: values.guest,
      recentRequests,
    },
    lines: [
      `Request:  ${asked}`,
      `At:       ${describeLocalTime(at, policy.timezone)}, ${at.toISOString()}`,
      ...(note ? [`          ${note}`] : []),
      `Assumed:  ${assumed.join('; ')}`,
    ],
    decide: (): PolicyDecision =>
      grantedSec === null
        ? decideRequest(resource, policy, { durationSec: seconds }, context)
        : decideExtension(resource, policy, { grantedSec, extraSec: seconds }, context),
  };
}

function decisionLines(decision: PolicyDecision): string[] {
  const reasons = decision.reasons.map((r) => `  - ${r}`);
  switch (decision.outcome) {
    case 'deny':
      return [`Decision: DENY by ${decision.rule}`, ...reasons, `Instead:  ${decision.instead}`];
    case 'auto-approve':
      return [`Decision: AUTO-APPROVE by ${decision.rule}`, ...reasons];
    case 'approval': {
      const levels = decision.levels.map((l) => String(l + 1)).join(', ');
      const review = decision.review.length > 0 ? [`Review:   ${decision.review.join(', ')}`] : [];
      return [`Decision: HUMAN APPROVAL, level(s) ${levels}`, ...review, ...reasons];
    }
  }
}

function required(value: string | undefined, option: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${option} is required`);
  return value.trim();
}

function duration(text: string, option: string): number {
  const seconds = parseDuration(text);
  if (seconds === null)
    throw new UsageError(`${option} "${text}" is not a duration like 90s, 30m, 2h, 1d or 1h30m`);
  return seconds;
}

function count(text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d{1,6}$/.test(text)) throw new UsageError(`--recent "${text}" is not a whole number`);
  return Number(text);
}

function when(text: string | undefined, timezone: string): { at: Date; note?: string } {
  if (text === undefined) return { at: new Date() };
  const parsed = parseLocalTime(text, timezone);
  if (!parsed.ok) throw new UsageError(`--at: ${parsed.reason}`);
  return parsed.note ? { at: parsed.at, note: parsed.note } : { at: parsed.at };
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
