import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import { specExamplePolicy } from '../support/spec-example-policy.js';

/** `jit policy check` and `jit policy validate` on temporary policy files. */

/** SPEC's example, and a resource without autoApprove rules. */
const policy = `${specExamplePolicy}  prod-db-read:
    description: Read access to the production database
    provider: proddb
    grant: { role: prod_read }
    duration: { default: 1h, max: 8h }
    approvals:
      - from: { groups: [S0DBA] }
`;

const broken = `
timezone: Mars/Olympus
securityChannel: C0SECURITY
admins: { users: [U0SEC1] }
providers:
  proddb: { type: postgres, url: "postgres://db" }
resources:
  prod-db-write:
    description: Write access
    provider: proddb
    duration: { default: 1h, max: 4h }
    surprise: 1
    approvals:
      - from: { groups: [S0DBA] }
    autoApprove:
      - requesterIn: { groups: [ONCALL] }
        maxDuration: 30 minutes
`;

let dir: string;
let valid: string;
let invalid: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jit-policy-cli-'));
  valid = join(dir, 'jit.config.yaml');
  invalid = join(dir, 'broken.yaml');
  await writeFile(valid, policy);
  await writeFile(invalid, broken);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function jit(
  args: string[],
  env: Record<string, string> = { PROD_DB_ADMIN_URL: 'postgres://db' },
): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), env };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const check = (...args: string[]) =>
  jit(['policy', 'check', '--config', valid, '--user', 'U0ALICE', '--resource', 'prod-db-write', ...args]);

