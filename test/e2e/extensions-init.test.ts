/**
 * `fuseml-installer extensions init` end to end, through the real CLI: each kind
 * of scaffold is written into a temp folder outside this repository, validates
 * as written, installs on the local control plane (real helm / kubectl), and
 * registers its service with the Service's in-cluster URL in a real registry;
 * uninstall removes the release and the record.
 * - helm-repo: an upstream-like chart (test/fixtures/charts/webapp) served by a
 *   loopback helm repository, pinned with --chart URL/webapp --version 1.4.2;
 * - chart-dir: the chart init writes into chart/;
 * - manifests: the manifests init writes into manifests/, with the waitFor.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { startChartRepo, type ChartRepo } from '../helpers/chart-repo.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { waitNamespaceGone } from '../helpers/namespace.js';
import { ROOT, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const INSTALLER_NS = 'fuseml-e2e-ext-init';
const suffix = Math.random().toString(36).slice(2, 7);

let registry: RegistryProcess;
let client: RegistryClient;
let charts: ChartRepo;
let env: Record<string, string>;
let helm: string;
let kubectl: string;
let repo: string;

const installer = (args: string[]): Promise<CliResult> =>
  cli('fuseml-installer', [...args, '--extensions-repository', repo, '--installer-namespace', INSTALLER_NS, '--lock-timeout', '5m'], { env, timeoutMs: 10 * 60_000 });

beforeAll(async () => {
  const kubeconfig = inject('fusemlKubeconfig');
  helm = inject('fusemlHelm');
  kubectl = process.env.FUSEML_KUBECTL ?? 'kubectl';
  repo = await mkdtemp(join(tmpdir(), 'fuseml-e2e-init-'));
  registry = await startRegistry();
  client = new RegistryClient({ url: registry.url, token: registry.adminToken });
  charts = await startChartRepo({ helm, charts: [join(ROOT, 'test/fixtures/charts/webapp')] });
  env = { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_REGISTRY_URL: registry.url, FUSEML_REGISTRY_TOKEN: registry.adminToken as string };
}, 5 * 60_000);

afterAll(async () => {
  if (env) await run(kubectl, ['--kubeconfig', env.KUBECONFIG as string, 'delete', 'namespace', INSTALLER_NS, '--ignore-not-found', '--wait=false'], { allowFailure: true, timeoutMs: 60_000 });
  await Promise.all([registry?.cleanup(), charts?.close()]);
  if (repo) await rm(repo, { recursive: true, force: true });
}, 120_000);

const kinds: { from: string; extra: () => string[] }[] = [
  { from: 'helm-repo', extra: () => ['--chart', `${charts.url}/webapp`, '--version', '1.4.2'] },
  { from: 'chart-dir', extra: () => [] },
  { from: 'manifests', extra: () => [] },
];

describe('extensions init: the scaffold validates, installs on the local control plane and registers', () => {
  for (const kind of kinds) {
    it(`--from ${kind.from}`, async () => {
      const name = `init-${kind.from}-${suffix}`;
      const dir = join(repo, name);
      const init = await cli('fuseml-installer', ['extensions', 'init', name, '--from', kind.from, '--dir', dir, ...kind.extra()]);
      expect(init.exitCode, init.stderr).toBe(0);
      expect(init.stdout).toContain('extension.yaml');
      // A second init of the same folder is refused, naming it, and changes nothing.
      const before = await readFile(join(dir, 'extension.yaml'), 'utf8');
      const again = await cli('fuseml-installer', ['extensions', 'init', name, '--from', kind.from, '--dir', dir]);
      expect(again.exitCode).toBe(5);
      expect(again.stderr).toContain(`${dir} already exists`);
      expect(await readFile(join(dir, 'extension.yaml'), 'utf8')).toBe(before);

      const v = await cli('fuseml-installer', ['extensions', 'validate', dir]);
      expect(v.exitCode, v.stdout + v.stderr).toBe(0);
      expect(v.stdout).toContain(`valid: ${name}`);

      const r = await installer(['install', '--extensions', name]);
      expect(r.exitCode, r.stderr).toBe(0);
      if (kind.from !== 'manifests') {
        const releases = JSON.parse((await run(helm, ['list', '-n', name, '-o', 'json', '--kubeconfig', env.KUBECONFIG as string])).stdout) as { name: string; chart: string }[];
        expect(releases.map((x) => [x.name, x.chart])).toEqual([[name, kind.from === 'helm-repo' ? 'webapp-1.4.2' : `${name}-0.1.0`]]);
      }
      if (kind.from === 'helm-repo') expect(charts.requests).toContain('/webapp-1.4.2.tgz');
      const d = JSON.parse((await run(kubectl, ['--kubeconfig', env.KUBECONFIG as string, 'get', 'deployment', name, '-n', name, '-o', 'json'])).stdout) as {
        spec: { replicas: number };
        status: { conditions?: { type: string; status: string }[] };
      };
      expect(d.spec.replicas).toBe(1); // the replicas parameter reached the chart values / the manifest
      expect(d.status.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');

      const rec = await client.getExtension(name);
      const url = `http://${name}.${name}.svc.cluster.local:80`;
      expect({ product: rec.product, version: rec.version }).toEqual({ product: name, version: kind.from === 'helm-repo' ? '1.4.2' : '0.1.0' });
      expect(rec.services?.map((s) => [s.id, s.resource, s.category, s.endpoints?.map((e) => [e.url, e.type, e.configuration])])).toEqual([
        [name, name, 'service', [[url, 'internal', { [`${name.toUpperCase().replace(/-/g, '_')}_URL`]: url }]]],
      ]);

      const un = await installer(['uninstall', '--extensions', name, '--yes']);
      expect(un.exitCode, un.stderr).toBe(0);
      await expect(client.getExtension(name)).rejects.toMatchObject({ status: 404 });
      await waitNamespaceGone(kubectl, env.KUBECONFIG as string, name);
    }, 10 * 60_000);
  }
});
