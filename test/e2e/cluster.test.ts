/**
 * The local control plane with a real helm: the fixture chart `hello` is
 * installed from its folder and again by repository URL from the loopback chart
 * repository, its Deployment becomes Available, its Service gets a ClusterIP,
 * its Secret is read through src/kube/client.ts, and uninstalling removes it all.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { startChartRepo, type ChartRepo } from '../helpers/chart-repo.js';
import { useNamespace } from '../helpers/namespace.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO = join(ROOT, 'test/fixtures/charts/hello');

const ns = useNamespace('e2e-cluster');
const password = randomBytes(12).toString('hex');
let work: string;
let valuesFile: string;
let helmEnv: Record<string, string>;
let repo: ChartRepo;

function helm(args: string[], timeoutMs = 180_000) {
  return run(ns.cluster.helm, args, { env: helmEnv, secrets: [password], timeoutMs });
}

async function expectInstalled(release: string): Promise<void> {
  const d = await ns.client.deploymentStatus(ns.name, release);
  expect(d, `deployment ${release}`).toMatchObject({ available: true, readyReplicas: 2, replicas: 2 });
  const ip = await ns.client.serviceClusterIP(ns.name, release);
  // Allocated from the cluster's service range (scripts/cluster.sh: 10.96.0.0/16).
  expect(ip).toMatch(/^10\.96\.\d{1,3}\.\d{1,3}$/);
  expect(await ns.client.readSecret(ns.name, release)).toEqual({ HELLO_USERNAME: 'hello', HELLO_PASSWORD: password });
}

async function expectGone(release: string): Promise<void> {
  expect(await ns.client.deploymentStatus(ns.name, release)).toBeUndefined();
  expect(await ns.client.serviceClusterIP(ns.name, release)).toBeUndefined();
  expect(await ns.client.readSecret(ns.name, release)).toBeUndefined();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fuseml-e2e-cluster-'));
  // helm's caches and repository config in a temp dir: no state shared with the user's helm.
  helmEnv = {
    KUBECONFIG: ns.cluster.kubeconfig,
    HELM_CACHE_HOME: join(work, 'helm/cache'),
    HELM_CONFIG_HOME: join(work, 'helm/config'),
    HELM_DATA_HOME: join(work, 'helm/data'),
  };
  // The password reaches helm in a values file, never on its command line.
  valuesFile = join(work, 'values.yaml');
  await writeFile(valuesFile, `credentials:\n  password: "${password}"\n`, { mode: 0o600 });
  repo = await startChartRepo({ helm: ns.cluster.helm, charts: [HELLO], env: helmEnv });
});

afterAll(async () => {
  await repo?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('local control plane + helm', () => {
  it('reports the pinned Kubernetes version and ready fake nodes', async () => {
    expect(await ns.client.serverVersion()).toBe('v1.32.13');
    const nodes = await ns.client.core.listNode();
    expect(nodes.items.length).toBeGreaterThan(0);
    for (const n of nodes.items) {
      expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, n.metadata?.name).toBe('True');
    }
  });

  it('installs the hello chart from its folder with helm upgrade --install --wait', async () => {
    const r = await helm(['upgrade', '--install', 'hello', HELLO, '--namespace', ns.name, '--values', valuesFile, '--wait', '--timeout', '120s']);
    expect(r.stdout).toContain('STATUS: deployed');
    await expectInstalled('hello');
  });

  it('upgrades in place (helm upgrade --install on an existing release)', async () => {
    await helm(['upgrade', '--install', 'hello', HELLO, '--namespace', ns.name, '--values', valuesFile, '--wait', '--timeout', '120s']);
    const status = JSON.parse((await helm(['status', 'hello', '--namespace', ns.name, '-o', 'json'])).stdout) as { version: number; info: { status: string } };
    expect(status).toMatchObject({ version: 2, info: { status: 'deployed' } });
    await expectInstalled('hello');
  });

  it('installs the same chart by repository URL from the loopback chart repository', async () => {
    expect(repo.packages).toEqual(['hello-0.1.0.tgz']);
    await helm(['upgrade', '--install', 'hello-repo', 'hello', '--repo', repo.url, '--version', '0.1.0', '--namespace', ns.name, '--values', valuesFile, '--wait', '--timeout', '120s']);
    expect(repo.requests).toEqual(expect.arrayContaining(['/index.yaml', '/hello-0.1.0.tgz']));
    await expectInstalled('hello-repo');
  });

  it('a failing install reports helm\'s reason and leaves no release behind', async () => {
    // No password given: the chart's `required` stops the install before anything is created.
    await expect(helm(['upgrade', '--install', 'hello-nopass', HELLO, '--namespace', ns.name, '--wait', '--timeout', '30s']))
      .rejects.toThrow(/credentials\.password is required/);
    expect(await ns.client.deploymentStatus(ns.name, 'hello-nopass')).toBeUndefined();
  });

  it('uninstalls both releases and nothing is left', async () => {
    await helm(['uninstall', 'hello', 'hello-repo', '--namespace', ns.name, '--wait', '--timeout', '120s']);
    await expectGone('hello');
    await expectGone('hello-repo');
    const releases = (await helm(['list', '--namespace', ns.name, '--all', '-q'])).stdout.trim();
    expect(releases).toBe('');
  });
});
