/**
 * The registry deployed by its own extension (extensions/fuseml-registry) on the local control plane, through
 * the real CLI and real helm: `install --extensions fuseml-registry` brings up 2 replicas (kwok marks the pods
 * Ready: no container runs) and prints how to reach the registry; an upgrade keeps the generated key and
 * tokens; two local `fuseml-registry serve --store kubernetes` processes, authenticated as the chart's
 * ServiceAccount (a TokenRequest token, as the pods would be) and given the chart's key and config Secrets,
 * serve the same records; uninstall removes it and its cluster-wide RBAC.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { e2eCluster, uniqueName, writeTokenKubeconfig } from '../helpers/namespace.js';
import { ROOT, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const NS = uniqueName('e2e-registry');
const INSTALLER_NS = uniqueName('e2e-registry-inst');
const CHART = join(ROOT, 'extensions/fuseml-registry/chart');
const SECRET_VALUE = `planted-${NS}`;

let kubeconfig: string;
let helm: string;
let kubectl: string;
let dir: string;
let replicas: RegistryProcess[] = [];
/** Every value of the chart's Secrets: none may appear in any command's output. */
const secrets: string[] = [];

async function kc(args: string[], allowFailure = false) {
  return run(kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=30s', ...args], { allowFailure, timeoutMs: 120_000 });
}
async function kjson<T>(args: string[]): Promise<T> {
  return JSON.parse((await kc([...args, '-o', 'json'])).stdout) as T;
}
async function secretData(name: string): Promise<Record<string, string>> {
  const s = await kjson<{ data: Record<string, string> }>(['get', 'secret', name, '-n', NS]);
  return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

async function installer(args: string[]): Promise<CliResult> {
  const r = await cli('fuseml-installer', [...args, '--installer-namespace', INSTALLER_NS, '--lock-timeout', '5m'], {
    env: { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_STATE_DIR: dir, CI: '1', FUSEML_REGISTRY_URL: undefined, FUSEML_REGISTRY_TOKEN: undefined },
    timeoutMs: 10 * 60_000,
  });
  for (const s of secrets) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
  return r;
}

interface Summary {
  extensions: { name: string; state: string; registration: string; outputs: Record<string, string> }[];
}

async function expectReplicasReady(n: number): Promise<void> {
  const d = await kjson<{ spec: { replicas: number }; status: { readyReplicas?: number; availableReplicas?: number; conditions?: { type: string; status: string }[] } }>([
    'get', 'deployment', 'fuseml-registry', '-n', NS,
  ]);
  expect(d.spec.replicas).toBe(n);
  expect(d.status.readyReplicas).toBe(n);
  expect(d.status.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
  const pods = await kjson<{ items: { status: { phase: string; conditions?: { type: string; status: string }[] } }[] }>([
    'get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/name=fuseml-registry,app.kubernetes.io/instance=fuseml-registry',
  ]);
  const ready = pods.items.filter((p) => p.status.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
  expect(ready.length).toBeGreaterThanOrEqual(n);
}

beforeAll(async () => {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-registry-chart-'));
});

afterAll(async () => {
  for (const r of replicas) await r.cleanup();
  replicas = [];
  if (kubectl) {
    await kc(['delete', 'namespace', NS, INSTALLER_NS, '--ignore-not-found', '--wait=false'], true);
    await kc(['delete', 'clusterrole,clusterrolebinding', `fuseml-registry-${NS}-crd-reader`, '--ignore-not-found'], true);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the fuseml-registry extension on the local control plane', () => {
  it('the chart lints cleanly', async () => {
    const r = await run(helm, ['lint', '--strict', CHART], { allowFailure: true, timeoutMs: 120_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('0 chart(s) failed');
  });

  it('install brings up 2 Ready replicas, registers nothing and prints the in-cluster URL and the port-forward line', async () => {
    const r = await installer(['install', '--extensions', 'fuseml-registry', '--set', `fuseml-registry.namespace=${NS}`, '--no-register', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const ext = (JSON.parse(r.stdout) as Summary).extensions[0];
    expect(ext).toMatchObject({ name: 'fuseml-registry', state: 'installed', registration: 'none' });
    expect(ext?.outputs).toMatchObject({
      url: `http://fuseml-registry.${NS}.svc.cluster.local:8000`,
      portForward: `kubectl port-forward -n ${NS} svc/fuseml-registry 8000:8000`,
    });
    await expectReplicasReady(2);
    const key = await secretData('fuseml-registry-key');
    const tokens = await secretData('fuseml-registry-tokens');
    expect(Buffer.from(key.FUSEML_REGISTRY_KEY ?? '', 'base64')).toHaveLength(32);
    for (const t of ['admin', 'installer', 'reader', 'resolver']) expect(tokens[`${t}.token`]).toMatch(/^[A-Za-z0-9]{40}$/);
    secrets.push(key.FUSEML_REGISTRY_KEY as string, ...Object.entries(tokens).filter(([k]) => k.endsWith('.token')).map(([, v]) => v));
    // The table form names the same outputs.
    const table = await installer(['install', '--extensions', 'fuseml-registry', '--set', `fuseml-registry.namespace=${NS}`, '--no-register']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toContain(`url=http://fuseml-registry.${NS}.svc.cluster.local:8000`);
    expect(table.stdout).toContain(`portForward=kubectl port-forward -n ${NS} svc/fuseml-registry 8000:8000`);
    // Pod spec: the serve command, the key from the Secret, non-root, read-only root fs, probes on /healthz.
    const dep = await kjson<{ spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } } }>(['get', 'deployment', 'fuseml-registry', '-n', NS]);
    const pod = dep.spec.template.spec;
    expect(pod).toMatchObject({ serviceAccountName: 'fuseml-registry', securityContext: { runAsNonRoot: true } });
    expect(pod.containers[0]).toMatchObject({
      args: ['serve', '--store=kubernetes', `--store-namespace=${NS}`, '--host=0.0.0.0', '--port=8000', '--config=/etc/fuseml-registry/registry.yaml'],
      env: [{ name: 'FUSEML_REGISTRY_KEY', valueFrom: { secretKeyRef: { name: 'fuseml-registry-key', key: 'FUSEML_REGISTRY_KEY' } } }],
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
      livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
    });
    const pdb = await kjson<{ spec: { maxUnavailable: number } }>(['get', 'pdb', 'fuseml-registry', '-n', NS]);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  it('an upgrade (3 replicas) keeps the key and the tokens', async () => {
    const before = { key: await secretData('fuseml-registry-key'), tokens: await secretData('fuseml-registry-tokens') };
    const r = await installer(['install', '--extensions', 'fuseml-registry', '--set', `fuseml-registry.namespace=${NS}`, '--set', 'fuseml-registry.replicas=3', '--no-register', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Summary).extensions[0]?.state).toBe('installed');
    const history = await run(helm, ['history', 'fuseml-registry', '-n', NS, '-o', 'json', '--kubeconfig', kubeconfig], { timeoutMs: 60_000 });
    expect((JSON.parse(history.stdout) as unknown[]).length).toBe(2);
    await expectReplicasReady(3);
    expect(await secretData('fuseml-registry-key')).toEqual(before.key);
    expect(await secretData('fuseml-registry-tokens')).toEqual(before.tokens);
  });

  it("two local replicas authenticated as the chart's ServiceAccount, with its key and config, serve the same records", async () => {
    // What a pod gets: a ServiceAccount token (TokenRequest), the key in FUSEML_REGISTRY_KEY, the config Secret as files.
    const saToken = (await kc(['create', 'token', 'fuseml-registry', '-n', NS, '--duration=1h'])).stdout.trim();
    secrets.push(saToken);
    const saKubeconfig = await writeTokenKubeconfig(kubeconfig, saToken, NS, join(dir, 'sa.kubeconfig'));
    // The ServiceAccount may not read Secrets outside its namespace: the chart's RBAC, not the admin's, is in use.
    const denied = await run(kubectl, ['--kubeconfig', saKubeconfig, 'get', 'secrets', '-n', INSTALLER_NS], { allowFailure: true, timeoutMs: 60_000 });
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/i);

    const key = (await secretData('fuseml-registry-key')).FUSEML_REGISTRY_KEY as string;
    const files = await secretData('fuseml-registry-tokens');
    const config = files['registry.yaml'] as string;
    for (const [k, v] of Object.entries(files)) if (k !== 'registry.yaml') await writeFile(join(dir, k), v, { mode: 0o600 });
    for (let i = 0; i < 2; i++) {
      replicas.push(
        await startRegistry({ dir, config, adminToken: null, kubernetes: { kubeconfig: saKubeconfig, namespace: NS }, secretEnv: { FUSEML_REGISTRY_KEY: key }, startTimeoutMs: 120_000 }),
      );
    }
    const [a, b] = replicas as [RegistryProcess, RegistryProcess];
    const call = async (reg: RegistryProcess, token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(reg.url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, text: await res.text() };
    };
    const record = {
      id: 'mlflow',
      product: 'mlflow',
      version: '3.17.2',
      services: [{ id: 'mlflow-store', resource: 's3', category: 'model-store', credentials: [{ id: 'default', scope: 'global', default: true, configuration: { AWS_SECRET_ACCESS_KEY: SECRET_VALUE } }] }],
    };
    // The installer's (writer) token writes through one replica …
    const put = await call(a, files['installer.token'] as string, 'PUT', '/extensions/mlflow/record', record);
    expect(put.status, put.text).toBe(201);
    // … the admin token reads the value back in clear through the other; the reader sees it masked.
    const revealed = await call(b, files['admin.token'] as string, 'GET', '/extensions/mlflow?reveal=true');
    expect(revealed.status).toBe(200);
    expect(JSON.parse(revealed.text)).toMatchObject({ id: 'mlflow', revision: 1, services: [{ credentials: [{ configuration: { AWS_SECRET_ACCESS_KEY: SECRET_VALUE } }] }] });
    const masked = await call(b, files['reader.token'] as string, 'GET', '/extensions/mlflow');
    expect(masked.status).toBe(200);
    expect(masked.text).not.toContain(SECRET_VALUE);
    expect((await call(b, files['reader.token'] as string, 'DELETE', '/extensions/mlflow')).status).toBe(403);
    // Stored in the chart's namespace, sealed with the chart's key.
    const fext = await kjson<{ items: { spec: { id: string } }[] }>(['get', 'fusemlextensions', '-n', NS]);
    expect(fext.items.map((i) => i.spec.id)).toEqual(['mlflow']);
    const deleted = await call(b, files['installer.token'] as string, 'DELETE', '/extensions/mlflow');
    expect(deleted.status).toBe(204);
    expect((await call(a, files['admin.token'] as string, 'GET', '/extensions/mlflow')).status).toBe(404);
    for (const r of replicas) for (const s of [...secrets, key, SECRET_VALUE]) expect(r.stderr.join('\n')).not.toContain(s);
  });

  it('uninstall removes the release and its cluster-wide RBAC', async () => {
    for (const r of replicas) await r.cleanup();
    replicas = [];
    const r = await installer(['uninstall', '--yes', '--extensions', 'fuseml-registry', '--set', `fuseml-registry.namespace=${NS}`, '--no-register', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const gone = await kc(['get', 'clusterrole', `fuseml-registry-${NS}-crd-reader`, '--ignore-not-found', '-o', 'name']);
    expect(gone.stdout.trim()).toBe('');
    const releases = await run(helm, ['list', '-n', NS, '-q', '--kubeconfig', kubeconfig], { allowFailure: true, timeoutMs: 60_000 });
    expect(releases.stdout.trim()).toBe('');
  });
});
