import { describe, expect, it } from 'vitest';
import { type JitCommand, parseJitCommand, parseTarget, type Target } from '../../src/slack/grammar.js';

describe('parseJitCommand', () => {
  it.each<[string, JitCommand]>([
    ['', { kind: 'open-modal' }],
    ['   ', { kind: 'open-modal' }],
    ['request', { kind: 'open-modal' }],
    ['  REQUEST  ', { kind: 'open-modal' }],
    [
      'request prod-db-write 1h INC-42 failing migration',
      { kind: 'request', resource: 'prod-db-write', duration: '1h', reason: 'INC-42 failing migration' },
    ],
    [
      'request Prod-DB-Write 1h30m fix   https://github.com/acme/api/pull/7\n  now',
      {
        kind: 'request',
        resource: 'prod-db-write',
        duration: '1h30m',
        reason: 'fix https://github.com/acme/api/pull/7 now',
      },
    ],
    ['request staging 90s drill', { kind: 'request', resource: 'staging', duration: '90s', reason: 'drill' }],
    ['list', { kind: 'list' }],
    ['LIST', { kind: 'list' }],
    ['pending', { kind: 'pending' }],
    ['help', { kind: 'help' }],
    ['help me please', { kind: 'help' }],
    ['release JIT-7K2MQ9', { kind: 'release', requestId: 'JIT-7K2MQ9' }],
    ['release jit-7k2mq9', { kind: 'release', requestId: 'JIT-7K2MQ9' }],
    ['extend jit-7k2mq9 30m', { kind: 'extend', requestId: 'JIT-7K2MQ9', duration: '30m' }],
    [
      'revoke JIT-7K2MQ9 left the company',
      { kind: 'revoke', target: { kind: 'request', requestId: 'JIT-7K2MQ9' }, reason: 'left the company' },
    ],
    [
      'revoke <@U0ALICE> suspicious queries',
      { kind: 'revoke', target: { kind: 'user', userId: 'U0ALICE' }, reason: 'suspicious queries' },
    ],
    [
      'revoke <@U0ALICE|alice> suspicious queries',
      { kind: 'revoke', target: { kind: 'user', userId: 'U0ALICE' }, reason: 'suspicious queries' },
    ],
    [
      'revoke prod-db-write incident over',
      { kind: 'revoke', target: { kind: 'resource', resource: 'prod-db-write' }, reason: 'incident over' },
    ],
    ['freeze all incident 7', { kind: 'freeze', target: { kind: 'all' }, reason: 'incident 7' }],
    ['freeze ALL incident 7', { kind: 'freeze', target: { kind: 'all' }, reason: 'incident 7' }],
    [
      'freeze prod-db-write migration running',
      {
        kind: 'freeze',
        target: { kind: 'resource', resource: 'prod-db-write' },
        reason: 'migration running',
      },
    ],
    [
      'freeze <@W0BOB|bob> investigating',
      { kind: 'freeze', target: { kind: 'user', userId: 'W0BOB' }, reason: 'investigating' },
    ],
    ['unfreeze all', { kind: 'unfreeze', target: { kind: 'all' } }],
    ['unfreeze prod-db-write', { kind: 'unfreeze', target: { kind: 'resource', resource: 'prod-db-write' } }],
    ['unfreeze <@U0ALICE>', { kind: 'unfreeze', target: { kind: 'user', userId: 'U0ALICE' } }],
    ['audit', { kind: 'audit', target: null }],
    ['audit jit-7k2mq9', { kind: 'audit', target: { kind: 'request', requestId: 'JIT-7K2MQ9' } }],
    ['audit <@U0ALICE|alice>', { kind: 'audit', target: { kind: 'user', userId: 'U0ALICE' } }],
  ])('%j', (text, expected) => {
    expect(parseJitCommand(text)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['request prod-db-write', '/jit request <resource> <duration> <reason…>'],
    ['request prod-db-write 1h', '/jit request <resource> <duration> <reason…>'],
    ['list mine', '/jit list'],
    ['pending all', '/jit pending'],
    ['release', '/jit release <id>'],
    ['release 7K2MQ9', '/jit release <id>'],
    ['release JIT-7K2MQ9 JIT-7K2MQ8', '/jit release <id>'],
    ['extend JIT-7K2MQ9', '/jit extend <id> <duration>'],
    ['extend 1h JIT-7K2MQ9', '/jit extend <id> <duration>'],
    ['extend JIT-7K2MQ9 1h please', '/jit extend <id> <duration>'],
    ['revoke', '/jit revoke <id|@user|resource> <reason…>'],
    ['revoke JIT-7K2MQ9', '/jit revoke <id|@user|resource> <reason…>'],
    ['revoke all everything', '/jit revoke <id|@user|resource> <reason…>'],
    ['revoke <@u0alice> lower-case id', '/jit revoke <id|@user|resource> <reason…>'],
    ['revoke <!channel> oops', '/jit revoke <id|@user|resource> <reason…>'],
    ['freeze all', '/jit freeze <resource|@user|all> <reason…>'],
    ['freeze JIT-7K2MQ9 a request is not a scope', '/jit freeze <resource|@user|all> <reason…>'],
    ['unfreeze', '/jit unfreeze <resource|@user|all>'],
    ['unfreeze JIT-7K2MQ9', '/jit unfreeze <resource|@user|all>'],
    ['unfreeze all now', '/jit unfreeze <resource|@user|all>'],
    ['audit prod-db-write', '/jit audit [id|@user]'],
    ['audit all', '/jit audit [id|@user]'],
    ['audit <@U0ALICE> JIT-7K2MQ9', '/jit audit [id|@user]'],
  ])('%j is invalid and shows the usage', (text, usage) => {
    const result = parseJitCommand(text);
    expect(result.kind).toBe('invalid');
    if (result.kind === 'invalid') expect(result.message).toContain(`Usage: \`${usage}\``);
  });

  it('points an unknown verb at /jit help', () => {
    const result = parseJitCommand('grant prod-db-write 1h');
    expect(result).toEqual({ kind: 'invalid', message: expect.stringContaining('`/jit help`') });
    if (result.kind === 'invalid') expect(result.message).toContain('"grant"');
  });

  it('shows an unknown verb as text, never as a mention or a broadcast', () => {
    const result = parseJitCommand('<!channel>&<@U0ALICE> hello');
    expect(result.kind).toBe('invalid');
    if (result.kind !== 'invalid') return;
    expect(result.message).not.toMatch(/<[!@]/);
    expect(result.message).toContain('&lt;!channel&gt;&amp;');
  });

  it('keeps the message short for a very long unknown verb', () => {
    const result = parseJitCommand(`${'x'.repeat(5_000)} y`);
    expect(result.kind).toBe('invalid');
    if (result.kind === 'invalid') expect(result.message.length).toBeLessThan(120);
  });

  it('passes the duration through as typed, for the use case to check against the policy', () => {
    expect(parseJitCommand('request db 1H30M because')).toMatchObject({ kind: 'request', duration: '1H30M' });
    expect(parseJitCommand('request db forever because')).toMatchObject({
      kind: 'request',
      duration: 'forever',
    });
  });
});

describe('parseTarget', () => {
  it.each<[string, Target | null]>([
    ['<@U123>', { kind: 'user', userId: 'U123' }],
    ['<@U123|alice>', { kind: 'user', userId: 'U123' }],
    ['<@W0ENTERPRISE|Alice Smith>', { kind: 'user', userId: 'W0ENTERPRISE' }],
    ['JIT-7K2MQ9', { kind: 'request', requestId: 'JIT-7K2MQ9' }],
    ['jit-7k2mq9', { kind: 'request', requestId: 'JIT-7K2MQ9' }],
    ['all', { kind: 'all' }],
    ['All', { kind: 'all' }],
    ['prod-db-write', { kind: 'resource', resource: 'prod-db-write' }],
    ['Prod_DB', { kind: 'resource', resource: 'prod_db' }],
    ['@alice', null],
    ['<@U123', null],
    ['<@>', null],
    ['<#C123|general>', null],
    ['<!channel>', null],
    ['-db', null],
    ['db.write', null],
    ['x'.repeat(64), null],
    ['', null],
  ])('%j', (word, expected) => {
    expect(parseTarget(word)).toEqual(expected);
  });
});
