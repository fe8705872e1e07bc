/**
 * e2e helpers: the cluster given by test/e2e/global-setup.ts, and a fresh
 * namespace per test file (created before its tests, deleted after).
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, inject } from 'vitest';
import { run } from '../../src/exec/index.js';
import { KubeClient } from '../../src/kube/client.js';

export interface E2eCluster {
  kubeconfig: string;
  helm: string;
}

/** The kubeconfig and helm path provided by the e2e global setup. */
export function e2eCluster(): E2eCluster {
  const kubeconfig = inject('fusemlKubeconfig') ?? process.env.FUSEML_E2E_KUBECONFIG;
  const helm = inject('fusemlHelm') ?? process.env.FUSEML_HELM;
  if (!kubeconfig || !helm) {
    // Never a skip: an e2e test without its cluster is a failure.
    throw new Error('e2e: no cluster (run through `vitest --project e2e`, whose global setup starts it)');
  }
  return { kubeconfig, helm };
}

/** A DNS-1123 name: `<prefix>-<8 random hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
}

export interface TestNamespace {
  /** The namespace's name; valid inside tests (after beforeAll). */
  readonly name: string;
  /** A client on the e2e cluster; valid inside tests. */
  readonly client: KubeClient;
  readonly cluster: E2eCluster;
}

/**
 * Registers beforeAll/afterAll hooks that create a namespace `<prefix>-<random>`
 * (labelled fuseml-e2e=true) and delete it, waiting until it is gone.
 */
export function useNamespace(prefix = 'e2e'): TestNamespace {
  let name: string | undefined;
  let client: KubeClient | undefined;
  const cluster = e2eCluster();
  beforeAll(async () => {
    client = await KubeClient.connect({ kubeconfig: cluster.kubeconfig });
    name = uniqueName(prefix);
    await client.createNamespace(name, { 'fuseml-e2e': 'true' });
  });
  afterAll(async () => {
    if (client && name) await client.deleteNamespace(name, { waitMs: 120_000 });
  });
  return {
    get name() {
      if (!name) throw new Error('useNamespace: the namespace exists only inside tests');
      return name;
    },
    get client() {
      if (!client) throw new Error('useNamespace: the client exists only inside tests');
      return client;
    },
    cluster,
  };
}

/** Waits (through kubectl) until a namespace is gone, e.g. after an uninstall deleted it; throws after `timeoutMs`. */
export async function waitNamespaceGone(kubectl: string, kubeconfig: string, ns: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await run(kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=20s', 'get', 'namespace', ns, '--ignore-not-found', '-o', 'name'], { allowFailure: true, timeoutMs: 60_000 });
    if (r.exitCode === 0 && r.stdout.trim() === '') return;
    if (Date.now() > deadline) throw new Error(`namespace ${ns} still there after uninstall`);
    await new Promise((res) => setTimeout(res, 1_000));
  }
}

/**
 * Writes `file` (mode 0600): a kubeconfig for the cluster of `adminKubeconfig` that authenticates with a
 * bearer `token` (e.g. a ServiceAccount's, as a pod would) in `namespace`. Returns `file`.
 */
export async function writeTokenKubeconfig(adminKubeconfig: string, token: string, namespace: string, file: string): Promise<string> {
  const admin = parse(await readFile(adminKubeconfig, 'utf8')) as { clusters: { name: string }[] };
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: admin.clusters,
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: admin.clusters[0]?.name, user: 'sa', namespace } }],
      'current-context': 'sa',
    }),
    { mode: 0o600 },
  );
  return file;
}
