/**
 * The shipped charts with real helm (built/cached by scripts/tools.sh): they
 * lint, and `helm template` with each extension's rendered values.yaml
 * produces exactly the objects its waits and outputs name (Deployments,
 * Services and their port names, Secret keys). The stand-in upstream charts
 * render the controller Deployments the seldon-core and kserve waits expect.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { Extension, HelmStep, Scalar } from '../../src/core/extension.js';
import { render } from '../../src/core/template.js';
import { DEFAULT_REPOSITORY, loadRepository, type Repository } from '../../src/descriptor/repository.js';
import { run } from '../../src/exec/index.js';
import { extensionLookup } from '../../src/installer/registration.js';
import { loadConfig } from '../../src/registry/config.js';
import { loadOrCreateKey } from '../../src/registry/crypto.js';
import { ROOT } from '../helpers/registry.js';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

let helm: string;
let repo: Repository;
let dir: string;

beforeAll(async () => {
  const env = await run('bash', [join(ROOT, 'scripts/tools.sh'), '--print-env'], { timeoutMs: 20 * 60_000 });
  helm = /FUSEML_HELM='([^']+)'/.exec(env.stdout)?.[1] as string;
  expect(helm).toBeTruthy();
  repo = await loadRepository(DEFAULT_REPOSITORY);
  dir = await mkdtemp(join(tmpdir(), 'fuseml-charts-'));
}, 25 * 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const defaults = (ext: Extension): Record<string, Scalar> =>
  Object.fromEntries(Object.entries(ext.parameters).flatMap(([k, p]) => (p.default === undefined ? [] : [[k, p.default]])));

/** The step's values.yaml rendered with the parameters, written to a temp file. */
async function valuesFile(ext: Extension, step: HelmStep, params: Record<string, Scalar>): Promise<string[]> {
  if (!step.values) return [];
  const text = await readFile(join(ext.dir, step.values), 'utf8');
  const file = join(dir, `${ext.name}-${step.release ?? ext.name}-values.yaml`);
  await writeFile(file, render(text, extensionLookup(ext, params, undefined, { namespace: ext.namespace })));
  return ['--values', file];
}

async function template(chart: string, release: string, namespace: string, extra: string[] = []): Promise<K8sObject[]> {
  const r = await run(helm, ['template', release, chart, '--namespace', namespace, ...extra], { timeoutMs: 60_000 });
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
}

const find = (objs: K8sObject[], kind: string, name: string): K8sObject | undefined => objs.find((o) => o.kind === kind && o.metadata.name === name);

/** Every Deployment, Service port and Secret key the extension's waits and outputs refer to exists in the rendering. */
function expectOutputsRendered(ext: Extension, objs: K8sObject[]): void {
  for (const w of ext.install.flatMap((s) => s.waitFor ?? [])) {
    const d = find(objs, w.kind, w.name as string);
    expect(d, `${ext.name}: waitFor ${w.kind}/${w.name}`).toBeDefined();
    expect((d?.spec?.template as { spec: { containers: { readinessProbe?: unknown }[] } }).spec.containers[0]?.readinessProbe, `${w.name} readiness probe`).toBeDefined();
  }
  for (const [name, o] of Object.entries(ext.outputs)) {
    if (o.service) {
      const svc = find(objs, 'Service', o.service.name);
      expect(svc, `${ext.name}: output ${name}`).toBeDefined();
      const ports = (svc?.spec?.ports ?? []) as { name: string; port: number }[];
      expect(ports.map((p) => p.name), `${ext.name}: output ${name} port`).toContain(o.service.port);
    }
    if (o.secret) {
      const secret = find(objs, 'Secret', o.secret.name);
      expect(secret, `${ext.name}: output ${name}`).toBeDefined();
      expect(Object.keys(secret?.data ?? {}), `${ext.name}: output ${name} key`).toContain(o.secret.key);
      expect(Buffer.from(secret?.data?.[o.secret.key] ?? '', 'base64').toString()).toMatch(/^[A-Za-z0-9]{20,40}$/);
    }
  }
}

