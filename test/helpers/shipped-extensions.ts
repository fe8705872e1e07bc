/**
 * e2e helpers for installing the shipped extensions on the local control plane:
 * the stand-in upstream charts (test/fixtures/charts/upstream) on a loopback chart
 * repository with the --chart-mirror flags that point the upstream repositories
 * at it, and PersistentVolumes for the charts' claims (the local control plane
 * has no storage provisioner).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/exec/index.js';
import { startChartRepo, type ChartRepo } from './chart-repo.js';
import { ROOT } from './registry.js';

/** Serves every stand-in upstream chart. */
export async function startUpstreamChartRepo(helm: string): Promise<ChartRepo> {
  const upstream = join(ROOT, 'test/fixtures/charts/upstream');
  const dirs = (await readdir(upstream, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => join(upstream, d.name));
  return startChartRepo({ helm, charts: dirs });
}

/** `--chart-mirror` flags sending Seldon's and KServe's upstream repositories to the loopback one. */
export function upstreamMirrors(repo: ChartRepo): string[] {
  return ['--chart-mirror', `https://storage.googleapis.com/seldon-charts=${repo.url}`, '--chart-mirror', `oci://ghcr.io/kserve/charts=${repo.url}`];
}

/** Creates `count` hostPath PersistentVolumes named `<prefix>-<random>-pv-<i>`, labelled `fuseml-e2e=<label>`. */
export async function createPersistentVolumes(kubectl: string, kubeconfig: string, options: { prefix: string; label: string; count: number }): Promise<void> {
  const tag = Math.random().toString(36).slice(2, 8);
  const pvs = Array.from({ length: options.count }, (_, k) => k + 1).map((i) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `${options.prefix}-${tag}-pv-${i}`, labels: { 'fuseml-e2e': options.label } },
    spec: { capacity: { storage: '20Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', hostPath: { path: `/tmp/${options.prefix}-${tag}-pv-${i}` } },
  }));
  await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pvs }) });
}
