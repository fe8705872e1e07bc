/**
 * The shipped extensions on the local control plane (kwok fake nodes), through
 * the real CLI: install → Deployments Available → the registry record is the
 * expected one (ids, resources, categories, URLs, credential keys; secret
 * values equal those of the cluster Secret) → uninstall → deregistered and
 * the namespace gone. mlflow is upgraded with new parameters and keeps its
 * credentials. seldon-core and kserve come from the stand-in upstream charts,
 * served on loopback and reached through --chart-mirror.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { run } from '../../src/exec/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { waitNamespaceGone } from '../helpers/namespace.js';
import type { ChartRepo } from '../helpers/chart-repo.js';
import { createPersistentVolumes, startUpstreamChartRepo, upstreamMirrors } from '../helpers/shipped-extensions.js';
import { startRegistry, type RegistryProcess } from '../helpers/registry.js';

let registry: RegistryProcess;
let client: RegistryClient;
let charts: ChartRepo;
let env: Record<string, string>;
let kubectl: string;
const PV_LABEL = 'fuseml-e2e=extensions';

async function kc(args: string[], allowFailure = false) {
  return run(kubectl, ['--kubeconfig', env.KUBECONFIG as string, '--request-timeout=20s', ...args], { allowFailure, timeoutMs: 120_000 });
}
async function kjson<T>(args: string[]): Promise<T> {
  return JSON.parse((await kc([...args, '-o', 'json'])).stdout) as T;
}
// Own install records and lock: other e2e files (and engineers) may use the default ones meanwhile.
const INSTALLER_NS = 'fuseml-e2e-extensions';
const installer = (args: string[]): Promise<CliResult> =>
  cli('fuseml-installer', [...args, '--installer-namespace', INSTALLER_NS, '--lock-timeout', '5m'], { env, timeoutMs: 15 * 60_000 });
const mirrors = (): string[] => upstreamMirrors(charts);

async function expectAvailable(namespace: string, name: string): Promise<void> {
  const d = await kjson<{ status: { conditions?: { type: string; status: string }[] } }>(['get', 'deployment', name, '-n', namespace]);
  expect(d.status.conditions?.find((c) => c.type === 'Available')?.status, `${namespace}/${name} Available`).toBe('True');
}

async function secretData(namespace: string, name: string): Promise<Record<string, string>> {
  const s = await kjson<{ data: Record<string, string> }>(['get', 'secret', name, '-n', namespace]);
  return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

const expectNamespaceGone = (ns: string): Promise<void> => waitNamespaceGone(kubectl, env.KUBECONFIG as string, ns);

async function expectDeregistered(id: string): Promise<void> {
  await expect(client.getExtension(id)).rejects.toMatchObject({ status: 404 });
}

/** Record fields that matter (no revisions or timestamps). */
function shape(rec: ExtensionRecord) {
  return {
    id: rec.id,
    product: rec.product,
    version: rec.version,
    services: (rec.services ?? []).map((s) => ({
      id: s.id,
      resource: s.resource,
      category: s.category,
      configuration: s.configuration ?? {},
      endpoints: (s.endpoints ?? []).map((e) => ({ url: e.url, type: e.type, configuration: e.configuration ?? {} })),
      credentials: (s.credentials ?? []).map((c) => ({ id: c.id, scope: c.scope, configuration: c.configuration ?? {} })),
    })),
  };
}

beforeAll(async () => {
  const kubeconfig = inject('fusemlKubeconfig');
  const helm = inject('fusemlHelm');
  kubectl = process.env.FUSEML_KUBECTL ?? 'kubectl';
  registry = await startRegistry();
  client = new RegistryClient({ url: registry.url, token: registry.adminToken });
  charts = await startUpstreamChartRepo(helm);
  env = { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_REGISTRY_URL: registry.url, FUSEML_REGISTRY_TOKEN: registry.adminToken as string };
  // No storage provisioner on the local control plane: PersistentVolumes for the PVCs of mlflow and s3.
  await createPersistentVolumes(kubectl, kubeconfig, { prefix: 'fuseml-e2e-ext', label: 'extensions', count: 4 });
}, 5 * 60_000);

afterAll(async () => {
  if (env) {
    await kc(['delete', 'pv', '-l', PV_LABEL, '--ignore-not-found', '--wait=false'], true);
    await kc(['delete', 'namespace', INSTALLER_NS, '--ignore-not-found', '--wait=false'], true);
  }
  await Promise.all([registry?.cleanup(), charts?.close()]);
}, 120_000);

