import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../support/run-process.js';

/** The sandbox fakes Slack with a known signing secret: it must never run against a real one. */

const root = fileURLToPath(new URL('../..', import.meta.url));

function sandbox(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return runProcess(process.execPath, ['--import', 'tsx', 'scripts/sandbox.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    timeoutMs: 60_000,
  });
}

describe('the sandbox', () => {
  it.each(['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN'])(
    'refuses to start with %s set, before touching anything',
    async (name) => {
      const run = await sandbox({
        [name]: 'xoxb-a-real-looking-token',
        DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none',
      });
      expect(run.code).toBe(2);
      expect(run.output).toContain('never runs with a real Slack token');
    },
    60_000,
  );

  it('is not part of the production image or the bot', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).not.toMatch(/COPY[^\n]*(scripts|test)\b/);
    const bot = readFileSync(new URL('../../src/bot.ts', import.meta.url), 'utf8');
    expect(bot).not.toContain('sandbox');
  });
});
