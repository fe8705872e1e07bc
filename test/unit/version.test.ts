/** The one version selector grammar (src/core/version.ts), used by ?version= and workflow requirements. */
import { describe, expect, test } from 'vitest';
import { versionMatcher, versionSelectorProblem } from '../../src/core/version.js';

const CASES: [string, Record<string, boolean>][] = [
  ['1.19.2', { '1.19.2': true, 'v1.19.2': true, '1.19.3': false, '1.19': false }],
  ['1.19', { '1.19.0': true, '1.19.2': true, '1.19': true, '1.20.0': false, '1.1.9': false, '1.19.0-rc.1': false }],
  ['1', { '1.0.0': true, '1.99.1': true, '2.0.0': false }],
  ['1.19.x', { '1.19.7': true, '1.20.0': false }],
  ['>=1.0,<1.1', { '1.0.0': true, '1.0.9': true, '1.1.0': false, '0.9.0': false }],
  ['>= 1.0, < 1.1', { '1.0.5': true, '1.1.0': false }],
  ['>=1.0 <1.1', { '1.0.5': true, '1.1.0': false }],
  ['^2 || ~1.2', { '2.3.0': true, '1.2.9': true, '1.3.0': false }],
  ['1.0 - 1.4', { '1.4.9': true, '1.5.0': false }],
  ['>=v1.1,<v2.5', { '2.4.0': true, 'v2.5.0': false }],
  ['latest', { latest: true, '1.0.0': false }],
  ['2024-05', { '2024-05': true, '2024.5.0': false }],
  ['*', { '1.0.0': true, nightly: false }],
];

describe('versionMatcher', () => {
  test.each(CASES)('%s', (wanted, expectations) => {
    const m = versionMatcher(wanted);
    for (const [v, ok] of Object.entries(expectations)) expect([v, m(v)]).toEqual([v, ok]);
    expect(m(undefined)).toBe(false);
  });

  test.each(['>=1.0,<', '>=', '<', '1.0,,2.0', '>=1.0,', ',>=1.0', '>=1.0 || ', '>=x.y', '>=1.0 <2.0 junk', '  ', '~>', '1.0 - '])(
    'malformed %j is a VALIDATION error, never "match all"',
    (wanted) => {
      expect(() => versionMatcher(wanted)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
      expect(versionSelectorProblem(wanted)).toMatch(/is not a version or a version range/);
    },
  );
});

describe('a workflow requirement with a malformed version', () => {
  test('is a problem of the workflow (exit 3), pointing at the field', async () => {
    const { resolveWorkflow, ResolutionError } = await import('../../src/core/resolve.js');
    const wf = { name: 'w', steps: [{ name: 's', extensions: [{ name: 'store', version: '>=1.0,<' }] }] };
    let err: unknown;
    try {
      resolveWorkflow(wf, { project: 'A' }, [{ id: 'e', version: '1.0.0', services: [{ id: 's', endpoints: [{ url: 'http://x', type: 'internal' }] }] }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResolutionError);
    expect((err as InstanceType<typeof ResolutionError>).exitCode).toBe(3);
    expect((err as InstanceType<typeof ResolutionError>).problems).toContainEqual(
      expect.objectContaining({ kind: 'invalid', pointer: '/steps/0/extensions/0/version', message: expect.stringContaining('is not a version or a version range') }),
    );
  });
});
