/**
 * The npm package: `npm pack` keeps the extensions whole. npm leaves symbolic
 * links out of tarballs, so prepack/postpack (scripts/pack-links.mjs) turn
 * mlflow's link to the shared MinIO chart into a copy for packing and back.
 * Packs a real tarball from a copy of the package files, unpacks it, and renders
 * the packaged mlflow chart with real helm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let helm: string;

beforeAll(async () => {
  const env = await run('bash', [join(ROOT, 'scripts/tools.sh'), '--print-env'], { timeoutMs: 20 * 60_000 });
  helm = /FUSEML_HELM='([^']+)'/.exec(env.stdout)?.[1] as string;
  dir = await mkdtemp(join(tmpdir(), 'fuseml-pack-'));
  const src = join(dir, 'src');
  await mkdir(join(src, 'scripts'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(src, 'package.json'));
  await cp(join(ROOT, 'scripts/pack-links.mjs'), join(src, 'scripts/pack-links.mjs'));
  for (const d of ['extensions', 'schemas']) await cp(join(ROOT, d), join(src, d), { recursive: true, verbatimSymlinks: true });
}, 25 * 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm package', () => {
  it('packs mlflow with its MinIO sub-chart as files, restores the link, and the packaged chart renders', async () => {
    const src = join(dir, 'src');
    const link = join(src, 'extensions/mlflow/chart/charts/minio');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);

    await run('npm', ['pack', '--pack-destination', dir], { cwd: src, timeoutMs: 120_000 });
    expect((await lstat(link)).isSymbolicLink()).toBe(true); // postpack put it back
    expect((await readdir(src)).includes('.pack-links.json')).toBe(false);

    const tgz = (await readdir(dir)).find((f) => f.endsWith('.tgz')) as string;
    const out = join(dir, 'out');
    await mkdir(out);
    await run('tar', ['-xzf', join(dir, tgz), '-C', out]);
    const packaged = join(out, 'package/extensions/mlflow/chart');
    const minio = await lstat(join(packaged, 'charts/minio/Chart.yaml'));
    expect(minio.isFile()).toBe(true);

    const r = await run(helm, ['template', 'mlflow', packaged, '--namespace', 'mlflow'], { timeoutMs: 60_000 });
    expect(r.stdout).toContain('name: mlflow-minio');
    expect(r.stdout).toMatch(/kind: Deployment[\s\S]*name: mlflow\n/);
  });
});