describe('mlflow', () => {
  it('installs, registers what the cluster holds, upgrades keeping its keys, uninstalls', async () => {
    const r = await installer(['install', '--extensions', 'mlflow']);
    expect(r.exitCode, r.stderr).toBe(0);
    await expectAvailable('mlflow', 'mlflow');
    await expectAvailable('mlflow', 'mlflow-minio');

    const keys = await secretData('mlflow', 'mlflow-minio');
    expect(keys.AWS_ACCESS_KEY_ID).toMatch(/^[A-Z0-9]{20}$/);
    expect(keys.AWS_SECRET_ACCESS_KEY).toMatch(/^[A-Za-z0-9]{40}$/);
    const tracking = 'http://mlflow.mlflow.svc.cluster.local:5000';
    const s3 = 'http://mlflow-minio.mlflow.svc.cluster.local:9000';
    const expected = (bucket: string) => ({
      id: 'mlflow',
      product: 'mlflow',
      version: '3.17.2',
      services: [
        {
          id: 'mlflow-tracking', resource: 'mlflow-tracking', category: 'experiment-tracking', configuration: {},
          endpoints: [{ url: tracking, type: 'internal', configuration: { MLFLOW_TRACKING_URI: tracking } }],
          credentials: [],
        },
        {
          id: 'mlflow-store', resource: 's3', category: 'model-store', configuration: { S3_BUCKET: bucket },
          endpoints: [{ url: s3, type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: s3, S3_ENDPOINT_URL: s3 } }],
          credentials: [{ id: 'default', scope: 'global', configuration: { AWS_ACCESS_KEY_ID: keys.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: keys.AWS_SECRET_ACCESS_KEY } }],
        },
      ],
    });
    expect(shape(await client.getExtension('mlflow', { reveal: true }))).toEqual(expected('mlflow'));

    // Upgrade with new parameters: same keys, record updated.
    const up = await installer(['install', '--extensions', 'mlflow', '--set', 'mlflow.bucket=runs', '--set', 'mlflow.host=mlflow.example.com']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await secretData('mlflow', 'mlflow-minio')).toEqual(keys);
    expect((await kjson<{ spec: { rules: { host: string }[] } }>(['get', 'ingress', 'mlflow', '-n', 'mlflow'])).spec.rules[0]?.host).toBe('mlflow.example.com');
    expect(shape(await client.getExtension('mlflow', { reveal: true }))).toEqual(expected('runs'));

    const un = await installer(['uninstall', '--yes', '--extensions', 'mlflow']);
    expect(un.exitCode, un.stderr).toBe(0);
    await expectDeregistered('mlflow');
    await expectNamespaceGone('mlflow');
  });
});

describe('s3', () => {
  it('installs MinIO, registers resource s3 with the cluster Secret keys, uninstalls', async () => {
    const r = await installer(['install', '--extensions', 's3', '--set', 's3.bucket=datasets']);
    expect(r.exitCode, r.stderr).toBe(0);
    await expectAvailable('s3', 's3-minio');
    const keys = await secretData('s3', 's3-minio');
    const url = 'http://s3-minio.s3.svc.cluster.local:9000';
    expect(shape(await client.getExtension('s3', { reveal: true }))).toEqual({
      id: 's3',
      product: 's3',
      version: '2025.4.22',
      services: [
        {
          id: 's3', resource: 's3', category: 'object-storage', configuration: { S3_BUCKET: 'datasets', AWS_DEFAULT_REGION: 'us-east-1' },
          endpoints: [{ url, type: 'internal', configuration: { S3_ENDPOINT_URL: url } }],
          credentials: [{ id: 'default', scope: 'global', configuration: keys }],
        },
      ],
    });
    const un = await installer(['uninstall', '--yes', '--extensions', 's3']);
    expect(un.exitCode, un.stderr).toBe(0);
    await expectDeregistered('s3');
    await expectNamespaceGone('s3');
  });
});

describe('seldon-core and kserve (upstream charts through the mirror)', () => {
  it('seldon (alias) installs the operator, registers seldon-core-api, uninstalls', async () => {
    const r = await installer(['install', '--extensions', 'seldon', ...mirrors()]);
    expect(r.exitCode, r.stderr).toBe(0);
    await expectAvailable('seldon-system', 'seldon-controller-manager');
    expect(shape(await client.getExtension('seldon-core'))).toEqual({
      id: 'seldon-core',
      product: 'seldon-core',
      version: '1.17.1',
      services: [
        {
          id: 'seldon-core-api', resource: 'seldon-core-api', category: 'prediction-serving', configuration: { SELDON_NAMESPACE: 'seldon-system' },
          endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal', configuration: {} }],
          credentials: [],
        },
      ],
    });
    const un = await installer(['uninstall', '--yes', '--extensions', 'seldon']);
    expect(un.exitCode, un.stderr).toBe(0);
    await expectDeregistered('seldon-core');
    await expectNamespaceGone('seldon-system');
  });

  it('kfserving (alias) installs kserve-crd and kserve, registers kserve-api, uninstalls', async () => {
    const r = await installer(['install', '--extensions', 'kfserving', ...mirrors()]);
    expect(r.exitCode, r.stderr).toBe(0);
    await expectAvailable('kserve', 'kserve-controller-manager');
    await kc(['get', 'crd', 'inferenceservices.serving.kserve.io']);
    expect(shape(await client.getExtension('kserve')).services).toEqual([
      { id: 'kserve-api', resource: 'kserve-api', category: 'prediction-serving', configuration: {}, endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal', configuration: {} }], credentials: [] },
    ]);
    const un = await installer(['uninstall', '--yes', '--extensions', 'kserve']);
    expect(un.exitCode, un.stderr).toBe(0);
    await expectDeregistered('kserve');
    await expectNamespaceGone('kserve');
  });
});
