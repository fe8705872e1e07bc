/** Body parsing with limits (src/registry/server/body.ts), media types (http.ts bodyKind) and the limits' flags/env. */
import { describe, expect, test } from 'vitest';
import { BodyError, parseBodyText, type ParseLimits } from '../../src/registry/server/body.js';
import { bodyKind, decodeBody } from '../../src/registry/server/http.js';
import { DEFAULT_LIMITS, LIMIT_SPECS, resolveLimits } from '../../src/registry/server/limits.js';
import { aliasBombYaml, deepBlockYaml, deepFlowYaml, deepJson, manyKeysYaml } from '../../bench/hostile.mjs';

const L: ParseLimits = { parsedLimit: 10_000, maxKeys: 100, maxDepth: 8, maxAliases: 5 };

function refused(kind: 'json' | 'yaml', text: string, limits: ParseLimits = L): BodyError {
  try {
    parseBodyText(kind, text, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(BodyError);
    return err as BodyError;
  }
  throw new Error('accepted');
}

describe('parseBodyText', () => {
  test('JSON and YAML give the same plain value', () => {
    const v = { a: 1, b: [true, null, 'x'], c: { d: 'e' } };
    expect(parseBodyText('json', JSON.stringify(v), L)).toEqual(v);
    expect(parseBodyText('yaml', 'a: 1\nb: [true, null, x]\nc: { d: e }\n', L)).toEqual(v);
    expect(parseBodyText('yaml', '  \n', L)).toBeUndefined();
    expect(parseBodyText('yaml', '# only a comment\n', L)).toBeUndefined();
    expect(parseBodyText('json', '', L)).toBeUndefined();
  });

  test('duplicate keys: 400 naming the key and where, in JSON (escaped spellings too) and YAML', () => {
    expect(refused('json', '{"a":{"b":1,"b":2}}').message).toMatch(/duplicate key "b" at \/a\/b/);
    expect(refused('json', '{"a":1,"\\u0061":2}').message).toMatch(/duplicate key "a"/);
    expect(refused('json', '[{"x":1},{"y":1,"y":2}]').message).toMatch(/duplicate key "y" at \/1\/y/);
    expect(refused('yaml', 'a:\n  b: 1\n  b: 2\n').message).toMatch(/duplicate key "b" at \/a\/b/);
    // 1 and "1" are one key once in a JS object: refused too (lossless).
    expect(refused('yaml', '1: a\n"1": b\n').statusCode).toBe(400);
    // The same key in different maps is fine; so are strings that look like keys.
    expect(parseBodyText('json', '{"a":{"k":1},"b":{"k":"\\"k\\":"}}', L)).toEqual({ a: { k: 1 }, b: { k: '"k":' } });
    // Where a string ends with backslashes before its closing quote: escaped quotes, escaped backslashes.
    expect(parseBodyText('json', '{"a\\\\":"x\\\\","b":"\\\\\\"","c":1}', L)).toEqual({ 'a\\': 'x\\', b: '\\"', c: 1 });
    expect(refused('json', '{"k\\\\":1,"k\\u005c":2}').message).toMatch(/duplicate key "k\\\\" at/);
    expect(refused('json', '{"v":"a\\"b","v":2}').message).toMatch(/duplicate key "v"/);
    expect(refused('json', '{"v":"\\\\","v":2}').message).toMatch(/duplicate key "v"/);
  });

  test('reserved keys: 400 naming the key, at any depth, JSON and YAML', () => {
    for (const k of ['__proto__', 'constructor', 'prototype']) {
      expect(refused('json', `{"c":{"${k}":"v"}}`).message).toContain(`reserved key "${k}" at /c/${k}`);
      expect(refused('yaml', `c:\n  - ${k}: v\n`).message).toContain(`reserved key "${k}" at /c/0/${k}`);
    }
    // As values they are plain strings.
    expect(parseBodyText('yaml', 'a: __proto__\n', L)).toEqual({ a: '__proto__' });
  });

  test('key count: keys plus items, aliases expanded, 413', () => {
    expect(parseBodyText('yaml', manyKeysYaml(100), L)).toBeTypeOf('object');
    expect(refused('yaml', manyKeysYaml(101)).statusCode).toBe(413);
    expect(refused('json', JSON.stringify(Array.from({ length: 101 }, () => 1))).message).toMatch(/more than 100 keys/);
    expect(parseBodyText('json', JSON.stringify(Array.from({ length: 100 }, () => 1)), L)).toHaveLength(100);
    // 40 items behind an anchor, then 3 aliases of it: 160 once expanded.
    const y = `a: &a [${Array.from({ length: 40 }, () => 'x').join(', ')}]\nb: *a\nc: *a\nd: *a\n`;
    expect(refused('yaml', y).message).toMatch(/aliases expanded/);
    // The 80 000 keys of the issue: refused by the lexing pass, long before a tree is built.
    expect(refused('yaml', manyKeysYaml(80_000), { ...L, maxKeys: 20_000 }).statusCode).toBe(413);
  });

  test('nesting depth: 413, for flow, block and JSON nesting', () => {
    expect(parseBodyText('json', '[[[[[[[[1]]]]]]]]', L)).toEqual([[[[[[[[1]]]]]]]]);
    expect(refused('json', '[[[[[[[[[1]]]]]]]]]').message).toMatch(/deeper than 8/);
    expect(refused('json', deepJson(400_000), DEFAULT_LIMITS).statusCode).toBe(413);
    expect(refused('yaml', deepFlowYaml(500_000), DEFAULT_LIMITS).message).toMatch(/deeper than 64/);
    expect(refused('yaml', deepBlockYaml(9)).message).toMatch(/deeper than 8/);
    expect(parseBodyText('yaml', deepBlockYaml(8), L)).toEqual([[[[[[[['x']]]]]]]]);
    expect(refused('yaml', deepBlockYaml(400_000), DEFAULT_LIMITS).statusCode).toBe(413);
  });

  test('parsed size after alias expansion and alias count: 413', () => {
    expect(refused('yaml', aliasBombYaml(5_000, 3)).message).toMatch(/larger than 10000 bytes once parsed/);
    expect(parseBodyText('yaml', aliasBombYaml(1_000, 3), L)).toMatchObject({ configuration: { k2: 'x'.repeat(1000) } });
    expect(refused('yaml', aliasBombYaml(10, 6)).message).toMatch(/more than 5 YAML aliases/);
    expect(refused('yaml', aliasBombYaml(900_000, 100), DEFAULT_LIMITS).statusCode).toBe(413);
    expect(refused('yaml', 'a: *nope\n').message).toMatch(/undefined alias/);
  });

  test('one YAML document; strict YAML 1.2 (no unknown tags, no merge keys)', () => {
    expect(refused('yaml', 'a: 1\n---\nb: 2\n').message).toMatch(/2 documents/);
    expect(refused('yaml', 'a: !foo 1\n').statusCode).toBe(400);
    expect(parseBodyText('yaml', 'a: &x { b: 1 }\nc: { <<: *x }\n', L)).toEqual({ a: { b: 1 }, c: { '<<': { b: 1 } } });
    expect(parseBodyText('yaml', 'a: yes\nb: 0x10\n', L)).toEqual({ a: 'yes', b: 16 });
    expect(refused('yaml', 'a: .inf\n').statusCode).toBe(400);
    expect(refused('yaml', '? [a]\n: 1\n').message).toMatch(/not a string/);
  });

  test('malformed JSON: 400 with a position, never the body text', () => {
    const e = refused('json', '{"secret-value": ');
    expect(e.statusCode).toBe(400);
    expect(e.message).not.toContain('secret-value');
  });
});

describe('media types', () => {
  test('JSON, the YAML types and no type are accepted; charset must be UTF-8', () => {
    expect(bodyKind('application/json')).toBe('json');
    expect(bodyKind('Application/JSON; charset="utf-8"')).toBe('json');
    for (const t of ['application/yaml', 'application/x-yaml', 'text/yaml; charset=UTF8', undefined, '']) expect(bodyKind(t)).toBe('yaml');
    for (const t of ['text/plain', 'application/x-www-form-urlencoded', 'application/problem+json', 'application/json; charset=utf-16']) {
      expect(() => bodyKind(t), t).toThrow(expect.objectContaining({ statusCode: 415 }));
    }
  });

  test('bytes that are not UTF-8 are refused, not replaced', () => {
    expect(decodeBody(Buffer.from('é'))).toBe('é');
    expect(() => decodeBody(Buffer.from([0x61, 0xff]))).toThrow(/not valid UTF-8/);
  });
});

describe('limits from flags and environment', () => {
  test('defaults, env, flags (flags win), config base; out of range is a USAGE error naming the source', () => {
    expect(resolveLimits({}, {})).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({}, { FUSEML_REGISTRY_MAX_KEYS: '500' }).maxKeys).toBe(500);
    expect(resolveLimits({ maxKeys: '700' }, { FUSEML_REGISTRY_MAX_KEYS: '500' }).maxKeys).toBe(700);
    expect(resolveLimits({}, {}, { bodyLimit: 4096 }).bodyLimit).toBe(4096);
    expect(resolveLimits({}, { FUSEML_REGISTRY_BODY_LIMIT: '8192' }, { bodyLimit: 4096 }).bodyLimit).toBe(8192);
    expect(() => resolveLimits({ maxDepth: '2' }, {})).toThrow(/--max-depth 2: must be an integer from 8/);
    expect(() => resolveLimits({}, { FUSEML_REGISTRY_REQUEST_TIMEOUT: 'soon' })).toThrow(/FUSEML_REGISTRY_REQUEST_TIMEOUT soon/);
  });

  test('every limit has a flag, a variable and a status; every default is in range', () => {
    expect(LIMIT_SPECS.map((s) => s.key).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
    for (const s of LIMIT_SPECS) {
      expect(DEFAULT_LIMITS[s.key]).toBeGreaterThanOrEqual(s.min);
      expect(DEFAULT_LIMITS[s.key]).toBeLessThanOrEqual(s.max);
      expect(s.env).toMatch(/^FUSEML_REGISTRY_[A-Z_]+$/);
    }
  });
});
