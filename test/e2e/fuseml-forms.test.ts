/**
 * FuseML-format extensions (description.yaml, test/fixtures/descriptors/fuseml-forms)
 * on the local control plane through the real CLI:
 * - tracker: an mlflow-like extension whose helm chart comes from an
 *   `https://…/tracker-0.1.0.tgz` location, served on loopback and reached
 *   through --mirror; its S3 credentials come from a `servicecredentials`
 *   transform reading the chart's Secret. Registers mlflow-tracking and
 *   mlflow-store with the Secret's keys (read back with admin reveal);
 *   uninstall (`uninstall: [{type: helm}]`, by release name) deregisters.
 * - certs: a manifest from an `https://` location (install and uninstall),
 *   fetched through --mirror; `namespace:` with no value (kubectl gets no
 *   --namespace: the objects name theirs); FuseML's waitfor
 *   (lower-case kind and condition) on the real Deployment.
 * - roles: `rolerules` become a Role the workloads' service accounts hold
 *   (checked with `kubectl auth can-i`); `gateways` without Istio: a warning.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { run } from '../../src/exec/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { startChartRepo, type ChartRepo } from '../helpers/chart-repo.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { waitNamespaceGone } from '../helpers/namespace.js';
import { ROOT, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const FORMS = join(ROOT, 'test/fixtures/descriptors/fuseml-forms');
const INSTALLER_NS = 'fuseml-e2e-fuseml-forms';
const WORKLOADS = `fuseml-e2e-workloads-${Math.random().toString(36).slice(2, 8)}`;
// tracker/description.yaml's location is https://github.com/example-org/tracker-extension/raw/main/charts/tracker-0.1.0.tgz;
// the mirror maps this prefix of it to the loopback chart server.
const CHART_PREFIX = 'https://github.com/example-org/tracker-extension/raw/main/charts';

let registry: RegistryProcess;
let client: RegistryClient;
let charts: ChartRepo;
let env: Record<string, string>;
let kubectl: string;
let helm: string;

const kc = (args: string[], allowFailure = false) =>
  run(kubectl, ['--kubeconfig', env.KUBECONFIG as string, '--request-timeout=20s', ...args], { allowFailure, timeoutMs: 120_000 });
const installer = (args: string[]): Promise<CliResult> =>
  cli('fuseml-installer', [...args, '--extensions-repository', FORMS, '--installer-namespace', INSTALLER_NS, '--lock-timeout', '5m'], { env, timeoutMs: 10 * 60_000 });

async function secretData(namespace: string, name: string): Promise<Record<string, string>> {
  const s = JSON.parse((await kc(['get', 'secret', name, '-n', namespace, '-o', 'json'])).stdout) as { data: Record<string, string> };
  return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

const expectNamespaceGone = (ns: string): Promise<void> => waitNamespaceGone(kubectl, env.KUBECONFIG as string, ns);

beforeAll(async () => {
  const kubeconfig = inject('fusemlKubeconfig');
  helm = inject('fusemlHelm');
  kubectl = process.env.FUSEML_KUBECTL ?? 'kubectl';
  registry = await startRegistry();
  client = new RegistryClient({ url: registry.url, token: registry.adminToken });
  charts = await startChartRepo({ helm, charts: [join(ROOT, 'test/fixtures/charts/tracker')] });
  env = { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_REGISTRY_URL: registry.url, FUSEML_REGISTRY_TOKEN: registry.adminToken as string };
}, 5 * 60_000);

afterAll(async () => {
  if (env) {
    await kc(['delete', 'namespace', INSTALLER_NS, WORKLOADS, '--ignore-not-found', '--wait=false'], true);
  }
  await Promise.all([registry?.cleanup(), charts?.close()]);
}, 120_000);

describe('a FuseML-format mlflow-like extension: chart from an https location through --mirror, credentials from servicecredentials', () => {
  it('installs, registers mlflow-tracking and mlflow-store with the chart Secret keys, uninstalls by release name and deregisters', async () => {
    const r = await installer(['install', '--extensions', 'tracker', '--mirror', `${CHART_PREFIX}=${charts.url}`]);
    expect(r.exitCode, r.stderr).toBe(0);
    // The chart came from the loopback mirror, never from github.com.
    expect(charts.requests).toContain('/tracker-0.1.0.tgz');
    // No Istio on this cluster: FuseML's gateways are not created, and we say so.
    expect(r.stderr).toContain('warning: tracker: gateways tracker, tracker-minio not created: the cluster has no Istio');
    const releases = JSON.parse((await run(helm, ['list', '-n', 'tracker', '-o', 'json', '--kubeconfig', env.KUBECONFIG as string])).stdout) as { name: string; chart: string }[];
    expect(releases.map((x) => [x.name, x.chart])).toEqual([['tracker', 'tracker-0.1.0']]);

    const keys = await secretData('tracker', 'tracker-minio');
    expect(keys.accesskey).toMatch(/^[A-Z0-9]{20}$/);
    expect(keys.secretkey).toMatch(/^[A-Za-z0-9]{40}$/);
    const rec: ExtensionRecord = await client.getExtension('tracker', { reveal: true });
    expect({ id: rec.id, product: rec.product, version: rec.version }).toEqual({ id: 'tracker', product: 'mlflow', version: '1.20.2' });
    const svc = (id: string) => rec.services?.find((s) => s.id === id);
    expect(rec.services?.map((s) => [s.id, s.resource, s.category, s.auth_required])).toEqual([
      ['mlflow-tracking', 'mlflow-tracking', 'experiment-tracking', false],
      ['mlflow-store', 's3', 'model-store', true],
    ]);
    expect(svc('mlflow-tracking')?.endpoints?.map((e) => [e.url, e.type, e.configuration])).toEqual([['http://tracker.tracker', 'internal', { MLFLOW_TRACKING_URI: 'http://tracker.tracker' }]]);
    expect(svc('mlflow-store')?.endpoints?.map((e) => [e.url, e.configuration])).toEqual([['http://tracker-minio.tracker:9000', { MLFLOW_S3_ENDPOINT_URL: 'http://tracker-minio.tracker:9000' }]]);
    expect(svc('mlflow-store')?.credentials?.map((c) => [c.id, c.scope, c.configuration])).toEqual([
      ['default-s3-account', 'global', { AWS_ACCESS_KEY_ID: keys.accesskey, AWS_SECRET_ACCESS_KEY: keys.secretkey }],
    ]);
    // Never in what the installer printed.
    expect(r.stdout + r.stderr).not.toContain(keys.secretkey);

    const un = await installer(['uninstall', '--extensions', 'tracker', '--yes']);
    expect(un.exitCode, un.stderr).toBe(0);
    await expect(client.getExtension('tracker')).rejects.toMatchObject({ status: 404 });
    expect((await run(helm, ['list', '-n', 'tracker', '-q', '--kubeconfig', env.KUBECONFIG as string])).stdout.trim()).toBe('');
    await expectNamespaceGone('tracker');
  });

  it('a chart location that cannot be fetched: the helm step fails with exit 6, the URL is named, nothing is registered', async () => {
    const r = await installer(['install', '--extensions', 'tracker', '--mirror', `${CHART_PREFIX}=http://127.0.0.1:9/nothing-listens`]);
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toContain('127.0.0.1:9');
    await expect(client.getExtension('tracker')).rejects.toMatchObject({ status: 404 });
    const un = await installer(['uninstall', '--extensions', 'tracker', '--yes']);
    expect(un.exitCode, un.stderr).toBe(0);
  });
});

describe('a remote manifest location', () => {
  it('certs: the manifest is fetched through --mirror at install and uninstall; the FuseML waitfor holds until the Deployment is Available', async () => {
    // Served next to the chart: the mirror maps the release download folder to the loopback server.
    await writeFile(join(charts.dir, 'certs.yaml'), [
      'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: certs-webhook', '  namespace: certs', '  labels:', '    app: certs-webhook', 'spec:', '  replicas: 1',
      '  selector:', '    matchLabels:', '      app: certs-webhook', '  template:', '    metadata:', '      labels:', '        app: certs-webhook',
      '    spec:', '      containers:', '        - name: webhook', '          image: ghcr.io/example/certs-webhook:1.2.3', '',
    ].join('\n'));
    const mirror = ['--mirror', `https://github.com/example-org/certs/releases/download/v1.2.3=${charts.url}`];
    const r = await installer(['install', '--extensions', 'certs', ...mirror]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(charts.requests.filter((p) => p === '/certs.yaml')).toHaveLength(1);
    const d = JSON.parse((await kc(['get', 'deployment', 'certs-webhook', '-n', 'certs', '-o', 'json'])).stdout) as { status: { conditions?: { type: string; status: string }[] } };
    expect(d.status.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');

    const un = await installer(['uninstall', '--extensions', 'certs', '--yes', ...mirror]);
    expect(un.exitCode, un.stderr).toBe(0);
    expect(charts.requests.filter((p) => p === '/certs.yaml')).toHaveLength(2);
    await expectNamespaceGone('certs');
  });
});

describe('FuseML rolerules and gateways', () => {
  it('rolerules: the workloads service accounts may do what the rules say, no more; removed on uninstall', async () => {
    await kc(['create', 'namespace', WORKLOADS]);
    const r = await installer(['install', '--extensions', 'roles', '--workloads-namespace', WORKLOADS]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: roles: gateways roles not created: the cluster has no Istio');
    const sa = `system:serviceaccount:${WORKLOADS}:default`;
    const can = async (verb: string, resource: string) => (await kc(['auth', 'can-i', verb, resource, '-n', WORKLOADS, '--as', sa], true)).stdout.trim();
    expect(await can('list', 'configmaps')).toBe('yes');
    expect(await can('watch', 'deployments.apps')).toBe('yes');
    expect(await can('delete', 'configmaps')).toBe('no');
    expect((await kc(['get', 'configmap', 'roles-config', '-n', 'roles-system', '-o', 'name'])).stdout.trim()).toBe('configmap/roles-config');

    const un = await installer(['uninstall', '--extensions', 'roles', '--yes', '--workloads-namespace', WORKLOADS]);
    expect(un.exitCode, un.stderr).toBe(0);
    expect((await kc(['get', 'role,rolebinding', '-n', WORKLOADS, '-l', 'fuseml.io/extension=roles', '-o', 'name'])).stdout.trim()).toBe('');
    expect(await can('list', 'configmaps')).toBe('no');
    await expectNamespaceGone('roles-system');
  });

  it("gateways: with Istio's API on the cluster and --gateway-domain, FuseML's Gateway and VirtualService per entry; removed on uninstall", async () => {
    // Istio's two kinds, as CRDs (the objects are what FuseML creates; no Istio controller is needed to check them).
    const crd = (plural: string, kind: string) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.networking.istio.io` },
      spec: {
        group: 'networking.istio.io',
        scope: 'Namespaced',
        names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
        versions: [{ name: 'v1alpha3', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    await run(kubectl, ['--kubeconfig', env.KUBECONFIG as string, 'apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [crd('gateways', 'Gateway'), crd('virtualservices', 'VirtualService')] }) });
    try {
      await kc(['wait', '--for=condition=Established', 'crd/gateways.networking.istio.io', 'crd/virtualservices.networking.istio.io', '--timeout=60s']);
      const r = await installer(['install', '--extensions', 'tracker', '--mirror', `${CHART_PREFIX}=${charts.url}`, '--gateway-domain', 'example.test']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('not created');
      const get = async (kind: string, name: string) => JSON.parse((await kc(['get', `${kind}.networking.istio.io`, name, '-n', 'tracker', '-o', 'json'])).stdout) as { spec: Record<string, unknown> };
      expect((await get('gateways', 'tracker-gateway')).spec).toEqual({ selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['tracker.example.test'] }] });
      expect((await get('virtualservices', 'tracker-minio')).spec).toEqual({
        hosts: ['tracker-minio.example.test'],
        gateways: ['tracker-minio-gateway'],
        http: [{ match: [{ uri: { prefix: '/' } }], route: [{ destination: { host: 'tracker-minio', port: { number: 9000 } } }] }],
      });
      const un = await installer(['uninstall', '--extensions', 'tracker', '--yes']);
      expect(un.exitCode, un.stderr).toBe(0);
      expect(un.stderr).toMatch(/kubectl delete manifests \(undo-fuseml-gateways-tracker\): done/);
      await expectNamespaceGone('tracker');
      expect((await kc(['get', 'gateways.networking.istio.io', '-A', '-o', 'name'])).stdout.trim()).toBe('');
    } finally {
      await kc(['delete', 'crd', 'gateways.networking.istio.io', 'virtualservices.networking.istio.io', '--ignore-not-found'], true);
    }
  });
});
