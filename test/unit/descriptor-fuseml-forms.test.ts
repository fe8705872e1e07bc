/**
 * Every form FuseML's description.yaml allows (test/fixtures/descriptors/fuseml-forms,
 * our own folders in FuseML's format), with FuseML's meaning; remote locations
 * planned through the mirrors and fetched (real loopback HTTP) only at install.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FusemlError } from '../../src/core/errors.js';
import { loadExtensionDir, remoteLocations } from '../../src/descriptor/load.js';
import { loadRepository, type Repository } from '../../src/descriptor/repository.js';
import { addFusemlExtras, gatewayDocuments, roleDocuments } from '../../src/installer/fuseml-extras.js';
import { applyMirror, parseChartMirrors, parseMirrors } from '../../src/installer/mirrors.js';
import { createPlan, type PlannedHelm, type PlannedKustomize, type PlannedManifest, type PlannedScript } from '../../src/installer/plan.js';
import { kustomizeRunner, manifestRunner } from '../../src/steps/kubectl.js';
import { fetchRemote } from '../../src/steps/remote.js';
import { scriptRunner } from '../../src/steps/script.js';
import type { StepContext } from '../../src/steps/types.js';

const FORMS = resolve(import.meta.dirname, '../fixtures/descriptors/fuseml-forms');
const load = (name: string) => loadExtensionDir(join(FORMS, name));

describe('FuseML description.yaml forms, with FuseML meaning', () => {
  it('a key with no value is absent; no product/version: the name and 0.0.0', async () => {
    const certs = await load('certs');
    expect(certs.format).toBe('description.yaml');
    expect(certs.namespace).toBe('certs');
    expect(certs.product).toBe('certs');
    expect(certs.version).toBe('0.0.0');
    const serving = await load('serving');
    expect(serving.install[0]).toEqual({ type: 'manifest', location: 'https://github.com/example-org/serving/releases/download/v0.9.0/serving-crds.yaml' });
    const tracker = await load('tracker');
    expect(tracker.install[0]).toEqual({ type: 'helm', location: 'https://github.com/example-org/tracker-extension/raw/main/charts/tracker-0.1.0.tgz' });
  });

  it('waitfor: kind defaults to pod, lower-case kinds and conditions, timeout in seconds, selector all, "waitfor: pods"', async () => {
    const certs = await load('certs');
    expect(certs.install[0]?.waitFor).toEqual([{ kind: 'Deployment', namespace: 'certs', selector: 'app=certs-webhook', condition: 'Available' }]);
    const serving = await load('serving');
    expect(serving.install[1]?.waitFor).toEqual([{ kind: 'Pod', namespace: 'serving-system', all: true }]);
    expect(serving.install[2]?.waitFor?.[0]).toMatchObject({ kind: 'Deployment', timeout: '600s', condition: 'Available' });
    const legacy = await load('legacy');
    expect(legacy.install[0]?.waitFor).toEqual([{ kind: 'Pod', all: true }]);
  });

  it('no top-level namespace: manifest and kustomize steps without their own go to kubectl without --namespace (their objects keep theirs)', async () => {
    const repo = await loadRepository(FORMS);
    const plan = await createPlan(repo, { extensions: ['serving'], withDependencies: false });
    const steps = plan.extensions.get('serving')?.install as PlannedManifest[];
    expect(steps.map((s) => s.namespaceFlag)).toEqual([false, undefined, false, undefined, undefined]);
    const tools = { helm: 'helm', kubectl: 'kubectl' };
    expect(manifestRunner.commands(steps[0] as PlannedManifest, tools)[0]).toEqual(['kubectl', 'apply', '-f', '<https://github.com/example-org/serving/releases/download/v0.9.0/serving-crds.yaml>']);
    expect(manifestRunner.commands(steps[1] as PlannedManifest, tools)[0]?.slice(0, 3)).toEqual(['kubectl', 'apply', '--namespace']);
    expect((plan.extensions.get('serving')?.uninstall[0] as PlannedManifest).namespaceFlag).toBe(false);
    // A descriptor with a namespace keeps the flag everywhere.
    const roles = await createPlan(repo, { extensions: ['roles'], withDependencies: false });
    expect((roles.extensions.get('roles')?.install[0] as PlannedManifest).namespaceFlag).toBeUndefined();
    const op = await createPlan(repo, { extensions: ['operator'], withDependencies: false });
    expect(kustomizeRunner.commands(op.extensions.get('operator')?.install[2] as PlannedKustomize, tools)[0]).toEqual(['kubectl', 'apply', '-k', join(FORMS, 'operator/kustomize')]);
  });

  it('uninstall: [{type: helm}] removes the release named after the extension', async () => {
    const repo = await loadRepository(FORMS);
    const plan = await createPlan(repo, { extensions: ['seldonish'], forUninstall: true });
    expect(plan.extensions.get('seldonish')?.uninstall).toEqual([expect.objectContaining({ type: 'helm', action: 'uninstall', release: 'seldonish', namespace: 'seldonish-system' })]);
  });

  it('credentials without scope are global; servicecredentials become Secret outputs; authrequired True/False', async () => {
    const tracker = await load('tracker');
    const store = tracker.registration?.services?.find((s) => s.id === 'mlflow-store');
    expect(store?.auth_required).toBe(true);
    expect(tracker.registration?.services?.find((s) => s.id === 'mlflow-tracking')?.auth_required).toBe(false);
    expect(store?.credentials).toEqual([
      {
        id: 'default-s3-account',
        scope: 'global',
        configuration: {
          AWS_ACCESS_KEY_ID: '{{ outputs.mlflow_store__default_s3_account__AWS_ACCESS_KEY_ID }}',
          AWS_SECRET_ACCESS_KEY: '{{ outputs.mlflow_store__default_s3_account__AWS_SECRET_ACCESS_KEY }}',
        },
      },
    ]);
    expect(tracker.outputs.mlflow_store__default_s3_account__AWS_ACCESS_KEY_ID).toEqual({ sensitive: true, secret: { name: 'tracker-minio', key: 'accesskey', namespace: 'tracker' } });
  });

  it('services without endpoints or credentials, gateways and rolerules are kept', async () => {
    const op = await load('operator');
    expect(op.registration?.services?.map((s) => s.id)).toEqual(['API', 'UI']);
    expect(op.registration?.services?.[1]?.endpoints).toBeUndefined();
    expect(op.gateways).toEqual([
      { name: 'operator-web-app', namespace: 'operator-system', servicehost: 'operator-web-app', port: 80 },
      { name: 'models', namespace: 'fuseml-workloads', hostprefix: '*.models', port: 80 },
    ]);
    expect(op.rolerules).toHaveLength(2);
    expect(op.rolerules[0]).toEqual({ apigroups: ['models.example.org'], resources: ['modeldeployments'], verbs: ['get', 'list', 'create', 'patch', 'watch'] });
  });

  it('remote locations are listed (validate notes them) and never read at load time', async () => {
    const serving = await load('serving');
    expect(remoteLocations(serving).map((r) => r.where)).toEqual([
      'install[0].location', 'install[1].location', 'install[2].location', 'install[4].location',
      'uninstall[0].location', 'uninstall[1].location', 'uninstall[2].location',
    ]);
    expect(remoteLocations(await load('legacy')).map((r) => r.where)).toEqual(['install[0].location', 'install[0].values']);
  });

  it('a helm install step still needs a chart: location or repo+chart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fuseml-forms-'));
    try {
      await writeFile(join(dir, 'description.yaml'), 'name: nochart\ninstall:\n  - type: helm\n    values:\n');
      const err = await loadExtensionDir(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FusemlError);
      expect(JSON.stringify((err as { issues: unknown }).issues)).toContain('a helm step needs either');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('--mirror ORIGINAL=MIRROR', () => {
  it('longest prefix wins; the whole URL or a prefix ending at /', () => {
    const m = parseMirrors(['https://github.com=http://m/gh', 'https://github.com/example-org/tracker-extension/raw/main=http://127.0.0.1:1/t']);
    expect(applyMirror('https://github.com/example-org/tracker-extension/raw/main/charts/x.tgz', m)).toBe('http://127.0.0.1:1/t/charts/x.tgz');
    expect(applyMirror('https://github.com/other/y.yaml', m)).toBe('http://m/gh/other/y.yaml');
    expect(applyMirror('https://github.company.com/y.yaml', m)).toBe('https://github.company.com/y.yaml');
  });

  it('errors name the flag used', () => {
    expect(() => parseMirrors(['nope'])).toThrow(/--mirror "nope" is not of the form ORIGINAL=MIRROR/);
    expect(() => parseChartMirrors(['x=y'])).toThrow(/--chart-mirror: "x" is not a URL/);
  });
});

describe('remote locations at install (loopback HTTP)', () => {
  let server: Server;
  let base: string;
  let repo: Repository;
  const served: Record<string, string> = {
    '/legacy/values.yaml': 'replicas: 2\nimage:\n  tag: "1.0"\n',
    '/serving/post-install.sh': '#!/bin/sh\necho "domain=example.test" > "$FUSEML_OUTPUTS"\n',
    '/big.yaml': 'x'.repeat(2048),
  };
  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = served[req.url ?? ''];
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    repo = await loadRepository(FORMS);
    expect(repo.issues).toEqual([]);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('plans every remote location through the mirrors; a remote values file is fetched while planning', async () => {
    const mirrors = parseMirrors([
      `https://github.com/example-org/legacy/raw/main/charts/legacy-values.yaml=${base}/legacy/values.yaml`,
      `https://github.com/example-org=${base}/gh`,
      `https://raw.githubusercontent.com/example-org/serving/v0.9.0/hack=${base}/serving`,
    ]);
    const plan = await createPlan(repo, { extensions: ['legacy', 'operator', 'tracker'], chartMirrors: mirrors });
    const legacy = plan.extensions.get('legacy')?.install[0] as PlannedHelm;
    expect(legacy.chart?.ref).toBe(`${base}/gh/legacy/raw/main/charts/legacy-0.0.1.tgz`);
    expect(legacy.values).toEqual({ replicas: 2, image: { tag: '1.0' } });
    expect(legacy.waitFor).toEqual([{ kind: 'Pod', all: true, namespace: 'legacy-workloads', timeoutMs: 300_000, name: undefined, selector: undefined, condition: undefined }]);
    expect((plan.extensions.get('tracker')?.install[0] as PlannedHelm).chart?.ref).toBe(`${base}/gh/tracker-extension/raw/main/charts/tracker-0.1.0.tgz`);
    const op = plan.extensions.get('operator');
    expect((op?.install[0] as PlannedManifest).url).toBe(`${base}/gh/operator/releases/download/v0.4.0/operator.yaml`);
    expect((op?.install[0] as PlannedManifest).files).toEqual([]);
    expect((op?.install[1] as PlannedKustomize).dir).toBe(`${base}/gh/operator//config/webapp?ref=v0.4.0`);
    expect((op?.uninstall[2] as PlannedManifest).url).toBe(`${base}/gh/operator/releases/download/v0.4.0/operator.yaml`);
    const serving = await createPlan(repo, { extensions: ['serving'], withDependencies: false, chartMirrors: mirrors });
    expect((serving.extensions.get('serving')?.install[4] as PlannedScript).url).toBe(`${base}/serving/post-install.sh`);
  });

  it('an unreachable remote values file fails the plan with the URL and the --mirror hint', async () => {
    const err = await createPlan(repo, { extensions: ['legacy'], chartMirrors: parseMirrors([`https://github.com/example-org=${base}/missing`]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FusemlError);
    expect((err as FusemlError).code).toBe('NOT_FOUND');
    expect((err as FusemlError).message).toContain('https://github.com/example-org/legacy/raw/main/charts/legacy-values.yaml (mirror');
    expect((err as FusemlError).hint).toContain('--mirror');
  });

  it('fetchRemote bounds the size', async () => {
    await expect(fetchRemote(`${base}/big.yaml`, { maxBytes: 1024 })).rejects.toThrow(/big.yaml: (more than 1024 bytes|2048 bytes; the limit is 1024)/);
    expect((await fetchRemote(`${base}/big.yaml`)).length).toBe(2048);
  });

  it('a remote script is fetched into a private folder and run; a remote manifest reaches kubectl as a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fuseml-forms-run-'));
    try {
      // A stand-in kubectl that records the manifest it is given.
      const fake = join(dir, 'kubectl');
      await writeFile(fake, `#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ "$1" = "-f" ]; then cat "$2" > "${dir}/applied"; fi; shift; done\n`);
      await chmod(fake, 0o755);
      served['/m.yaml'] = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: remote\n';
      const ctx: StepContext = { tools: { helm: 'helm', kubectl: fake }, extension: 'x', env: { PATH: process.env.PATH ?? '' }, secretEnv: {}, secrets: [] };
      const base0 = { id: 's', phase: 'install' as const, namespace: 'x', timeoutMs: 30_000, waitFor: [], digest: '' };
      await manifestRunner.run({ ...base0, type: 'manifest', action: 'apply', files: [], url: `${base}/m.yaml` }, ctx);
      expect(await readFile(join(dir, 'applied'), 'utf8')).toBe(served['/m.yaml']);
      expect(manifestRunner.commands({ ...base0, type: 'manifest', action: 'apply', files: [], url: `${base}/m.yaml` }, ctx.tools)).toEqual([[fake, 'apply', '--namespace', 'x', '-f', `<${base}/m.yaml>`]]);
      expect(kustomizeRunner.commands({ ...base0, type: 'kustomize', action: 'apply', dir: 'https://h/o//c?ref=v1' }, ctx.tools)).toEqual([[fake, 'apply', '--namespace', 'x', '-k', 'https://h/o//c?ref=v1']]);
      const r = await scriptRunner.run({ ...base0, type: 'script', file: 'post-install.sh', args: [], cwd: dir, url: `${base}/serving/post-install.sh` }, ctx);
      expect(r.outputs).toEqual({ domain: 'example.test' });
      // FuseML's scripts call kubectl by name: it is the installer's.
      served['/which.sh'] = '#!/bin/sh\necho "kubectl=$(command -v kubectl)" > "$FUSEML_OUTPUTS"\n';
      const w = await scriptRunner.run({ ...base0, type: 'script', file: 'which.sh', args: [], cwd: dir, url: `${base}/which.sh` }, ctx);
      expect(w.outputs).toEqual({ kubectl: fake });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('gateways and rolerules: generated steps where the cluster allows, warnings where not', () => {
  const planFor = async (names: string[]) => createPlan(await loadRepository(FORMS), { extensions: names, withDependencies: false });

  it('no Istio, no workloads namespace: nothing added, one warning each, naming what is missing', async () => {
    const plan = await planFor(['roles', 'tracker']);
    const before = plan.extensions.get('roles')?.install.length;
    const warnings = addFusemlExtras(plan, { istio: false, workloadsNamespace: false });
    expect(plan.extensions.get('roles')?.install.length).toBe(before);
    expect(warnings).toEqual([
      expect.stringMatching(/^roles: gateways roles not created: the cluster has no Istio/),
      expect.stringMatching(/^roles: rolerules not applied: the workloads namespace fuseml-workloads does not exist/),
      expect.stringMatching(/^tracker: gateways tracker, tracker-minio not created: the cluster has no Istio/),
    ]);
    expect(addFusemlExtras(await planFor(['tracker']), { istio: true, workloadsNamespace: false })).toEqual([expect.stringContaining('--gateway-domain')]);
  });

  it('with Istio, a domain and the workloads namespace: Gateway/VirtualService per namespace, Role + RoleBinding; undone first on uninstall', async () => {
    const plan = await planFor(['roles', 'tracker']);
    expect(addFusemlExtras(plan, { istio: true, workloadsNamespace: true }, { gatewayDomain: 'example.test', workloadsNamespace: 'team-workloads' })).toEqual([]);
    const roles = plan.extensions.get('roles');
    const ids = roles?.install.map((s) => s.id);
    expect(ids?.slice(-2)).toEqual(['fuseml-gateways-fuseml-workloads', 'fuseml-rolerules']);
    expect(roles?.uninstall.slice(0, 2).map((s) => s.id)).toEqual(['undo-fuseml-rolerules', 'undo-fuseml-gateways-fuseml-workloads']);
    expect(roles?.namespaces).toContain('fuseml-workloads');
    const gw = roles?.install.at(-2) as PlannedManifest;
    expect(gw.namespace).toBe('fuseml-workloads');
    expect(gw.files[0]?.content).toContain('hosts:\n        - "*.roles.example.test"');
    expect(gw.files[0]?.content).not.toContain('VirtualService'); // no servicehost: the gateway only
    const role = roles?.install.at(-1) as PlannedManifest;
    expect(role.namespace).toBe('team-workloads');
    expect(role.files[0]?.content).toContain('name: system:serviceaccounts:team-workloads');
    expect(role.files[0]?.content).toMatch(/apiGroups:\n\s+- ""\n\s+resources:\n\s+- configmaps/);
    const tracker = gatewayDocuments((await load('tracker')), 'tracker', 'example.test');
    expect(tracker.map((d) => `${String(d.kind)}/${String((d.metadata as { name: string }).name)}`)).toEqual(['Gateway/tracker-gateway', 'VirtualService/tracker', 'Gateway/tracker-minio-gateway', 'VirtualService/tracker-minio']);
    expect(tracker[3]?.spec).toMatchObject({ hosts: ['tracker-minio.example.test'], http: [{ route: [{ destination: { host: 'tracker-minio', port: { number: 9000 } } }] }] });
    expect(roleDocuments(await load('roles'), 'w')[0]).toMatchObject({ kind: 'Role', metadata: { name: 'fuseml-ext-roles', namespace: 'w' } });
  });
});
