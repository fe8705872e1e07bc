/**
 * The validated-repository cache (src/descriptor/cache.ts) on real folders and real files, with
 * the real loader: a hit returns what was stored, any change below the folder is a miss, a corrupt
 * cache file is ignored, and nothing is written that must not be (issues, literal credentials,
 * a folder changing during the load or changed too recently to trust timestamps).
 * Through the bundled bins: test/integration/bundle.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedDerived, cachedRepository, defaultCacheDir, fingerprint, holdsNoSecret, saveDerived, type LoadedRepository } from '../../src/descriptor/cache.js';
import { isIssueList, type Issue } from '../../src/core/errors.js';
import { loadRepository } from '../../src/descriptor/repository.js';

const SHIPPED = fileURLToPath(new URL('../../extensions/', import.meta.url));
const BUILD = 'test-build';
/** A clock far ahead: every file counts as settled (the racy-timestamp rule is tested on its own). */
const later = (): bigint => BigInt(Date.now() + 60_000) * 1_000_000n;

let tmp: string;
let repo: string;
let cacheDir: string;

async function realLoad(): Promise<LoadedRepository> {
  const r = await loadRepository(repo); // no build id outside a bundle: never cached itself
  return { extensions: [...r.extensions.values()], issues: r.issues };
}

function counting(load: () => Promise<LoadedRepository>): { load: () => Promise<LoadedRepository>; calls: () => number } {
  let n = 0;
  return {
    load: async () => {
      n++;
      return load();
    },
    calls: () => n,
  };
}