describe('jit policy check', () => {
  it('prints an auto-approval with the rule and why, and exits 0', async () => {
    // Friday 10:00 in Berlin.
    const run = await check('--duration', '30m', '--at', '2026-11-27T10:00', '--groups', 'S0ONCALL,S0OTHER');
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(run.out).toContain('Request:  U0ALICE asks for prod-db-write for 30m');
    expect(run.out).toContain(
      'At:       Fri 2026-11-27 10:00 Europe/Berlin (UTC+01:00), 2026-11-27T09:00:00.000Z',
    );
    expect(run.out).toContain('Decision: AUTO-APPROVE by autoApprove[0]');
    expect(run.out).toContain(
      'the requester is in user group S0ONCALL, 30m is within its maxDuration of 30m',
    );
  });

  it('reads --at as wall-clock time in the policy time zone: Saturday 23:00 needs people and review', async () => {
    const run = await check('--duration', '2h', '--at', '2026-11-28T23:00', '--groups', 'S0ONCALL');
    expect(run.code).toBe(0);
    expect(run.out).toContain('Sat 2026-11-28 23:00 Europe/Berlin (UTC+01:00), 2026-11-28T22:00:00.000Z');
    expect(run.out).toContain('Decision: HUMAN APPROVAL, level(s) 1, 2');
    expect(run.out).toContain('Review:   optOut.outsideBusinessHours');
    expect(run.out).toContain('2h is longer than its maxDuration of 30m');
    expect(run.out).toContain('level 1: 1 of groups S0DBA; level 2: 1 of users U0CTO');
  });

  it.each([
    // The Monday after the spring change is UTC+2: 08:00 there is 06:00Z.
    ['2026-03-30T08:00', 'UTC+02:00', 'AUTO-APPROVE'],
    ['2026-03-30T07:59', 'UTC+02:00', 'HUMAN APPROVAL'],
    // The Monday after the autumn change is UTC+1 again.
    ['2026-10-26T08:00', 'UTC+01:00', 'AUTO-APPROVE'],
    ['2026-10-26T19:00', 'UTC+01:00', 'HUMAN APPROVAL'],
  ])('judges business hours at %s local time across DST (%s)', async (at, offset, outcome) => {
    const run = await check('--duration', '30m', '--at', at, '--groups', 'S0ONCALL');
    expect(run.out).toContain(`${at.replace('T', ' ')} Europe/Berlin (${offset})`);
    expect(run.out).toContain(`Decision: ${outcome}`);
  });

  it('refuses a time the clocks skip, and notes which one is used for a time that happens twice', async () => {
    const skipped = await check('--at', '2026-03-29T02:30');
    expect(skipped.code).toBe(2);
    expect(skipped.err).toContain('2026-03-29T02:30 does not exist in Europe/Berlin');
    expect(skipped.out).toBe('');

    const twice = await check('--at', '2026-10-25T02:30');
    expect(twice.code).toBe(0);
    expect(twice.out).toContain('2026-10-25T00:30:00.000Z');
    expect(twice.out).toContain('happens twice in Europe/Berlin');
  });

  it('takes an exact instant too', async () => {
    const run = await check('--at', '2026-11-27T09:00Z', '--duration', '30m', '--groups', 'S0ONCALL');
    expect(run.out).toContain('Fri 2026-11-27 10:00 Europe/Berlin');
    expect(run.out).toContain('AUTO-APPROVE');
  });

  it.each([
    ['--guest', ['--guest'], 'optOut.guests', 'Instead:  Ask a full member of your team'],
    ['--recent 3', ['--recent', '3'], 'optOut.maxRequestsPerHour', 'the limit is 3'],
    ['a duration over the maximum', ['--duration', '5h'], 'duration.max', 'Instead:  Ask for 4h or less.'],
  ])(
    'prints a denial (%s) with the rule and what to do instead, and exits 0',
    async (_name, args, rule, text) => {
      const run = await check('--at', '2026-11-27T10:00', '--groups', 'S0ONCALL', ...args);
      expect(run.code).toBe(0);
      expect(run.out).toContain(`Decision: DENY by ${rule}`);
      expect(run.out).toContain(text);
    },
  );

  it('uses the resource default duration when none is given', async () => {
    const run = await check('--at', '2026-11-27T10:00', '--groups', 'S0ONCALL');
    expect(run.out).toContain('for 1h');
    expect(run.out).toContain('1h is longer than its maxDuration of 30m');
  });

  it('decides an extension: auto-approved within the rule on the total, people beyond the maximum', async () => {
    const within = await check(
      '--at',
      '2026-11-27T10:00',
      '--groups',
      'S0ONCALL',
      '--extend-from',
      '20m',
      '--duration',
      '10m',
    );
    expect(within.out).toContain('U0ALICE extends prod-db-write by 10m (so far 20m, total 30m)');
    expect(within.out).toContain('Decision: AUTO-APPROVE by autoApprove[0]');

    const beyond = await check(
      '--at',
      '2026-11-27T10:00',
      '--groups',
      'S0ONCALL',
      '--extend-from',
      '4h',
      '--duration',
      '10m',
    );
    expect(beyond.out).toContain('Decision: HUMAN APPROVAL, level(s) 1, 2');
    expect(beyond.out).toContain("longer than the resource's maximum of 4h");
  });

  it('prints JSON with --json', async () => {
    const run = await check('--at', '2026-11-27T10:00', '--guest', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({
      resource: 'prod-db-write',
      user: 'U0ALICE',
      at: '2026-11-27T09:00:00.000Z',
      durationSec: 3600,
      groups: [],
      guest: true,
      recentRequests: 0,
      decision: {
        outcome: 'deny',
        rule: 'optOut.guests',
        reasons: ['Guest accounts may not request this resource.'],
        instead: 'Ask a full member of your team to request it, or ask the security team.',
      },
    });
  });

  it('stands a placeholder in for an unset variable and says so', async () => {
    const args = ['policy', 'check', '--config', valid, '--user', 'U0ALICE', '--resource', 'prod-db-read'];
    const run = await jit([...args, '--at', '2026-11-27T10:00'], {});
    expect(run.code).toBe(0);
    expect(run.err).toContain(
      'environment variable PROD_DB_ADMIN_URL is not set; "unset-PROD_DB_ADMIN_URL" stands in',
    );
    expect(run.out).toContain('The resource has no autoApprove rules.');
  });

  it('reads JIT_CONFIG when --config is not given', async () => {
    const args = [
      'policy',
      'check',
      '--user',
      'U0ALICE',
      '--resource',
      'prod-db-read',
      '--at',
      '2026-11-27T10:00',
    ];
    const run = await jit(args, { JIT_CONFIG: valid, PROD_DB_ADMIN_URL: 'postgres://db' });
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(run.out).toContain('HUMAN APPROVAL, level(s) 1');
  });

  it.each([
    ['no --user', ['--resource', 'prod-db-write'], '--user is required'],
    [
      'a user that is not a Slack id',
      ['--user', 'alice', '--resource', 'prod-db-write'],
      'not a Slack user id',
    ],
    [
      'an unknown resource',
      ['--user', 'U0ALICE', '--resource', 'nope'],
      'it has: prod-db-read, prod-db-write',
    ],
    [
      'a bad duration',
      ['--user', 'U0ALICE', '--resource', 'prod-db-write', '--duration', '1.5h'],
      'not a duration',
    ],
    [
      'a bad group id',
      ['--user', 'U0ALICE', '--resource', 'prod-db-write', '--groups', 'oncall'],
      'not a Slack user group id',
    ],
    ['a bad --recent', ['--user', 'U0ALICE', '--resource', 'prod-db-write', '--recent', '-1'], '--recent'],
    [
      'a bad --at',
      ['--user', 'U0ALICE', '--resource', 'prod-db-write', '--at', 'tomorrow'],
      'is not a time like',
    ],
    [
      'an unknown option',
      ['--user', 'U0ALICE', '--resource', 'prod-db-write', '--frobnicate'],
      "Unknown option '--frobnicate'",
    ],
  ])('exits 2 on bad usage: %s', async (_name, args, message) => {
    const run = await jit(['policy', 'check', '--config', valid, ...args]);
    expect(run.code).toBe(2);
    expect(run.err).toContain(message);
    expect(run.err).toContain('jit policy check --help');
    expect(run.out).toBe('');
  });

  it('documents the options and exit codes in --help', async () => {
    const run = await jit(['policy', 'check', '--help']);
    expect(run.code).toBe(0);
    for (const text of ['--user', '--at', '--groups', '--guest', '--extend-from', 'Exit codes: 0']) {
      expect(run.out).toContain(text);
    }
  });

  it('exits 1 with the problems when the policy file is invalid', async () => {
    const run = await jit([
      'policy',
      'check',
      '--config',
      invalid,
      '--user',
      'U0ALICE',
      '--resource',
      'prod-db-write',
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toContain('timezone: must be an IANA time zone');
    expect(run.out).toBe('');
  });
});

describe('jit policy validate', () => {
  it('says OK with the counts for a valid file', async () => {
    const run = await jit(['policy', 'validate', valid]);
    expect(run).toEqual({ code: 0, out: `OK: ${valid}: 2 resources, 1 provider`, err: '' });
  });

  it('prints every problem on its own line by key path, and exits 1', async () => {
    const run = await jit(['policy', 'validate', invalid]);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.split('\n').slice(0, -1).sort()).toEqual(
      [
        'timezone: must be an IANA time zone like Europe/Berlin',
        'resources.prod-db-write: Unrecognized key: "surprise"',
        'resources.prod-db-write.autoApprove.0.requesterIn.groups.0: must be a Slack user group id like S0123ABCD',
        'resources.prod-db-write.autoApprove.0.maxDuration: "30 minutes" is not a duration like 90s, 30m, 2h, 1d, 1h30m',
      ].sort(),
    );
    expect(run.err).toContain('4 problem(s)');
  });

  it('names a problem the checks across keys find', async () => {
    const file = join(dir, 'unknown-provider.yaml');
    await writeFile(
      file,
      policy.replace(
        'provider: proddb\n    grant: { role: prod_read }',
        'provider: elsewhere\n    grant: { role: prod_read }',
      ),
    );
    const run = await jit(['policy', 'validate', file]);
    expect(run.code).toBe(1);
    expect(run.err.split('\n')[0]).toBe(
      'resources.prod-db-read.provider: no provider named "elsewhere" (known: proddb)',
    );
  });

  it.each([
    ['a file that does not exist', () => join(dir, 'missing.yaml'), 'Cannot read policy file'],
    ['a file that is not YAML', () => join(dir, 'not-yaml.yaml'), 'is not valid YAML'],
  ])('exits 1 on %s', async (_name, path, message) => {
    await writeFile(join(dir, 'not-yaml.yaml'), 'a: [1\n');
    const run = await jit(['policy', 'validate', path()]);
    expect(run.code).toBe(1);
    expect(run.err).toContain(message);
  });

  it('validates JIT_CONFIG when no file is given, with placeholders for unset variables', async () => {
    const run = await jit(['policy', 'validate'], { JIT_CONFIG: valid });
    expect(run.code).toBe(0);
    expect(run.out).toBe(`OK: ${valid}: 2 resources, 1 provider`);
    expect(run.err).toContain('PROD_DB_ADMIN_URL is not set');
  });

  it('exits 2 on bad usage', async () => {
    expect((await jit(['policy', 'validate', valid, invalid])).code).toBe(2);
    expect((await jit(['policy', 'validate', '--strict'])).code).toBe(2);
    expect((await jit(['policy', 'frobnicate'])).code).toBe(2);
  });
});

describe('the jit command', () => {
  const bin = fileURLToPath(new URL('../../bin/jit.mjs', import.meta.url));
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [bin, ...args], {
      env: { ...process.env, PROD_DB_ADMIN_URL: 'postgres://db' },
    });

  it('runs `jit policy validate <file>` as a process, with its exit code', async () => {
    const ok = await run(['policy', 'validate', valid]);
    expect(ok.stdout).toBe(`OK: ${valid}: 2 resources, 1 provider\n`);

    const failed = await run(['policy', 'validate', invalid]).then(
      () => null,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toBe('');
    expect(failed?.stderr).toContain('timezone: must be an IANA time zone');
  });
});
