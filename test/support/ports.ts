import { createServer } from 'node:net';

/** Ports found by binding an ephemeral one and releasing it again. */

/** A port on 127.0.0.1 that nothing listens on: what an unreachable target looks like. */
export function closedPort(): Promise<number> {
  return releasedEphemeralPort('127.0.0.1');
}

/** A port free right now on every interface (as Bolt's Socket Mode server listens). */
export function freePort(): Promise<number> {
  return releasedEphemeralPort(undefined);
}

async function releasedEphemeralPort(host: string | undefined): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
