import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnv } from '../../src/config/env.js';

const required = {
  SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
  SLACK_SIGNING_SECRET: 'signing-secret-value',
  DATABASE_URL: 'postgresql://jit:pw@db:5432/jit',
};

function errorOf(source: NodeJS.ProcessEnv): ConfigError {
  try {
    loadEnv(source);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadEnv to throw');
}

describe('loadEnv', () => {
  it('applies the documented defaults', () => {
    expect(loadEnv(required)).toEqual({
      ...required,
      SLACK_APP_TOKEN: undefined,
      SLACK_API_URL: 'https://slack.com/api/',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      JIT_CONFIG: './jit.config.yaml',
      LOG_LEVEL: 'info',
      JIT_HOOK_SECRET: undefined,
      GITHUB_WEBHOOK_SECRET: undefined,
    });
  });

  it('treats empty strings as unset', () => {
    const env = loadEnv({
      ...required,
      SLACK_APP_TOKEN: '',
      SLACK_API_URL: '',
      REDIS_URL: '',
      PORT: '',
      JIT_CONFIG: '',
      LOG_LEVEL: '',
      JIT_HOOK_SECRET: '',
      GITHUB_WEBHOOK_SECRET: '',
    });
    expect(env).toEqual(loadEnv(required));
  });

  it('takes every variable that is set', () => {
    const env = loadEnv({
      ...required,
      SLACK_APP_TOKEN: 'xapp-1-A-123',
      SLACK_API_URL: 'http://127.0.0.1:9000/api/',
      REDIS_URL: 'rediss://:pw@cache:6380/2',
      PORT: '8080',
      JIT_CONFIG: '/etc/jit/policy.yaml',
      LOG_LEVEL: 'debug',
      JIT_HOOK_SECRET: 'h'.repeat(32),
      GITHUB_WEBHOOK_SECRET: 'g'.repeat(16),
    });
    expect(env).toMatchObject({
      SLACK_APP_TOKEN: 'xapp-1-A-123',
      SLACK_API_URL: 'http://127.0.0.1:9000/api/',
      REDIS_URL: 'rediss://:pw@cache:6380/2',
      PORT: 8080,
      JIT_CONFIG: '/etc/jit/policy.yaml',
      LOG_LEVEL: 'debug',
      JIT_HOOK_SECRET: 'h'.repeat(32),
      GITHUB_WEBHOOK_SECRET: 'g'.repeat(16),
    });
  });

  it('accepts postgres:// as well as postgresql://', () => {
    expect(loadEnv({ ...required, DATABASE_URL: 'postgres://db/jit' }).DATABASE_URL).toBe(
      'postgres://db/jit',
    );
  });

  it('ignores variables it does not know', () => {
    expect(loadEnv({ ...required, HOME: '/root', PATH: '/bin' })).not.toHaveProperty('HOME');
  });

  it.each(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'DATABASE_URL'] as const)(
    'names %s when it is missing or empty',
    (name) => {
      for (const value of [undefined, '']) {
        const error = errorOf({ ...required, [name]: value });
        expect(error.message).toMatch(new RegExp(`^Invalid environment: ${name} is required`));
        // One problem, one clause.
        expect(error.message).not.toContain(';');
      }
    },
  );

  it('names every missing variable at once', () => {
    const message = errorOf({}).message;
    for (const name of Object.keys(required)) expect(message).toContain(`${name} is required`);
  });

  // Each bad value contains "secret" or a distinctive marker, and must not appear in the error.
  it.each([
    ['SLACK_BOT_TOKEN', 'xoxp-secret-user-token', 'xoxb-'],
    ['SLACK_BOT_TOKEN', 'xoxb-with spaces secret', 'xoxb-'],
    ['SLACK_APP_TOKEN', 'xoxb-secret-bot-token-in-app-slot', 'xapp-'],
    ['SLACK_API_URL', 'ftp://secret.example/api/', 'http(s) URL'],
    ['SLACK_API_URL', 'not a url secret', 'http(s) URL'],
    ['DATABASE_URL', 'mysql://root:hunter2secret@db/jit', 'postgresql://'],
    ['REDIS_URL', 'http://:redissecret@cache:6379', 'redis://'],
    ['PORT', 'secretport', 'PORT'],
    ['PORT', '70000', 'PORT'],
    ['PORT', '80.5', 'PORT'],
    ['LOG_LEVEL', 'verbose-secret', 'LOG_LEVEL'],
    ['JIT_HOOK_SECRET', 'shortsecret', 'at least 16'],
    ['GITHUB_WEBHOOK_SECRET', 'shortsecret', 'at least 16'],
  ])('names %s for a bad value without echoing it', (name, value, hint) => {
    const error = errorOf({ ...required, [name]: value });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`${name} `);
    expect(error.message).toContain(hint);
    expect(error.message).not.toContain(value);
    const otherNames = [
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'DATABASE_URL',
      'REDIS_URL',
      'PORT',
      'LOG_LEVEL',
    ];
    for (const other of otherNames.filter((n) => n !== name)) expect(error.message).not.toContain(other);
  });

  it('never echoes the values of valid variables next to a bad one', () => {
    const message = errorOf({ ...required, PORT: 'x' }).message;
    for (const value of Object.values(required)) expect(message).not.toContain(value);
  });
});
