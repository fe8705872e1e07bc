/**
 * The shipped external-only gcs extension, end to end with the real CLIs, a real
 * registry process and the local control plane:
 * `fuseml-installer extensions register gcs --set bucket=… --set project=…
 * --set-file serviceAccountKey=key.json` stores the key (revealed to an admin
 * only); `install -e gcs` refuses; `fuseml workflow bind` creates the step's
 * Service Binding Secret holding the key as GOOGLE_APPLICATION_CREDENTIALS.json;
 * `fuseml workflow run --engine job` creates the step Pod with that Secret mounted
 * at /bindings/<requirement> and GOOGLE_APPLICATION_CREDENTIALS set to the file's
 * path there. The key never appears in CLI output or Pod specs.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { cli } from '../helpers/cli.js';
import { useNamespace } from '../helpers/namespace.js';
import { randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const ns = useNamespace('e2e-gcs');
const MARK = `SECRET-${randomToken().slice(0, 12)}`;
const KEY = `${JSON.stringify({ type: 'service_account', project_id: 'ml-prod', private_key_id: 'k1', private_key: `-----BEGIN PRIVATE KEY-----\n${MARK}\n-----END PRIVATE KEY-----\n`, client_email: 'trainer@ml-prod.iam.gserviceaccount.com' }, null, 2)}\n`;
const WORKFLOW = `name: gcs-train
steps:
  - name: trainer
    image: ghcr.io/example/trainer:1
    extensions:
      - name: models
        product: gcs
        service_resource: gcs
`;

let registry: RegistryProcess;
let client: RegistryClient;
let env: Record<string, string>;
let dir: string;
const kubectl = process.env.FUSEML_KUBECTL ?? 'kubectl';

const installer = (args: string[]) => cli('fuseml-installer', args, { env, timeoutMs: 5 * 60_000 });
const fuseml = (args: string[]) => runFuseml(args, { url: registry.url, token: registry.adminToken });

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ url: registry.url, token: registry.adminToken });
  env = { KUBECONFIG: inject('fusemlKubeconfig'), FUSEML_REGISTRY_URL: registry.url, FUSEML_REGISTRY_TOKEN: registry.adminToken as string };
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-gcs-'));
  await writeFile(join(dir, 'key.json'), KEY);
  await chmod(join(dir, 'key.json'), 0o600);
  await writeFile(join(dir, 'wf.yaml'), WORKFLOW);
}, 120_000);

afterAll(async () => {
  await registry?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('gcs: registered by hand, the key reaches a step as a file and GOOGLE_APPLICATION_CREDENTIALS', () => {
  it('extensions register gcs stores bucket, project and the key file; install refuses an external-only extension', async () => {
    const r = await installer(['extensions', 'register', 'gcs', '--id', 'gcs-models', '--set', 'bucket=models', '--set', 'project=ml-prod', '--set-file', `serviceAccountKey=${join(dir, 'key.json')}`, '--no-check']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('registered gcs-models: gcs (gcs, object-storage)');
    expect(r.stdout + r.stderr).not.toContain(MARK);
    const rec = await client.getExtension('gcs-models', { reveal: true });
    const svc = rec.services?.[0];
    expect(svc?.configuration).toEqual({ GCS_BUCKET: 'models', GOOGLE_CLOUD_PROJECT: 'ml-prod' });
    expect(svc?.credentials?.[0]?.configuration).toEqual({ 'GOOGLE_APPLICATION_CREDENTIALS.json': KEY });
    // Masked on an ordinary read.
    expect(JSON.stringify(await client.getExtension('gcs-models'))).not.toContain(MARK);

    const i = await installer(['install', '--extensions', 'gcs', '--dry-run']);
    expect(i.exitCode).toBe(2);
    expect(i.stderr).toContain('gcs is external only (no install steps): nothing to install');
    expect(i.stderr).toContain('fuseml-installer extensions register gcs');
  });

  it('workflow bind: the Service Binding Secret holds the key as GOOGLE_APPLICATION_CREDENTIALS.json', async () => {
    const r = await fuseml(['workflow', 'bind', join(dir, 'wf.yaml'), '--project', 'A', '--kubeconfig', env.KUBECONFIG as string, '-n', ns.name]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(MARK);
    expect((await ns.client.secretMeta(ns.name, 'gcs-train-trainer-models'))?.type).toBe('servicebinding.io/gcs');
    expect(await ns.client.readSecret(ns.name, 'gcs-train-trainer-models')).toEqual({
      type: 'gcs',
      provider: 'gcs',
      uri: 'https://storage.googleapis.com',
      host: 'storage.googleapis.com',
      port: '443',
      GCS_BUCKET: 'models',
      GOOGLE_CLOUD_PROJECT: 'ml-prod',
      'GOOGLE_APPLICATION_CREDENTIALS.json': KEY,
    });
  });

  it('workflow run --engine job: the step Pod mounts the binding and GOOGLE_APPLICATION_CREDENTIALS is the path of the key file in it', async () => {
    const r = await fuseml(['workflow', 'run', join(dir, 'wf.yaml'), '--project', 'A', '--engine', 'job', '--kubeconfig', env.KUBECONFIG as string, '-n', ns.name, '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(MARK);
    const runId = (JSON.parse(r.stdout) as { run: string }).run;
    type Pod = {
      spec: {
        containers: { env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; volumeMounts: { name: string; mountPath: string }[] }[];
        volumes: { name: string; secret?: { secretName: string } }[];
      };
    };
    let pods: Pod[] = [];
    for (const deadline = Date.now() + 120_000; pods.length === 0 && Date.now() < deadline; ) {
      const got = await run(kubectl, ['--kubeconfig', env.KUBECONFIG as string, 'get', 'pods', '-n', ns.name, '-l', `fuseml.io/run=${runId}`, '-o', 'json'], { allowFailure: true, timeoutMs: 60_000 });
      pods = got.exitCode === 0 ? (JSON.parse(got.stdout) as { items: Pod[] }).items : [];
      if (pods.length === 0) await new Promise((res) => setTimeout(res, 1_000));
    }
    expect(pods).toHaveLength(1);
    const pod = pods[0] as Pod;
    const c = pod.spec.containers[0] as Pod['spec']['containers'][0];
    const secret = `gcs-train-trainer-models-${runId}`;
    const vol = pod.spec.volumes.find((v) => v.secret?.secretName === secret);
    expect(vol).toBeDefined();
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: vol?.name, mountPath: '/bindings/models' }));
    expect(c.env.find((e) => e.name === 'GOOGLE_APPLICATION_CREDENTIALS')).toEqual({ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/bindings/models/GOOGLE_APPLICATION_CREDENTIALS.json' });
    expect(c.env.find((e) => e.name === 'GCS_BUCKET')?.valueFrom?.secretKeyRef).toEqual({ name: secret, key: 'GCS_BUCKET' });
    // The file the variable names is a key of the mounted Secret, holding the key.
    expect((await ns.client.readSecret(ns.name, secret))?.['GOOGLE_APPLICATION_CREDENTIALS.json']).toBe(KEY);
    expect(JSON.stringify(pod.spec)).not.toContain(MARK);
  });
});
