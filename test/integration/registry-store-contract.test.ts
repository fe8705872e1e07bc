/**
 * The Store contract (test/helpers/store-contract.ts) on the embedded SQLite store, a real database file; and
 * the Kubernetes store's pieces that need no cluster: object names, label values, the CRD manifest in deploy/.
 * The same contract runs on the Kubernetes store in test/e2e/registry-kubernetes-store.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { FUSEML_EXTENSION_CRD } from '../../src/registry/store/kubernetes/crd.js';
import { labelValue, objectName } from '../../src/registry/store/kubernetes/store.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';
import { storeContract } from '../helpers/store-contract.js';
import { cli } from '../helpers/cli.js';
import { ROOT } from '../helpers/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'fuseml-store-contract-'));
const path = join(dir, 'registry.db');
const key = randomBytes(32);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract('sqlite', {
  open: async () => new SqliteStore({ path, key }),
  atRest: async () => [path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p).toString('latin1')).join('\n'),
});

describe('Kubernetes store without a cluster', () => {
  test('object names: DNS-1123, distinct for ids differing in case or _ / -, stable', () => {
    const ids = ['API', 'api', 'a_b', 'a-b', 'A_B', '_x', 'x-', `L${'_'.repeat(99)}`];
    const names = ids.map(objectName);
    expect(new Set(names).size).toBe(ids.length);
    for (const n of names) {
      expect(n).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(n.length).toBeLessThanOrEqual(253);
    }
    expect(objectName('API')).toBe(objectName('API'));
    expect(objectName('mlflow')).toMatch(/^ext-mlflow-[0-9a-f]{10}$/);
  });

  test('label values: the value when valid, else a stable hash', () => {
    expect(labelValue('mlflow')).toBe('mlflow');
    expect(labelValue('')).toBe('');
    for (const v of ['odd product / x', 'a'.repeat(64), '-lead', 'trail.']) {
      expect(labelValue(v)).toMatch(/^h\.[0-9a-f]{40}$/);
      expect(labelValue(v)).toBe(labelValue(v));
    }
  });

  test('deploy/crd-fusemlextension.yaml is the CRD the registry installs (--install-crd)', () => {
    const manifest = parse(readFileSync(join(ROOT, 'deploy/crd-fusemlextension.yaml'), 'utf8')) as unknown;
    expect(manifest).toEqual(JSON.parse(JSON.stringify(FUSEML_EXTENSION_CRD)));
  });
});

describe('fuseml-registry serve --store flags', () => {
  test('unknown store, flags of the other store, kubernetes without a key: usage errors (exit 2)', async () => {
    const env = { FUSEML_REGISTRY_KEY: undefined, XDG_DATA_HOME: dir };
    const cases: [string[], RegExp][] = [
      [['--store', 'postgres'], /--store postgres: not a store/],
      [['--kubeconfig', '/dev/null'], /--kubeconfig needs --store kubernetes/],
      [['--store-namespace', 'x'], /--store-namespace needs --store kubernetes/],
      [['--install-crd'], /--install-crd needs --store kubernetes/],
      [['--store', 'kubernetes', '--db', join(dir, 'x.db')], /--db is for --store sqlite/],
      [['--store', 'kubernetes', '--key-file', join(dir, 'absent.key')], /no encryption key/],
    ];
    for (const [args, message] of cases) {
      const r = await cli('fuseml-registry', ['serve', '--port', '0', ...args], { env });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'absent.key'))).toBe(false);
  });
});
