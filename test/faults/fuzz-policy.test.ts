import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../../src/config/env.js';
import { parsePolicy } from '../../src/config/policy.js';
import { examplePolicyEnv } from '../support/example-policy-env.js';

/**
 * Policy files derived from the shipped example by random edits: `parsePolicy` either returns a
 * policy or throws a `ConfigError` whose message says where the problem is. Nothing else (a
 * TypeError, a stack overflow, a hang) may escape, since an operator reads that message at start-up
 * and in `jit policy validate`.
 */

const exampleText = readFileSync(new URL('../../jit.config.example.yaml', import.meta.url), 'utf8');
const env = examplePolicyEnv;
const example = parse(exampleText) as Json;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = Array<string | number>;

/** Every place in the document, the top level included. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  const here = [prefix];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => pathsOf(item, [...prefix, i]))];
  if (value !== null && typeof value === 'object') {
    return [...here, ...Object.entries(value).flatMap(([key, item]) => pathsOf(item, [...prefix, key]))];
  }
  return here;
}

/** The container holding `path`'s last step, or undefined. */
function parentOf(document: Json, path: Path): Json | undefined {
  let node: Json | undefined = document;
  for (const step of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, Json>)[step];
  }
  return node;
}

/** Values an operator might plausibly get wrong, and anything else. */
const value: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    '1h',
    '-1h',
    '0s',
    '1.5h',
    '99999999999999999d',
    '25:00',
    'mon',
    'funday',
    'Mars/Olympus',
    '${UNSET_VARIABLE}',
    'deny',
    'review',
    'postgres',
    'nope',
    '',
    0,
    -1,
    1e308,
    Number.NaN,
    true,
    null,
    [],
    {},
  ),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
);

const edit = fc.record({
  kind: fc.constantFrom('remove', 'replace', 'add'),
  at: fc.nat(),
  key: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_-]{0,12}$/),
  value,
});
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function applyEdit(document: Json, { kind, at, key, value: replacement }: Edit): Json {
  const paths = pathsOf(document);
  const path = paths[at % paths.length] as Path;
  if (path.length === 0) return kind === 'replace' ? replacement : document;
  const parent = parentOf(document, path);
  if (parent === null || typeof parent !== 'object' || parent === undefined) return document;
  const step = path[path.length - 1] as string | number;
  const target = parent as Record<string | number, Json>;
  if (kind === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(step), 1);
    else delete target[step];
  } else if (kind === 'replace') {
    target[step] = replacement;
  } else if (Array.isArray(parent)) {
    parent.push(replacement);
  } else {
    target[key] = replacement;
  }
  return document;
}

/** Returns normally or throws a ConfigError; anything else fails the property with what it was. */
function outcomeOf(text: string): { ok: true } | { ok: false; message: string } {
  try {
    parsePolicy(text, env);
    return { ok: true };
  } catch (error) {
    expect(error, String((error as Error)?.stack ?? error)).toBeInstanceOf(ConfigError);
    return { ok: false, message: (error as ConfigError).message };
  }
}

/**
 * `policy: <key path>: <what is wrong>`, the path `(top level)` for the document itself; keys
 * that would not read as a path segment are JSON-quoted.
 */
const segment = '([A-Za-z0-9_-]+|"(?:[^"\\\\]|\\\\.)*")';
const keyPathMessage = new RegExp(`^policy: (\\(top level\\)|${segment}(\\.${segment})*): \\S`);

describe('policy files', () => {
  it('the example itself is valid', () => {
    expect(outcomeOf(exampleText)).toEqual({ ok: true });
  });

  it('edited documents are accepted or refused with the key path of the problem', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const document = edits.reduce(applyEdit, structuredClone(example));
        const outcome = outcomeOf(stringify(document));
        if (!outcome.ok) expect(outcome.message).toMatch(keyPathMessage);
      }),
      { numRuns: 300 },
    );
  });

  /** YAML syntax an edited file may contain, including what the parser refuses to expand. */
  const snippet = fc.constantFrom(
    '&anchor',
    '*anchor',
    '*undefined_anchor',
    '!!binary aGVsbG8=',
    '!!set {a, b}',
    '!custom tag',
    '<<: *anchor',
    '? [a, b]\n: c',
    '---',
    '%YAML 1.1',
    '"unterminated',
    '\t',
    ': :',
    '- - -',
    '{',
    ']',
    '\u0000',
    '\ufeff',
  );
  const textEdit = fc.record({
    at: fc.nat(),
    drop: fc.nat({ max: 20 }),
    insert: fc.oneof(snippet, fc.string({ unit: 'binary', maxLength: 20 })),
  });

  it('edited text is accepted or refused with a ConfigError, never another error', () => {
    fc.assert(
      fc.property(fc.array(textEdit, { minLength: 1, maxLength: 3 }), (edits) => {
        let text = exampleText;
        for (const { at, drop, insert } of edits) {
          const position = at % (text.length + 1);
          text = text.slice(0, position) + insert + text.slice(position + drop);
        }
        const outcome = outcomeOf(text);
        if (!outcome.ok) expect(outcome.message).toMatch(/^policy(:| is not valid YAML:) \S/);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['an alias to an anchor never set', 'securityChannel: *nowhere\n'],
    [
      'aliases that expand exponentially',
      `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
`,
    ],
  ])('%s is a ConfigError', (_what, text) => {
    expect(outcomeOf(text)).toMatchObject({ ok: false, message: expect.stringMatching(/^policy/) });
  });
});
