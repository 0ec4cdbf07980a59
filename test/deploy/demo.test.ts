import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase, type EmptyTestDatabase, redisUrl, uniqueName } from '../support/db.js';
import { freePort } from '../support/ports.js';
import { runProcess } from '../support/run-process.js';

/**
 * The README's run command: `npm run demo -- --once` walks one request through its whole life
 * against the real bot, PostgreSQL and Redis, and exits 0. Run here as a process, on a fresh
 * database, as a newcomer would.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
let db: EmptyTestDatabase;

beforeAll(async () => {
  db = await createEmptyDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function demo(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return runProcess(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--once'], {
    cwd: root,
    env: { ...process.env, ...env },
    timeoutMs: 120_000,
  });
}

describe('npm run demo', () => {
  it('walks a request from /jit request to expiry and exits 0', async () => {
    const prefix = uniqueName('jitdemo').replace(/[^a-z0-9_]/g, '_');
    const run = await demo({
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl(),
      DEMO_QUEUE_PREFIX: uniqueName('jitdemo'),
      // Its own roles and logins, so the sandbox test running alongside never touches them.
      JIT_DEMO_PREFIX: prefix,
      PORT: String(await freePort()),
      LOG_LEVEL: 'error',
    });
    expect(run.output).not.toContain('demo failed');
    expect(run.code).toBe(0);
    const output = run.output
      .replaceAll(`${String.fromCharCode(27)}[1m`, '')
      .replaceAll(`${String.fromCharCode(27)}[0m`, '');
    const role = `${prefix}_prod_write`;
    expect(output).toContain(`is a member of ${role}: true`);
    expect(output.indexOf(`is a member of ${role}: false`)).toBeGreaterThan(
      output.indexOf(`is a member of ${role}: true`),
    );
    expect(output).toMatch(
      /#security channel[^\n]*\n\s+Grant JIT-[0-9A-Z]{6}: prod-db-write to @UDEMOALICE \(expired\)/,
    );
  }, 150_000);
});
