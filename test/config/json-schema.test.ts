import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { policyJsonSchema } from '../../src/config/json-schema.js';
import { parseDuration } from '../../src/domain/duration.js';
import { specExamplePolicy } from '../support/spec-example-policy.js';

const committedPath = new URL('../../jit.config.schema.json', import.meta.url);

type Schema = Record<string, unknown> & {
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  required?: string[];
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  type?: string;
};

const specExample = parse(specExamplePolicy) as unknown;

/**
 * The parts of JSON Schema this schema uses: known keys, required keys, patterns, enums, consts
 * and a oneOf picked by `type`. Enough to tell whether the schema describes a document's shape.
 */
function problems(value: unknown, schema: Schema, path = '$'): string[] {
  const branches = schema.oneOf ?? schema.anyOf;
  if (branches) {
    const type = (value as { type?: unknown } | null)?.type;
    const branch = branches.find((b) => b.properties?.type?.const === type);
    return branch ? problems(value, branch, path) : [`${path}: no branch for type ${String(type)}`];
  }
  if (schema.const !== undefined && value !== schema.const) return [`${path}: not ${String(schema.const)}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: not one of ${schema.enum.join(', ')}`];
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value)) {
    return [`${path}: does not match ${schema.pattern}`];
  }
  if (Array.isArray(value))
    return value.flatMap((item, i) => (schema.items ? problems(item, schema.items, `${path}.${i}`) : []));
  if (typeof value !== 'object' || value === null) return [];
  const out = (schema.required ?? [])
    .filter((key) => !(key in value))
    .map((key) => `${path}.${key}: required`);
  for (const [key, item] of Object.entries(value)) {
    const sub =
      schema.properties?.[key] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub) out.push(...problems(item, sub, `${path}.${key}`));
    else if (schema.additionalProperties === false) out.push(`${path}.${key}: unknown key`);
  }
  return out;
}

describe('policyJsonSchema', () => {
  const schema = policyJsonSchema() as Schema;
  const resource = (schema.properties?.resources?.additionalProperties ?? {}) as Schema;

  it('matches the committed jit.config.schema.json (run `npm run schema` after changing the policy schema)', async () => {
    const committed = await readFile(committedPath, 'utf8');
    expect(JSON.parse(committed)).toEqual(schema);
    expect(committed.endsWith('}\n')).toBe(true);
  });

  it('identifies itself for editors', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.$id).toEqual(expect.any(String));
    expect(schema.title).toContain('policy');
  });

  it('describes the file as written: durations are strings with a pattern, defaults are optional', () => {
    const duration = resource.properties?.duration;
    expect(duration?.required).toEqual(['default', 'max']);
    for (const key of ['default', 'max', 'min']) {
      expect(duration?.properties?.[key]).toMatchObject({ type: 'string', pattern: expect.any(String) });
    }
    expect(resource.properties?.approvalTimeout).toMatchObject({
      type: 'string',
      pattern: expect.any(String),
    });
    expect(schema.required).toEqual(
      expect.arrayContaining(['securityChannel', 'admins', 'providers', 'resources']),
    );
    expect(schema.required).not.toContain('timezone');
    expect(resource.required).not.toContain('autoApprove');
  });

  it('refuses unknown keys where the policy does', () => {
    expect(schema.additionalProperties).toBe(false);
    expect(resource.additionalProperties).toBe(false);
    expect(resource.properties?.duration?.additionalProperties).toBe(false);
  });

  it('accepts the SPEC example', () => {
    expect(problems(specExample, schema)).toEqual([]);
  });

  it('accepts jit.config.example.yaml, which points editors at it', async () => {
    const example = parse(await readFile(new URL('../../jit.config.example.yaml', import.meta.url), 'utf8'));
    expect(problems(example, schema)).toEqual([]);
  });

  it('catches a typo, a bad duration and an unsupported provider in that example', () => {
    const broken = structuredClone(specExample) as {
      resources: Record<string, Record<string, unknown>>;
      providers: Record<string, unknown>;
    };
    const prodDb = broken.resources['prod-db-write'] as Record<string, unknown>;
    prodDb.aprovals = [];
    prodDb.duration = { default: '1 hour', max: '4h' };
    broken.providers.ticketing = { type: 'ldap', url: 'ldap://directory.example' };
    expect(problems(broken, schema)).toEqual([
      '$.providers.ticketing: no branch for type ldap',
      '$.resources.prod-db-write.duration.default: does not match ^(?=\\d)(\\d{1,4}d)?(\\d{1,5}h)?(\\d{1,6}m)?(\\d{1,7}s)?$',
      '$.resources.prod-db-write.aprovals: unknown key',
    ]);
  });

  it("gives durations a pattern that agrees with parseDuration on the file's lower-case form", () => {
    const pattern = new RegExp(resource.properties?.duration?.properties?.max?.pattern ?? '');
    const valid = ['90s', '30m', '2h', '1d', '1h30m', '1d2h3m4s', '9999d', '9999999s', '120m'];
    const invalid = [
      '',
      'h',
      '1',
      '1w',
      '1.5h',
      '-1h',
      '1h 30m',
      '30m1h',
      '1h1h',
      '1e3s',
      'abc',
      '10000d',
      '10000000s',
    ];
    for (const text of valid) {
      expect(parseDuration(text)).not.toBeNull();
      expect(pattern.test(text), text).toBe(true);
    }
    for (const text of invalid) {
      expect(parseDuration(text)).toBeNull();
      expect(pattern.test(text), text).toBe(false);
    }
  });
});
