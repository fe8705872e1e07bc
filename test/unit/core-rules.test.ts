import { describe, expect, it } from 'vitest';
import { IDENTIFIER, splitAssignment } from '../../src/core/assign.js';
import { isDns1123Label } from '../../src/core/names.js';
import { isRecordId } from '../../src/core/records.js';
import { configDir, stateDir, xdgDir } from '../../src/core/xdg.js';
import { parseMirrors } from '../../src/installer/mirrors.js';
import { parseSetFlags } from '../../src/installer/params.js';
import { parseAssignments } from '../../src/registration/manual.js';
import { parseOutputLines } from '../../src/steps/script.js';
import { parseInputs } from '../../src/cli/commands/workflow-render.js';

describe('KEY=VALUE (src/core/assign.ts) and its callers', () => {
  it('splits at the first separator and keeps the rest of the value whole', () => {
    expect(splitAssignment('a=b=c')).toEqual({ ok: true, key: 'a', value: 'b=c' });
    expect(splitAssignment('a=')).toEqual({ ok: true, key: 'a', value: '' });
    expect(splitAssignment('url:http://x=1', { separators: '=:' })).toEqual({ ok: true, key: 'url', value: 'http://x=1' });
  });

  it('refuses a missing separator, an empty key or a key outside the pattern, returning only the key', () => {
    expect(splitAssignment('novalue')).toEqual({ ok: false, key: 'novalue' });
    expect(splitAssignment('=secret')).toEqual({ ok: false, key: '' });
    expect(splitAssignment('1x=secret', { key: IDENTIFIER })).toEqual({ ok: false, key: '1x' });
    expect(splitAssignment('  k = v', { key: IDENTIFIER, trimKey: true })).toEqual({ ok: true, key: 'k', value: ' v' });
  });

  it('every caller applies the same split and never echoes a rejected value', () => {
    const secret = 'S3cr3t-value';
    const bad = [`=${secret}`, `1bad=${secret}`];
    const set = parseSetFlags([...bad, 'mlflow.host=a=b', 'port=1']);
    expect(set.assignments).toEqual([
      { extension: 'mlflow', param: 'host', value: 'a=b', source: '--set' },
      { extension: undefined, param: 'port', value: '1', source: '--set' },
    ]);
    expect(set.issues).toHaveLength(2);
    const manual = parseAssignments([...bad, 'outputs.URL=x=y'], '--set');
    expect(manual.inputs).toEqual([{ key: 'outputs.URL', value: 'x=y', source: '--set' }]);
    expect(manual.issues).toHaveLength(2);
    const lines = parseOutputLines(`# c\n\n${bad.join('\n')}\nURL=http://a?b=c\n`);
    expect(lines.values).toEqual({ URL: 'http://a?b=c' });
    expect(lines.problems).toHaveLength(2);
    expect(parseInputs(['n=a=b'])).toEqual({ n: 'a=b' });
    for (const text of [...set.issues.map((i) => i.message), ...manual.issues.map((i) => i.message), ...lines.problems]) expect(text).not.toContain(secret);
    expect(() => parseInputs([`=${secret}`])).toThrow(/expected NAME=VALUE/);
    expect(() => parseMirrors(['https://a.example=' ])).toThrow(/ORIGINAL=MIRROR/);
    expect(parseMirrors(['https://a.example/x=http://m.local/y'])).toEqual([{ original: 'https://a.example/x', mirror: 'http://m.local/y' }].map((m) => expect.objectContaining(m)));
  });

  it('--set keys: an extension prefix must be a DNS-1123 label', () => {
    expect(parseSetFlags(['Bad_Ext.p=1']).issues).toHaveLength(1);
    expect(parseSetFlags(['good-ext.p=1']).issues).toHaveLength(0);
  });
});

describe('names and ids', () => {
  it('DNS-1123 labels: pattern and 63-character limit', () => {
    for (const ok of ['a', 'a-b', '0x', 'a'.repeat(63)]) expect(isDns1123Label(ok), ok).toBe(true);
    for (const bad of ['', '-a', 'a-', 'A', 'a_b', 'a.b', 'a'.repeat(64)]) expect(isDns1123Label(bad), bad).toBe(false);
  });
  it('record ids: fuseml-core form, 1-100 characters', () => {
    for (const ok of ['a', 'A_b-1', '_x', 'x'.repeat(100)]) expect(isRecordId(ok), ok).toBe(true);
    for (const bad of ['', '-a', 'a b', 'a/b', 'x'.repeat(101)]) expect(isRecordId(bad), bad).toBe(false);
  });
});

describe('XDG folders (src/core/xdg.ts)', () => {
  it('uses $XDG_*_HOME when absolute, else the XDG default under home; FUSEML_* overrides win', () => {
    expect(xdgDir('data', {}, '/h')).toBe('/h/.local/share/fuseml');
    expect(xdgDir('state', {}, '/h')).toBe('/h/.local/state/fuseml');
    expect(xdgDir('config', {}, '/h')).toBe('/h/.config/fuseml');
    expect(xdgDir('cache', {}, '/h')).toBe('/h/.cache/fuseml');
    expect(xdgDir('cache', { XDG_CACHE_HOME: '/c' }, '/h')).toBe('/c/fuseml');
    expect(xdgDir('cache', { XDG_CACHE_HOME: 'relative' }, '/h')).toBe('/h/.cache/fuseml');
    expect(stateDir({ FUSEML_STATE_DIR: '/s', XDG_STATE_HOME: '/x' })).toBe('/s');
    expect(configDir({ FUSEML_CONFIG_DIR: '/c' })).toBe('/c');
    expect(configDir({ XDG_CONFIG_HOME: '/x' })).toBe('/x/fuseml');
  });
});