describe('our charts (mlflow, s3/minio, fuseml-registry)', () => {
  it('lint cleanly', async () => {
    for (const name of ['mlflow', 's3', 'fuseml-registry']) {
      const r = await run(helm, ['lint', '--strict', join(DEFAULT_REPOSITORY, name, 'chart')], { allowFailure: true, timeoutMs: 60_000 });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    }
  });

  it('mlflow renders the objects its waits and outputs name, with MinIO from the s3 chart', async () => {
    const ext = repo.get('mlflow') as Extension;
    const step = ext.install[0] as HelmStep;
    const objs = await template(join(ext.dir, step.location as string), ext.name, ext.namespace, await valuesFile(ext, step, defaults(ext)));
    expectOutputsRendered(ext, objs);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/mlflow',
      'Deployment/mlflow-minio',
      'Job/mlflow-minio-bucket-1',
      'PersistentVolumeClaim/mlflow',
      'PersistentVolumeClaim/mlflow-minio',
      'Secret/mlflow-minio',
      'Service/mlflow',
      'Service/mlflow-minio',
    ]);
    const server = find(objs, 'Deployment', 'mlflow')?.spec?.template as { spec: { containers: { image: string; args: string[]; env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[] }[] } };
    const c = server.spec.containers[0];
    expect(c?.image).toBe('ghcr.io/mlflow/mlflow:v3.17.2');
    expect(c?.args).toContain('--default-artifact-root=s3://mlflow/');
    expect(c?.env.find((e) => e.name === 'MLFLOW_S3_ENDPOINT_URL')?.value).toBe('http://mlflow-minio:9000');
    expect(c?.env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'mlflow-minio', key: 'AWS_SECRET_ACCESS_KEY' });
    expect(find(objs, 'PersistentVolumeClaim', 'mlflow-minio')?.spec).toMatchObject({ resources: { requests: { storage: '10Gi' } } });
  });

  it('mlflow parameters reach the chart: host adds an Ingress, persistence=false uses emptyDir, bucket and sizes', async () => {
    const ext = repo.get('mlflow') as Extension;
    const step = ext.install[0] as HelmStep;
    const params = { ...defaults(ext), host: 'mlflow.example.com', persistence: false, bucket: 'runs', version: '3.1.0' };
    const objs = await template(join(ext.dir, step.location as string), ext.name, ext.namespace, await valuesFile(ext, step, params));
    const ingress = find(objs, 'Ingress', 'mlflow');
    expect(ingress?.spec).toMatchObject({ rules: [{ host: 'mlflow.example.com', http: { paths: [{ backend: { service: { name: 'mlflow', port: { name: 'http' } } } }] } }] });
    expect(objs.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    expect(JSON.stringify(find(objs, 'Job', 'mlflow-minio-bucket-1'))).toContain('"value":"runs"');
    expect(JSON.stringify(find(objs, 'Deployment', 'mlflow'))).toContain('ghcr.io/mlflow/mlflow:v3.1.0');
  });

  it('s3 renders s3-minio: Deployment, Service port s3, Secret keys, bucket Job (not a hook)', async () => {
    const ext = repo.get('s3') as Extension;
    const step = ext.install[0] as HelmStep;
    const objs = await template(join(ext.dir, step.location as string), ext.name, ext.namespace, await valuesFile(ext, step, { ...defaults(ext), bucket: 'datasets' }));
    expectOutputsRendered(ext, objs);
    const job = find(objs, 'Job', 's3-minio-bucket-1');
    expect(job?.metadata).not.toHaveProperty('annotations');
    expect(JSON.stringify(job)).toContain('"value":"datasets"');
  });
});