const names = (r: LoadedRepository): string[] => r.extensions.map((e) => e.name);

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fuseml-repo-cache-'));
  repo = join(tmp, 'repo');
  cacheDir = join(tmp, 'cache');
  await cp(SHIPPED, repo, { recursive: true, verbatimSymlinks: true });
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('validated-repository cache', () => {
  it('a second load of an unchanged folder is answered from the cache, with the same extensions', async () => {
    const c = counting(realLoad);
    const first = await cachedRepository(repo, c.load, { buildId: BUILD, dir: cacheDir, nowNs: later });
    expect((await readdir(cacheDir)).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    const second = await cachedRepository(repo, c.load, { buildId: BUILD, dir: cacheDir, nowNs: later });
    expect(c.calls()).toBe(1);
    expect(second.issues).toEqual([]);
    expect(second.extensions).toEqual(JSON.parse(JSON.stringify(first.extensions)));
    expect(names(second)).toEqual(['fuseml-registry', 'gcs', 'kserve', 'mlflow', 's3', 'seldon-core']);
  });

  it('what is read back is what the cache file says (the hit path really reads it)', async () => {
    await cachedRepository(repo, realLoad, { buildId: BUILD, dir: cacheDir, nowNs: later });
    const [file] = await readdir(cacheDir);
    const path = join(cacheDir, file as string);
    const stored = JSON.parse(await readFile(path, 'utf8')) as { extensions: { description: string }[] };
    (stored.extensions[0] as { description: string }).description = 'from the cache';
    await writeFile(path, JSON.stringify(stored));
    const r = await cachedRepository(repo, () => Promise.reject(new Error('must not load')), { buildId: BUILD, dir: cacheDir, nowNs: later });
    expect(r.extensions[0]?.description).toBe('from the cache');
  });

  it('an edited descriptor, an added file, a removed folder, another build or an edited schema list: each is a miss', async () => {
    const c = counting(realLoad);
    const load = (build = BUILD): Promise<LoadedRepository> => cachedRepository(repo, c.load, { buildId: build, dir: cacheDir, nowNs: later });
    await load();
    const s3 = join(repo, 's3/extension.yaml');
    await writeFile(s3, (await readFile(s3, 'utf8')).replace(/^version: .*$/m, 'version: 9.9.9'));
    expect((await load()).extensions.find((e) => e.name === 's3')?.version).toBe('9.9.9');
    expect(c.calls()).toBe(2);
    await load();
    expect(c.calls()).toBe(2); // the new state is cached in turn
    await writeFile(join(repo, 's3/chart/extra.txt'), 'x');
    await load();
    expect(c.calls()).toBe(3);
    await rm(join(repo, 'kserve'), { recursive: true });
    expect(names(await load())).not.toContain('kserve');
    expect(c.calls()).toBe(4);
    await load('another-build');
    expect(c.calls()).toBe(5);
  });

  it('a corrupt, truncated or foreign cache file is ignored: the full load answers', async () => {
    const c = counting(realLoad);
    const opts = { buildId: BUILD, dir: cacheDir, nowNs: later };
    await cachedRepository(repo, c.load, opts);
    const [file] = await readdir(cacheDir);
    const path = join(cacheDir, file as string);
    const good = await readFile(path, 'utf8');
    for (const bad of ['{not json', good.slice(0, good.length / 2), JSON.stringify({ ...JSON.parse(good), extensions: [{ name: 1 }] }), JSON.stringify({ ...JSON.parse(good), root: '/elsewhere' }), '']) {
      await writeFile(path, bad);
      const before = c.calls();
      const r = await cachedRepository(repo, c.load, opts);
      expect(c.calls()).toBe(before + 1);
      expect(names(r)).toContain('mlflow');
    }
  });

  it('writes nothing for a repository with issues, and a broken descriptor is reported even after a cached run', async () => {
    const c = counting(realLoad);
    const opts = { buildId: BUILD, dir: cacheDir, nowNs: later };
    await cachedRepository(repo, c.load, opts);
    await writeFile(join(repo, 's3/extension.yaml'), 'name: [unclosed\n');
    const r = await cachedRepository(repo, c.load, opts);
    expect(r.issues.some((i) => i.file.endsWith('s3/extension.yaml'))).toBe(true);
    const again = await cachedRepository(repo, c.load, opts);
    expect(again.issues.length).toBeGreaterThan(0);
    expect(c.calls()).toBe(3);
  });

  it('never stores a literal credentials value (a secret in the repository stays only there)', async () => {
    const reg = join(repo, 's3/registration.yaml');
    await writeFile(reg, (await readFile(reg, 'utf8')).replace('"{{ outputs.secretKey }}"', 'literal-secret-value'));
    const c = counting(realLoad);
    const r = await cachedRepository(repo, c.load, { buildId: BUILD, dir: cacheDir, nowNs: later });
    expect(r.issues).toEqual([]);
    expect(holdsNoSecret(r.extensions)).toBe(false);
    await cachedRepository(repo, c.load, { buildId: BUILD, dir: cacheDir, nowNs: later });
    expect(c.calls()).toBe(2);
    await expect(readdir(cacheDir)).rejects.toThrow(); // never even created
  });

  it('writes nothing when the folder changed during the load, or changed too recently to trust its timestamps', async () => {
    const c = counting(async () => {
      const r = await realLoad();
      await writeFile(join(repo, 'mlflow/notes.txt'), String(Date.now()));
      return r;
    });
    await cachedRepository(repo, c.load, { buildId: BUILD, dir: cacheDir, nowNs: later });
    await expect(readdir(cacheDir)).rejects.toThrow();
    // Just copied: every ctime is "now".
    await cachedRepository(repo, realLoad, { buildId: BUILD, dir: cacheDir });
    await expect(readdir(cacheDir)).rejects.toThrow();
  });

  it('is off without a build id (running from src/) and with FUSEML_NO_CACHE=1', async () => {
    await cachedRepository(repo, realLoad, { buildId: undefined, dir: cacheDir, nowNs: later });
    process.env.FUSEML_NO_CACHE = '1';
    try {
      await cachedRepository(repo, realLoad, { buildId: BUILD, dir: cacheDir, nowNs: later });
    } finally {
      delete process.env.FUSEML_NO_CACHE;
    }
    await expect(readdir(cacheDir)).rejects.toThrow();
  });

  it('the fingerprint follows links and skips hidden folders at the top (as the loader does)', async () => {
    const a = fingerprint(repo, BUILD);
    await cp(join(repo, 's3'), join(repo, '.git'), { recursive: true });
    expect(fingerprint(repo, BUILD)?.hash).toBe(a?.hash);
    // mlflow's chart/charts/minio is a link to the s3 chart: a change behind it changes the fingerprint.
    await writeFile(join(repo, 's3/chart/Chart.yaml'), (await readFile(join(repo, 's3/chart/Chart.yaml'), 'utf8')) + '\n');
    expect(fingerprint(repo, BUILD)?.hash).not.toBe(a?.hash);
    expect(fingerprint(join(tmp, 'missing'), BUILD)).toBeUndefined();
  });

  it('lives under $XDG_CACHE_HOME (absolute only), else ~/.cache', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/fuseml-installer/repositories');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/fuseml-installer\/repositories$/);
  });

  describe('results derived from a cached folder (extensions validate\'s warnings)', () => {
    const opts = (): { buildId: string; dir: string; nowNs: () => bigint } => ({ buildId: BUILD, dir: cacheDir, nowNs: later });
    const warning = (message: string): Issue[] => [{ file: join(repo, 's3/extension.yaml'), line: 3, col: 1, pointer: '/parameters/x', message }];
    const counted = (): { compute: () => Promise<Issue[]>; calls: () => number } => {
      let n = 0;
      return { compute: async () => (n++, warning(`computed ${n}`)), calls: () => n };
    };
    const entry = async (): Promise<{ path: string; data: { derived?: Record<string, unknown> } }> => {
      const [file] = (await readdir(cacheDir)).filter((f) => f.endsWith('.json'));
      const path = join(cacheDir, file as string);
      return { path, data: JSON.parse(await readFile(path, 'utf8')) as { derived?: Record<string, unknown> } };
    };

    it('computed once, kept in the folder\'s entry by saveDerived, then read back from it', async () => {
      const c = counted();
      await cachedRepository(repo, realLoad, opts()); // stored
      expect(await cachedDerived(repo, 'k', c.compute, isIssueList)).toEqual(warning('computed 1'));
      saveDerived();
      expect((await entry()).data.derived).toEqual({ k: warning('computed 1') });
      await cachedRepository(repo, () => Promise.reject(new Error('must not load')), opts()); // a hit
      expect(await cachedDerived(repo, 'k', c.compute, isIssueList)).toEqual(warning('computed 1'));
      expect(c.calls()).toBe(1);
      // What the entry says is what is answered (the hit path really reads it).
      const { path, data } = await entry();
      await writeFile(path, JSON.stringify({ ...data, derived: { k: warning('from the cache') } }));
      await cachedRepository(repo, realLoad, opts());
      expect(await cachedDerived(repo, 'k', c.compute, isIssueList)).toEqual(warning('from the cache'));
      expect(c.calls()).toBe(1);
    });

    it('a change below the folder, an invalid stored value or no cache entry: computed again', async () => {
      const c = counted();
      await cachedRepository(repo, realLoad, opts());
      await cachedDerived(repo, 'k', c.compute, isIssueList);
      saveDerived();
      await writeFile(join(repo, 's3/values.yaml'), '# edited\n', { flag: 'a' });
      await cachedRepository(repo, realLoad, opts()); // a miss: the new state is stored, without the old results
      expect(await cachedDerived(repo, 'k', c.compute, isIssueList)).toEqual(warning('computed 2'));
      saveDerived();
      const { path, data } = await entry();
      expect(data.derived).toEqual({ k: warning('computed 2') });
      await writeFile(path, JSON.stringify({ ...data, derived: { k: [{ file: 1 }] } }));
      await cachedRepository(repo, realLoad, opts());
      expect(await cachedDerived(repo, 'k', c.compute, isIssueList)).toEqual(warning('computed 3'));
      // A folder the cache never answered: nothing kept, nothing read.
      const other = join(tmp, 'elsewhere');
      expect(await cachedDerived(other, 'k', c.compute, isIssueList)).toEqual(warning('computed 4'));
      expect(await cachedDerived(other, 'k', c.compute, isIssueList)).toEqual(warning('computed 5'));
    });

    it('not saved when the folder changed after its entry was read', async () => {
      const c = counted();
      await cachedRepository(repo, realLoad, opts());
      await cachedDerived(repo, 'k', c.compute, isIssueList);
      await writeFile(join(repo, 'mlflow/notes.txt'), 'new');
      saveDerived();
      expect((await entry()).data.derived).toBeUndefined();
    });
  });
});
