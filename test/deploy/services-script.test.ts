import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../support/run-process.js';

/**
 * scripts/services.sh against a PostgreSQL it did not start: it must not put a superuser with a
 * known password into someone else's server. The "servers" are TCP listeners that answer nothing
 * (so the roles look missing), and `runuser`, through which the script would run psql as the
 * postgres user to create roles, is a stand-in on PATH that only records that it was called.
 */

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

let bin: string;
let calls: string;
const servers: Server[] = [];

async function listener(): Promise<number> {
  const server = createServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function ports(): Promise<Record<string, string>> {
  return {
    PG_PORT: String(await listener()),
    REDIS_PORT: String(await listener()),
    MYSQL_PORT: String(await listener()),
  };
}

function run(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return runProcess('bash', [script], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env },
  });
}

beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), 'services-test-'));
  calls = join(bin, 'calls');
  writeFileSync(calls, '');
  const runuser = join(bin, 'runuser');
  writeFileSync(runuser, `#!/bin/sh\necho "runuser $*" >> "${calls}"\ncat >> "${calls}"\n`);
  chmodSync(runuser, 0o755);
  // The mariadb client stands in the same way: it answers no login and records what it is fed.
  const mariadb = join(bin, 'mariadb');
  writeFileSync(
    mariadb,
    `#!/bin/sh\necho "mariadb $*" >> "${calls}"\ncase "$*" in *--protocol=socket*) cat >> "${calls}" ;; esac\nexit 1\n`,
  );
  chmodSync(mariadb, 0o755);
});
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(bin, { recursive: true, force: true });
});

describe('scripts/services.sh', () => {
  it('creates no roles in a PostgreSQL that was already running, and says what to do', async () => {
    const env = await ports();
    const { code, output } = await run(env);
    expect(code).not.toBe(0);
    expect(output).toContain(`PostgreSQL on port ${env.PG_PORT} was already running`);
    expect(output).toContain('JIT_SERVICES_CREATE_ROLES=1');
    expect(readFileSync(calls, 'utf8')).toBe('');
  });

  it('creates them there only when asked to with JIT_SERVICES_CREATE_ROLES=1', async () => {
    const env = await ports();
    await run({ ...env, JIT_SERVICES_CREATE_ROLES: '1' });
    const recorded = readFileSync(calls, 'utf8');
    expect(recorded).toContain(`runuser -u postgres -- psql -q -p ${env.PG_PORT}`);
    expect(recorded).toContain('CREATE ROLE jit LOGIN SUPERUSER');
    expect(recorded).toContain("CREATE USER IF NOT EXISTS 'jit_granter'@'%'");
  });
});
