import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';

/** `jit` itself: help at every level on stdout with exit 0, mistakes on stderr with exit 2. */

async function jit(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), env: {} };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('jit', () => {
  it.each([[[]], [['--help']], [['-h']], [['help']]])('prints every command on %j', async (args) => {
    const run = await jit(args);
    expect(run).toMatchObject({ code: 0, err: '' });
    for (const command of ['policy check', 'policy validate', 'audit verify', 'audit export', '--version']) {
      expect(run.out).toContain(`jit ${command}`);
    }
  });

  it('prints its version', async () => {
    for (const flag of ['--version', '-V']) {
      expect(await jit([flag])).toEqual({ code: 0, out: `jit ${version}`, err: '' });
    }
  });

  it.each([
    ['policy', ['check', 'validate']],
    ['audit', ['verify', 'export']],
  ])('lists the commands of %s on --help', async (group, commands) => {
    const run = await jit([group, '--help']);
    expect(run).toMatchObject({ code: 0, err: '' });
    for (const command of commands) expect(run.out).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each([
    [['policy', 'check', '--help'], 'usage: jit policy check'],
    [['policy', 'validate', '--help'], 'usage: jit policy validate'],
    [['audit', 'verify', '--help'], 'usage: jit audit verify'],
    [['audit', 'export', '-h'], 'usage: jit audit export'],
  ])('%j explains the command without running it', async (args, first) => {
    const run = await jit(args);
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(run.out.split('\n')[0]).toContain(first);
  });

  it.each([
    [['bogus'], 'jit: unknown command "bogus"'],
    [['audit'], 'jit audit: a command is required'],
    [['policy', 'nope'], 'jit policy: unknown command "nope"'],
  ])('refuses %j on stderr with exit 2 and the usage', async (args, message) => {
    const run = await jit(args);
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
    expect(run.err.split('\n')[0]).toBe(message);
    expect(run.err).toContain('usage: jit');
  });
});
