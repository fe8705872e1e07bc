/**
 * Extension sources on the real things: a local bare git repository (the git binary) with an
 * extension pushed at tags, and a loopback HTTP server serving a .tgz made by tar; then the real
 * `fuseml-installer install -e … --dry-run` process (no cluster needed) on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXIT_CODES } from '../../src/core/errors.js';
import { fetchSource } from '../../src/installer/sources.js';
import { parseMirrors } from '../../src/installer/mirrors.js';
import { cli } from '../helpers/cli.js';
import { gitFixture, serveFiles, tgz, type FileServer, type GitFixture } from '../helpers/sources.js';

const CHARLIE = resolve(import.meta.dirname, '../fixtures/installer/repo/charlie');
let tmp: string;
let cache: string;
let repo: GitFixture;
let server: FileServer;
let archive: Buffer;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fuseml-sources-int-'));
  cache = join(tmp, 'cache');
  repo = await gitFixture(join(tmp, 'git'), CHARLIE, 'v1', 'extensions/charlie');
  archive = await tgz(CHARLIE, join(tmp, 'out', 'charlie.tgz'));
  server = await serveFiles({ '/dl/charlie-0.3.0.tgz': archive });
});

afterAll(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('git sources (real git, local bare repository)', () => {
  it('clones into the cache, resolves the tag to its commit, unpacks the sub-folder', async () => {
    const layer = await fetchSource({ kind: 'git', url: `file://${repo.bare}`, ref: 'v1', subdir: 'extensions/charlie' }, { cacheDir: cache });
    expect(layer.source).toEqual({ kind: 'git', url: `file://${repo.bare}`, ref: 'v1', subdir: 'extensions/charlie', commit: repo.commits.v1 });
    expect(layer.dir).toBe(join(cache, 'extensions/git/checkouts', repo.commits.v1 as string, 'extensions/charlie'));
    expect(await readFile(join(layer.dir, 'extension.yaml'), 'utf8')).toBe(await readFile(join(CHARLIE, 'extension.yaml'), 'utf8'));
  });

  it('a new tag is fetched into the same cache; the old tag still gives its own commit', async () => {
    const v2 = await repo.push('v2', async (work) => {
      const f = join(work, 'extensions/charlie/extension.yaml');
      await writeFile(f, (await readFile(f, 'utf8')).replace('version: "0.3.0"', 'version: "0.4.0"'));
    });
    const l2 = await fetchSource({ kind: 'git', url: `file://${repo.bare}`, ref: 'v2', subdir: 'extensions/charlie' }, { cacheDir: cache });
    expect(l2.source).toMatchObject({ commit: v2 });
    expect(await readFile(join(l2.dir, 'extension.yaml'), 'utf8')).toContain('version: "0.4.0"');
    const l1 = await fetchSource({ kind: 'git', url: `file://${repo.bare}`, ref: 'v1', subdir: 'extensions/charlie' }, { cacheDir: cache });
    expect(l1.source).toMatchObject({ commit: repo.commits.v1 });
    // one bare clone for the URL, one checkout per commit
    expect((await readdir(join(cache, 'extensions/git'))).filter((n) => n.endsWith('.git'))).toHaveLength(1);
    expect((await readdir(join(cache, 'extensions/git/checkouts'))).sort()).toEqual([repo.commits.v1, v2].sort());
  });

  it('an unknown ref and a missing sub-folder are clear errors', async () => {
    await expect(fetchSource({ kind: 'git', url: `file://${repo.bare}`, ref: 'v9' }, { cacheDir: cache })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `git+file://${repo.bare}#v9: no tag, branch or commit "v9" in the repository`,
    });
    await expect(fetchSource({ kind: 'git', url: `file://${repo.bare}`, ref: 'v1', subdir: 'nope' }, { cacheDir: cache })).rejects.toThrow(/no extension.yaml or description.yaml in "nope"/);
    // no sub-folder named: neither the top nor its single folder (extensions/) holds a descriptor
    await expect(fetchSource({ kind: 'git', url: `file://${repo.bare}`, ref: 'v1' }, { cacheDir: cache })).rejects.toThrow(/no extension.yaml or description.yaml at the top \(or in its single top folder\)/);
  });
});

describe('archive sources (loopback HTTP server)', () => {
  it('downloads through the mirror, unpacks by digest, finds the single top folder', async () => {
    const original = 'https://downloads.example.invalid/dl/charlie-0.3.0.tgz';
    const layer = await fetchSource({ kind: 'archive', url: original }, { cacheDir: cache, mirrors: parseMirrors([`https://downloads.example.invalid=${server.url}`]) });
    const digest = createHash('sha256').update(archive).digest('hex');
    expect(layer.source).toEqual({ kind: 'archive', url: original, digest: `sha256:${digest}` });
    expect(layer.dir).toBe(join(cache, 'extensions/archives', digest, 'charlie'));
    expect(server.requests).toContain('/dl/charlie-0.3.0.tgz');
  });

  it('a missing archive is NOT_FOUND naming the URL and its mirror', async () => {
    await expect(fetchSource({ kind: 'archive', url: `${server.url}/dl/none.tgz` }, { cacheDir: cache })).rejects.toMatchObject({ code: 'NOT_FOUND', message: `fetching ${server.url}/dl/none.tgz: HTTP 404` });
  });
});

describe('fuseml-installer install -e (real process, --dry-run)', () => {
  const env = (): Record<string, string> => ({ FUSEML_CACHE_DIR: join(tmp, 'cli-cache'), CI: '1' });

  it('a git URL at a tag and an archive URL: planned with their pinned source', async () => {
    const r = await cli('fuseml-installer', ['install', '-e', `${repo.url}#v1:extensions/charlie`, '--dry-run', '-o', 'json'], { env: env() });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const plan = JSON.parse(r.stdout) as { requested: string[]; extensions: { name: string; version: string; source: unknown }[] };
    expect(plan.requested).toEqual(['charlie']);
    expect(plan.extensions[0]).toMatchObject({ name: 'charlie', version: '0.3.0', source: { kind: 'git', ref: 'v1', commit: repo.commits.v1 } });

    const t = await cli('fuseml-installer', ['install', '-e', `${server.url}/dl/charlie-0.3.0.tgz`, '--dry-run'], { env: env() });
    expect(t.exitCode).toBe(0);
    expect(t.stdout).toContain(`  source: archive ${server.url}/dl/charlie-0.3.0.tgz sha256:${createHash('sha256').update(archive).digest('hex')}`);
  });

  it('-e ./folder, and --extensions-repository / FUSEML_EXTENSIONS_PATH stacking with a notice', async () => {
    const r = await cli('fuseml-installer', ['install', '-e', CHARLIE, '--dry-run', '-o', 'json'], { env: env() });
    expect(r.exitCode).toBe(0);
    expect((JSON.parse(r.stdout) as { extensions: { source: unknown }[] }).extensions[0]?.source).toEqual({ kind: 'dir', path: CHARLIE });

    const fixtures = resolve(import.meta.dirname, '../fixtures/descriptors/fuseml');
    const l = await cli('fuseml-installer', ['extensions', 'list', '-o', 'json'], { env: { ...env(), FUSEML_EXTENSIONS_PATH: fixtures } });
    expect(l.exitCode).toBe(0);
    expect((JSON.parse(l.stdout) as { name: string }[]).map((x) => x.name)).toContain('combo');
    expect(l.stderr).toContain(`notice: extension "mlflow" from ${join(fixtures, 'mlflow')} replaces the one from `);
  });

  it('bad sources: credentials refused (not echoed), unknown ref, missing folder (exit 4)', async () => {
    const cred = await cli('fuseml-installer', ['install', '-e', 'git+https://me:hunter2@git.example.invalid/x.git#v1', '--dry-run'], { env: env() });
    expect(cred.exitCode).toBe(EXIT_CODES.USAGE);
    expect(cred.stderr).toContain('credentials in the URL are refused');
    expect(cred.stderr).not.toContain('hunter2');
    const ref = await cli('fuseml-installer', ['install', '-e', `${repo.url}#nosuch`, '--dry-run'], { env: env() });
    expect(ref.exitCode).toBe(EXIT_CODES.NOT_FOUND);
    expect(ref.stderr).toContain('no tag, branch or commit "nosuch"');
    const dir = await cli('fuseml-installer', ['install', '-e', './no/such/folder', '--dry-run'], { env: env() });
    expect(dir.exitCode).toBe(EXIT_CODES.NOT_FOUND);
    expect(dir.stderr).toContain('no such file or directory');
  });
});
