/**
 * The npm package: `npm pack` keeps the extensions whole. npm leaves symbolic
 * links out of tarballs, so prepack/postpack (scripts/pack-links.mjs) turn
 * mlflow's link to the shared MinIO chart (and fuseml-registry's to the CRD in
 * deploy/) into copies for packing and back. Packs a real tarball from a copy of
 * the package files (the built dist/ included), unpacks it, renders the packaged
 * charts with real helm, checks the README's links resolve inside the package,
 * and installs the tarball globally on a clean prefix (`npm i -g --prefix`) with
 * its dependencies from the npm registry: the three CLIs run and the registry
 * serves /healthz.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/index.js';
import { startServing } from '../helpers/registry.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let helm: string;
let tgz: string;

beforeAll(async () => {
  const env = await run('bash', [join(ROOT, 'scripts/tools.sh'), '--print-env'], { timeoutMs: 20 * 60_000 });
  helm = /FUSEML_HELM='([^']+)'/.exec(env.stdout)?.[1] as string;
  dir = await mkdtemp(join(tmpdir(), 'fuseml-pack-'));
  const src = join(dir, 'src');
  await mkdir(join(src, 'scripts'), { recursive: true });
  if (!existsSync(join(ROOT, 'dist/cli/bin/fuseml-registry.js'))) throw new Error('dist/ missing: run npm run build first');
  for (const f of ['package.json', 'README.md', 'LICENSE', 'scripts/pack-links.mjs']) await cp(join(ROOT, f), join(src, f));
  for (const d of ['dist', 'extensions', 'schemas', 'deploy', 'docs']) await cp(join(ROOT, d), join(src, d), { recursive: true, verbatimSymlinks: true });
  await run('npm', ['pack', '--pack-destination', dir], { cwd: src, timeoutMs: 120_000 });
  tgz = join(dir, (await readdir(dir)).find((f) => f.endsWith('.tgz')) as string);
}, 25 * 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm package', () => {
  it('packs mlflow with its MinIO sub-chart as files, restores the link, and the packaged chart renders', async () => {
    const src = join(dir, 'src');
    const link = join(src, 'extensions/mlflow/chart/charts/minio');
    expect((await lstat(link)).isSymbolicLink()).toBe(true); // postpack (in beforeAll) put it back
    expect((await lstat(join(src, 'extensions/fuseml-registry/chart/crds/crd-fusemlextension.yaml'))).isSymbolicLink()).toBe(true);
    expect((await readdir(src)).includes('.pack-links.json')).toBe(false);

    const out = join(dir, 'out');
    await mkdir(out);
    await run('tar', ['-xzf', tgz, '-C', out]);
    const packaged = join(out, 'package/extensions/mlflow/chart');
    const minio = await lstat(join(packaged, 'charts/minio/Chart.yaml'));
    expect(minio.isFile()).toBe(true);

    const r = await run(helm, ['template', 'mlflow', packaged, '--namespace', 'mlflow'], { timeoutMs: 60_000 });
    expect(r.stdout).toContain('name: mlflow-minio');
    expect(r.stdout).toMatch(/kind: Deployment[\s\S]*name: mlflow\n/);
  });

  it('packs the fuseml-registry chart with its CRD as a file, and it renders', async () => {
    const packaged = join(dir, 'out/package/extensions/fuseml-registry/chart');
    const crd = await lstat(join(packaged, 'crds/crd-fusemlextension.yaml'));
    expect(crd.isFile()).toBe(true);
    expect(await readFile(join(packaged, 'crds/crd-fusemlextension.yaml'), 'utf8')).toBe(await readFile(join(ROOT, 'deploy/crd-fusemlextension.yaml'), 'utf8'));
    const r = await run(helm, ['template', 'fuseml-registry', packaged, '--namespace', 'fuseml-registry', '--include-crds'], { timeoutMs: 60_000 });
    expect(r.stdout).toContain('name: fusemlextensions.registry.fuseml.io');
    expect(r.stdout).toMatch(/kind: Deployment\n[\s\S]*name: fuseml-registry\n/);
  });

  it("holds LICENSE, the repository fields, and every file the README links to", async () => {
    const pkgDir = join(dir, 'out/package');
    const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({ license: 'Apache-2.0', repository: { type: 'git' }, bugs: { url: expect.stringMatching(/^https:\/\//) } });
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(await readFile(join(pkgDir, 'LICENSE'), 'utf8')).toContain('Apache License');
    const readme = await readFile(join(pkgDir, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1] as string).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(existsSync(join(pkgDir, l)), `README link ${l} inside the package`).toBe(true);
    for (const f of ['deploy/crd-fusemlextension.yaml', 'deploy/rbac-fuseml-registry.yaml', 'docs/registry.md']) expect(existsSync(join(pkgDir, f)), f).toBe(true);
  });

  it('installs globally on a clean prefix with no engine warning: the three CLIs run, the registry answers /healthz', async () => {
    const prefix = join(dir, 'prefix');
    // better-sqlite3's install script downloads a prebuilt binary from GitHub (unreachable here) or compiles
    // SQLite (minutes on 2 cores). Give it, as a local prebuild, the binary this checkout built (same node ABI).
    const sqlite = JSON.parse(await readFile(join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string };
    const prebuilds = join(dir, 'prebuilds');
    await mkdir(prebuilds);
    const name = `better-sqlite3-v${sqlite.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    await run('tar', ['-czf', join(prebuilds, name), '-C', join(ROOT, 'node_modules/better-sqlite3'), 'build/Release/better_sqlite3.node']);
    const install = await run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--allow-scripts=better-sqlite3', tgz], {
      env: { npm_config_better_sqlite3_local_prebuilds: prebuilds, npm_config_loglevel: 'warn' },
      timeoutMs: 8 * 60_000,
    });
    expect(install.stdout + install.stderr).not.toMatch(/EBADENGINE/);
    const bin = (b: string): string => join(prefix, 'bin', b);
    for (const b of ['fuseml', 'fuseml-installer', 'fuseml-registry']) {
      const r = await run(bin(b), ['--help'], { timeoutMs: 60_000 });
      expect(r.stdout, b).toMatch(new RegExp(`^Usage: ${b} `));
    }
    const list = await run(bin('fuseml-installer'), ['extensions', 'list', '-o', 'json'], { timeoutMs: 60_000 });
    expect((JSON.parse(list.stdout) as { name: string }[]).map((e) => e.name)).toEqual(expect.arrayContaining(['mlflow', 'fuseml-registry']));

    const server = await startServing(bin('fuseml-registry'), ['serve', '--port', '0', '--db', join(dir, 'registry.db')], { startTimeoutMs: 60_000 });
    try {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok' });
    } finally {
      await server.stop();
    }
  }, 10 * 60_000);
});
