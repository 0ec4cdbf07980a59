import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
  return { logger: createLogger('info', stream), text: () => lines.join('\n') };
}

describe('logger redaction', () => {
  it('censors tokens, secrets, passwords, URLs and authorization headers wherever they sit', async () => {
    const { logger, text } = capture();
    logger.info(
      {
        token: 'xoxb-111-secret',
        client: { token: 'xapp-222-secret', url: 'postgresql://jit:hunter2@db/jit' },
        provider: { password: 'hunter3', connectionString: 'postgresql://a:hunter4@h/d' },
        headers: { authorization: 'Bearer xoxb-333-secret' },
        env: { SLACK_SIGNING_SECRET: 'sig-secret-555', DATABASE_URL: 'postgresql://x:hunter5@h/d' },
        requestId: 'JIT-7K2MQ9',
      },
      'something happened',
    );
    await new Promise((resolve) => setImmediate(resolve));
    const out = text();
    expect(out).toContain('JIT-7K2MQ9');
    expect(out).toContain('[redacted]');
    for (const secret of [
      'xoxb-111',
      'xapp-222',
      'hunter2',
      'hunter3',
      'hunter4',
      'xoxb-333',
      'sig-secret-555',
      'hunter5',
    ]) {
      expect(out).not.toContain(secret);
    }
  });
});
