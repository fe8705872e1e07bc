import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keepHandSetFields, reuseValues } from '../../src/core/merge.js';
import type { ExtensionRecord } from '../../src/core/records.js';

describe('keepHandSetFields (registration merge)', () => {
  const stored: ExtensionRecord = {
    id: 'mlflow',
    zone: 'eu-1',
    services: [
      { id: 'mlflow-tracking', resource: 'mlflow-tracking', default: true, credentials: [{ id: 'c1', scope: 'global', default: true }] },
      { id: 'mlflow-store', resource: 's3' },
    ],
  };

  it('keeps a hand-set service default, credentials default and zone the new record leaves out', () => {
    const next: ExtensionRecord = { id: 'mlflow', services: [{ id: 'mlflow-tracking', resource: 'mlflow-tracking', credentials: [{ id: 'c1', scope: 'global' }] }] };
    expect(keepHandSetFields(stored, next)).toEqual({
      id: 'mlflow',
      zone: 'eu-1',
      services: [{ id: 'mlflow-tracking', resource: 'mlflow-tracking', default: true, credentials: [{ id: 'c1', scope: 'global', default: true }] }],
    });
  });

  it('a record that sets the fields wins, false included; new services take nothing', () => {
    const next: ExtensionRecord = { id: 'mlflow', zone: 'us-2', services: [{ id: 'mlflow-tracking', default: false }, { id: 'other' }] };
    expect(keepHandSetFields(stored, next)).toEqual({ id: 'mlflow', zone: 'us-2', services: [{ id: 'mlflow-tracking', default: false }, { id: 'other' }] });
    expect(keepHandSetFields(undefined, next)).toBe(next);
  });

  it('generated records: each hand-settable field is the new one when set, else the stored one (oracle by field path)', () => {
    const maybeBool = fc.option(fc.boolean(), { nil: undefined });
    const svc = fc.record({ id: fc.constantFrom('a', 'b', 'c'), default: maybeBool, cred: maybeBool });
    const rec = fc.record({ zone: fc.option(fc.constantFrom('z1', 'z2'), { nil: undefined }), services: fc.uniqueArray(svc, { selector: (s) => s.id, maxLength: 3 }) });
    const build = (r: { zone?: string | undefined; services: { id: string; default?: boolean | undefined; cred?: boolean | undefined }[] }): ExtensionRecord => ({
      id: 'x',
      ...(r.zone !== undefined ? { zone: r.zone } : {}),
      services: r.services.map((s) => ({ id: s.id, ...(s.default !== undefined ? { default: s.default } : {}), credentials: [{ id: 'k', scope: 'global' as const, ...(s.cred !== undefined ? { default: s.cred } : {}) }] })),
    });
    fc.assert(
      fc.property(rec, rec, (p, n) => {
        const out = keepHandSetFields(build(p), build(n));
        // Oracle: a flat table of field path → value.
        const pick = (a: unknown, b: unknown): unknown => (a !== undefined ? a : b);
        expect(out.zone).toBe(pick(n.zone, p.zone));
        expect(out.services?.map((s) => s.id)).toEqual(n.services.map((s) => s.id));
        for (const s of n.services) {
          const old = p.services.find((x) => x.id === s.id);
          const got = out.services?.find((x) => x.id === s.id);
          expect(got?.default).toBe(pick(s.default, old?.default));
          expect(got?.credentials?.[0]?.default).toBe(pick(s.cred, old?.cred));
        }
      }),
    );
  });
});

describe('reuseValues (values that persist)', () => {
  it('recorded values stay, new ones win, reset drops the recorded, undeclared keys go', () => {
    expect(reuseValues({ host: 'a.example', port: 80 }, { port: 81 })).toEqual({ host: 'a.example', port: 81 });
    expect(reuseValues({ host: 'a.example', port: 80 }, { port: 81 }, { reset: true })).toEqual({ port: 81 });
    expect(reuseValues({ host: 'a.example', gone: 1 }, {}, { declared: (k) => k !== 'gone' })).toEqual({ host: 'a.example' });
    expect(reuseValues(undefined, {})).toEqual({});
  });

  it('generated: the result is exactly the given keys plus the recorded keys not given (unless reset)', () => {
    const m = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer());
    fc.assert(
      fc.property(m, m, fc.boolean(), (rec, given, reset) => {
        const out = reuseValues(rec, given, { reset });
        const keys = new Set([...Object.keys(given), ...(reset ? [] : Object.keys(rec))]);
        expect(new Set(Object.keys(out))).toEqual(keys);
        for (const k of keys) expect(out[k]).toBe(k in given ? given[k] : rec[k]);
      }),
    );
  });
});