describe('stand-in upstream charts', () => {
  const upstream = join(ROOT, 'test/fixtures/charts/upstream');

  it('carry the names and versions of the upstream charts the descriptors pin', async () => {
    for (const ext of [repo.get('seldon-core'), repo.get('kserve')] as Extension[]) {
      for (const step of ext.install as HelmStep[]) {
        const chart = (await readFile(join(upstream, step.chart as string, 'Chart.yaml'), 'utf8'));
        expect(chart).toContain(`name: ${step.chart}\n`);
        expect(chart).toContain(`version: ${step.version}\n`);
      }
    }
  });

  it('render the controller Deployments the seldon-core and kserve waits name, with the extension values', async () => {
    for (const ext of [repo.get('seldon-core'), repo.get('kserve')] as Extension[]) {
      const all: K8sObject[] = [];
      for (const step of ext.install as HelmStep[]) {
        all.push(...(await template(join(upstream, step.chart as string), step.release ?? ext.name, ext.namespace, await valuesFile(ext, step, defaults(ext)))));
      }
      for (const w of ext.install.flatMap((s) => s.waitFor ?? [])) expect(find(all, w.kind, w.name as string), `${ext.name}: ${w.name}`).toBeDefined();
      for (const rule of ext.rolerules) for (const res of rule.resources ?? []) {
        if (res.includes('/')) continue;
        expect(all.some((o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === `${res}.${rule.apigroups?.[0]}`), `${ext.name}: CRD ${res}`).toBe(true);
      }
    }
    const kserve = await template(join(upstream, 'kserve'), 'kserve', 'kserve', await valuesFile(repo.get('kserve') as Extension, (repo.get('kserve') as Extension).install[1] as HelmStep, { deploymentMode: 'RawDeployment' }));
    expect(find(kserve, 'ConfigMap', 'inferenceservice-config')?.data?.deploy).toBe('{"defaultDeploymentMode":"RawDeployment"}');
  });
});

describe('the fuseml-registry chart', () => {
  type Container = { args: string[]; env: unknown[]; securityContext: Record<string, unknown>; readinessProbe: unknown; livenessProbe: unknown; resources: Record<string, unknown> };
  type PodSpec = { serviceAccountName: string; securityContext: Record<string, unknown>; containers: Container[]; volumes: { name: string; secret?: { secretName: string } }[] };
  const render = async (params: Record<string, Scalar> = {}, extra: string[] = []) => {
    const ext = repo.get('fuseml-registry') as Extension;
    const step = ext.install[0] as HelmStep;
    const p = { ...defaults(ext), ...params };
    return { ext, objs: await template(join(ext.dir, step.location as string), ext.name, String(p.namespace), [...(await valuesFile(ext, step, p)), ...extra]) };
  };
  const secret = (objs: K8sObject[], name: string): Record<string, string> =>
    Object.fromEntries(Object.entries(find(objs, 'Secret', name)?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));

  it('renders 2 replicas of serve --store kubernetes with the key from its Secret, non-root, read-only, probed on /healthz', async () => {
    const { ext, objs } = await render();
    expectOutputsRendered(ext, objs);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/fuseml-registry-fuseml-registry-crd-reader',
      'ClusterRoleBinding/fuseml-registry-fuseml-registry-crd-reader',
      'Deployment/fuseml-registry',
      'PodDisruptionBudget/fuseml-registry',
      'Role/fuseml-registry-store',
      'RoleBinding/fuseml-registry-store',
      'Secret/fuseml-registry-key',
      'Secret/fuseml-registry-tokens',
      'Service/fuseml-registry',
      'ServiceAccount/fuseml-registry',
    ]);
    const dep = find(objs, 'Deployment', 'fuseml-registry');
    expect(dep?.spec?.replicas).toBe(2);
    const pod = (dep?.spec?.template as { spec: PodSpec }).spec;
    expect(pod.serviceAccountName).toBe('fuseml-registry');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const c = pod.containers[0] as Container;
    expect(c.args).toEqual(['serve', '--store=kubernetes', '--store-namespace=fuseml-registry', '--host=0.0.0.0', '--port=8000', '--config=/etc/fuseml-registry/registry.yaml']);
    expect(c.env).toEqual([{ name: 'FUSEML_REGISTRY_KEY', valueFrom: { secretKeyRef: { name: 'fuseml-registry-key', key: 'FUSEML_REGISTRY_KEY' } } }]);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    expect(c.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
    expect(pod.volumes.find((v) => v.name === 'config')?.secret?.secretName).toBe('fuseml-registry-tokens');
    expect(find(objs, 'PodDisruptionBudget', 'fuseml-registry')?.spec).toMatchObject({ maxUnavailable: 1 });
    // The key Secret survives an uninstall: losing it loses every stored credential value.
    expect((find(objs, 'Secret', 'fuseml-registry-key')?.metadata as { annotations?: Record<string, string> }).annotations).toMatchObject({ 'helm.sh/resource-policy': 'keep' });
  });

  it("the generated config and key are what fuseml-registry serve loads: four tokens with their roles, a 32-byte key", async () => {
    const { objs } = await render();
    const files = secret(objs, 'fuseml-registry-tokens');
    const cfgDir = await mkdtemp(join(dir, 'cfg-'));
    for (const [k, v] of Object.entries(files)) await writeFile(join(cfgDir, k), v, { mode: 0o600 });
    const cfg = await loadConfig(join(cfgDir, 'registry.yaml'));
    expect(cfg.anonymous).toBe('none');
    expect(cfg.tokens.map((t) => `${t.name}:${t.role}`)).toEqual(['admin:admin', 'installer:writer', 'reader:reader', 'resolver:resolver']);
    for (const t of ['admin', 'installer', 'reader', 'resolver']) expect(files[`${t}.token`]).toMatch(/^[A-Za-z0-9]{40}$/);
    const key = secret(objs, 'fuseml-registry-key').FUSEML_REGISTRY_KEY as string;
    const loaded = await loadOrCreateKey({ keyFile: join(cfgDir, 'unused.key'), env: { FUSEML_REGISTRY_KEY: key } });
    expect(loaded.key).toHaveLength(32);
  });

  it('parameters and chart values reach it: replicas, image, anonymous, resolver scope, extra hashed tokens, an existing key Secret', async () => {
    const sha = 'ab'.repeat(32);
    const { objs } = await render({ replicas: 3, anonymous: 'reader', tag: '9.9.9', namespace: 'reg' }, [
      '--set', 'resolver.projects={team-a}', '--set', `extraTokens[0].name=ci,extraTokens[0].role=writer,extraTokens[0].token_sha256=${sha}`, '--set', 'existingKeySecret=my-key',
    ]);
    const dep = find(objs, 'Deployment', 'fuseml-registry');
    expect(dep?.spec?.replicas).toBe(3);
    const c = (dep?.spec?.template as { spec: PodSpec }).spec.containers[0] as Container & { image: string };
    expect(c.image).toBe('ghcr.io/fuseml/fuseml-registry:9.9.9');
    expect(c.args).toContain('--store-namespace=reg');
    expect(c.env).toEqual([{ name: 'FUSEML_REGISTRY_KEY', valueFrom: { secretKeyRef: { name: 'my-key', key: 'FUSEML_REGISTRY_KEY' } } }]);
    expect(find(objs, 'Secret', 'fuseml-registry-key')).toBeUndefined();
    expect(find(objs, 'ClusterRole', 'fuseml-registry-reg-crd-reader')).toBeDefined();
    const cfg = parseYaml(secret(objs, 'fuseml-registry-tokens')['registry.yaml'] as string) as { anonymous: string; tokens: Record<string, unknown>[] };
    expect(cfg.anonymous).toBe('reader');
    expect(cfg.tokens.find((t) => t.name === 'resolver')).toMatchObject({ role: 'resolver', projects: ['team-a'] });
    expect(cfg.tokens.find((t) => t.name === 'ci')).toEqual({ name: 'ci', role: 'writer', token_sha256: sha });
  });

  it('carries the CRD of deploy/ and the RBAC rules of deploy/rbac-fuseml-registry.yaml', async () => {
    const ext = repo.get('fuseml-registry') as Extension;
    expect(await readFile(join(ext.dir, 'chart/crds/crd-fusemlextension.yaml'), 'utf8')).toBe(await readFile(join(ROOT, 'deploy/crd-fusemlextension.yaml'), 'utf8'));
    const deploy = parseAllDocuments(await readFile(join(ROOT, 'deploy/rbac-fuseml-registry.yaml'), 'utf8')).map((d) => d.toJS() as K8sObject & { rules?: unknown });
    const { objs } = await render();
    const rules = (o: K8sObject | undefined) => (o as unknown as { rules: unknown } | undefined)?.rules;
    expect(rules(find(objs, 'Role', 'fuseml-registry-store'))).toEqual(deploy.find((o) => o.kind === 'Role')?.rules);
    expect(rules(find(objs, 'ClusterRole', 'fuseml-registry-fuseml-registry-crd-reader'))).toEqual(deploy.find((o) => o.kind === 'ClusterRole')?.rules);
  });
});
