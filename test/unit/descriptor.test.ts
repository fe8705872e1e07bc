import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, symlink, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIssue, type Issue } from '../../src/core/errors.js';
import { checkExtensionDir, loadExtensionDir } from '../../src/descriptor/load.js';
import { loadRepository } from '../../src/descriptor/repository.js';

const FIX = fileURLToPath(new URL('../fixtures/descriptors/', import.meta.url));
const BROKEN = join(FIX, 'broken');

/** Issues of a broken case (a mini repository), as `relative/file:line:col pointer message` lines. */
async function caseIssues(name: string): Promise<string[]> {
  const repo = await loadRepository(join(BROKEN, name));
  return repo.issues.map((i: Issue) => formatIssue({ ...i, file: relative(join(BROKEN, name), i.file) }));
}

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fuseml-desc-'));
  temps.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('valid descriptors', () => {
  it('loads and normalizes a native extension with chart, values, outputs and registration', async () => {
    const ext = await loadExtensionDir(join(FIX, 'valid/alpha'));
    expect(ext).toMatchObject({
      name: 'alpha',
      product: 'alpha-tracker',
      version: '1.2.0',
      namespace: '{{ params.namespace }}',
      format: 'extension.yaml',
      requires: [],
      outputs: { url: { service: { name: 'alpha', port: 'http' } }, token: { secret: { name: 'alpha-auth', key: 'token' } } },
    });
    expect(ext.parameters.adminPassword).toEqual({ type: 'string', sensitive: true });
    expect(ext.install[0]).toMatchObject({ type: 'helm', location: 'chart', values: 'values.yaml', waitFor: [{ kind: 'Deployment', name: 'alpha', condition: 'Available', timeout: '3m' }] });
    expect(ext.registration?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ ALPHA_TOKEN: '{{ outputs.token }}' });
    expect(ext.registrationFile).toBe(join(FIX, 'valid/alpha/registration.yaml'));
  });

  it('loads a repository with requires and no issues', async () => {
    const repo = await loadRepository(join(FIX, 'valid'));
    expect(repo.issues).toEqual([]);
    expect([...repo.extensions.keys()]).toEqual(['alpha', 'beta', 'gamma']);
    expect(repo.get('beta')?.requires).toEqual(['alpha']);
    expect(repo.get('gamma')?.registration).toBeUndefined();
  });
});

describe('FuseML description.yaml loads as-is', () => {
  it('mlflow-like: services become the registration, servicecredentials transforms become Secret outputs', async () => {
    const ext = await loadExtensionDir(join(FIX, 'fuseml/mlflow'));
    expect(ext.format).toBe('description.yaml');
    expect(ext.namespace).toBe('mlflow');
    const out = 'mlflow_store__default_s3_account__AWS_ACCESS_KEY_ID';
    expect(ext.outputs[out]).toEqual({ sensitive: true, secret: { name: 'mlflow-minio', key: 'accesskey', namespace: 'mlflow' } });
    const store = ext.registration?.services?.find((s) => s.id === 'mlflow-store');
    expect(store).toMatchObject({ resource: 's3', category: 'model-store', auth_required: true });
    expect(store?.credentials).toEqual([
      {
        id: 'default-s3-account',
        scope: 'global',
        configuration: {
          AWS_ACCESS_KEY_ID: `{{ outputs.${out} }}`,
          AWS_SECRET_ACCESS_KEY: '{{ outputs.mlflow_store__default_s3_account__AWS_SECRET_ACCESS_KEY }}',
        },
      },
    ]);
    expect(ext.registration?.services?.[0]?.endpoints?.[0]?.configuration).toEqual({ MLFLOW_TRACKING_URI: 'http://mlflow.mlflow' });
    // waitfor (FuseML) → waitFor, kind defaulted, condition capitalized, timeout seconds → duration
    expect(ext.install[0]?.waitFor).toEqual([{ kind: 'Pod', namespace: 'mlflow', selector: 'app.kubernetes.io/name=mlflow', condition: 'Ready', timeout: '300s' }]);
    expect(ext.gateways).toEqual([{ name: 'mlflow', servicehost: 'mlflow', port: 80 }]);
  });

  it('helm-repo one with capitalized keys: waitfor and rolerules kept', async () => {
    const ext = await loadExtensionDir(join(FIX, 'fuseml/seldon'));
    expect(ext.name).toBe('seldon-core');
    expect(ext.install[0]).toMatchObject({
      type: 'helm',
      repo: 'https://storage.googleapis.com/seldon-charts',
      chart: 'seldon-core-operator',
      version: '1.17.1',
      waitFor: [{ kind: 'Deployment', condition: 'Available', timeout: '600s', selector: 'control-plane=seldon-controller-manager' }],
    });
    expect(ext.rolerules).toEqual([{ apigroups: ['machinelearning.seldon.io'], resources: ['seldondeployments'], verbs: ['get', 'list', 'create', 'patch', 'update', 'delete', 'watch'] }]);
    expect(ext.registration?.services).toEqual([
      {
        id: 'seldon-core-api',
        resource: 'seldon-core-api',
        category: 'prediction-serving',
        description: 'Seldon Core machine learning deployment service',
        auth_required: false,
        endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal' }],
      },
    ]);
  });

  it('manifest + kustomize + script one with requires, in a repository with its dependencies', async () => {
    const repo = await loadRepository(join(FIX, 'fuseml'));
    expect(repo.issues).toEqual([]);
    const combo = repo.get('combo');
    expect(combo?.requires).toEqual(['mlflow', 'seldon-core']);
    expect(combo?.install.map((s) => s.type)).toEqual(['manifest', 'kustomize', 'script']);
    expect(combo?.uninstall).toEqual([{ type: 'script', location: 'uninstall.sh' }]);
  });
});

describe('broken descriptors: every problem, at its position', () => {
  it('malformed YAML', async () => {
    expect(await caseIssues('malformed-yaml')).toEqual([expect.stringMatching(/^ext\/extension\.yaml:7:1 invalid YAML: /)]);
  });

  it('duplicate keys', async () => {
    expect(await caseIssues('duplicate-keys')).toEqual(['ext/extension.yaml:4:1 invalid YAML: Map keys must be unique']);
  });

  it('wrong types, all at once', async () => {
    expect(await caseIssues('wrong-type')).toEqual([
      'ext/extension.yaml:3:10 /version must be string, not number',
      'ext/extension.yaml:4:10 /install must be array, not string',
    ]);
  });

  it('unknown fields, at the key', async () => {
    expect(await caseIssues('unknown-field')).toEqual([
      'ext/extension.yaml:4:1 unknown field "instal" (did you mean "install"?)',
      'ext/extension.yaml:10:5 /install/0 unknown field "wait"',
    ]);
  });

  it('missing files', async () => {
    const lines = await caseIssues('missing-file');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ext\/extension\.yaml:6:15 \/install\/0\/location "chart" does not exist in /);
    expect(lines[1]).toMatch(/^ext\/extension\.yaml:7:13 \/install\/0\/values "values.yaml" does not exist in /);
  });

  it('paths that leave the extension folder', async () => {
    expect(await caseIssues('path-escape')).toEqual([
      'ext/extension.yaml:6:15 /install/0/location "../../etc/passwd" leads outside the extension folder',
      'ext/extension.yaml:8:15 /install/1/location "/etc/hosts" must be a path relative to the extension folder',
    ]);
  });

  it('a symlink that leads outside the folder', async () => {
    const dir = await tempDir();
    const ext = join(dir, 'ext');
    await mkdir(ext);
    await writeFile(join(ext, 'extension.yaml'), 'name: ext\nproduct: ext\nversion: "1"\ninstall:\n  - type: script\n    location: run.sh\n');
    await symlink('/bin/sh', join(ext, 'run.sh'));
    const r = await checkExtensionDir(ext);
    expect(r.issues.map((i) => i.message)).toEqual(['"run.sh" is a link that leads outside the extension folder']);
  });

  it('a script that is not executable', async () => {
    expect(await caseIssues('not-executable')).toEqual(['ext/extension.yaml:6:15 /install/0/location "install.sh" is not executable (chmod +x it)']);
  });

  it('names with spaces, quotes and $()', async () => {
    const lines = await caseIssues('bad-name');
    expect(lines).toEqual([
      'ext/extension.yaml:1:7 /name "my ext $(rm -rf /)" must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
      `ext/extension.yaml:4:12 /namespace "it's" must be a DNS-1123 label (or a {{ params.NAME }} reference)`,
      'ext/extension.yaml:5:12 /requires/0 "a b" must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
      'ext/extension.yaml:5:19 /requires/1 "x;y" must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
    ]);
  });

  it('a YAML alias bomb is refused', async () => {
    const lines = await caseIssues('alias-bomb');
    expect(lines).toEqual([expect.stringMatching(/^ext\/extension\.yaml invalid YAML: .*aliases expand to more than 100 nodes/)]);
  });

  it('a 10 MB file is refused before parsing', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'big'));
    await writeFile(join(dir, 'big/extension.yaml'), 'name: big\n' + '# padding\n'.repeat(1024 * 1024));
    const r = await checkExtensionDir(join(dir, 'big'));
    expect(r.issues.map((i) => i.message)).toEqual(['file is 10485770 bytes; the limit is 1048576 bytes']);
  });

  it('a cycle in requires, printed, on each member', async () => {
    expect(await caseIssues('cycle')).toEqual([
      'one/extension.yaml:4:12 /requires/0 dependency cycle: one -> two -> three -> one',
      'two/extension.yaml:4:12 /requires/0 dependency cycle: one -> two -> three -> one',
      'three/extension.yaml:4:12 /requires/0 dependency cycle: one -> two -> three -> one',
    ]);
  });

  it('requires naming an unknown extension', async () => {
    expect(await caseIssues('unknown-requires')).toEqual(['ext/extension.yaml:4:12 /requires/0 requires unknown extension "nosuch" (known: ext)']);
  });

  it('duplicate ids: steps, services, endpoints, credentials, defaults', async () => {
    expect(await caseIssues('duplicate-ids')).toEqual([
      'ext/extension.yaml:9:11 /install/1/name duplicate step name "apply" (also install[0])',
      'ext/registration.yaml:6:14 /services/0/endpoints/1/url duplicate endpoint url "http://a" (also endpoints[0])',
      'ext/registration.yaml:12:13 /services/0/credentials/1/id duplicate credentials id "c" (also credentials[0])',
      'ext/registration.yaml:9:7 /services/0/credentials 2 credentials are marked default; at most one may be',
      'ext/registration.yaml:15:9 /services/1/id duplicate service id "api" (also services[0])',
    ]);
  });

  it('template references that name nothing declared, in descriptor, manifests and registration', async () => {
    expect(await caseIssues('unknown-reference')).toEqual([
      'ext/m.yaml:7:1 {{ params.missing }}: unknown reference: no parameter "missing" is declared (declared: size)',
      'ext/extension.yaml:11:12 /outputs/url/value {{ params.host }}: unknown reference: no parameter "host" is declared (declared: size)',
      'ext/registration.yaml:7:18 /services/0/endpoints/0/configuration/TOKEN {{ outputs.token }}: unknown reference: no output "token" is declared (declared: url)',
      'ext/registration.yaml:8:16 /services/0/endpoints/0/configuration/BAD {{ not a ref }}: not a reference (expected a dotted path like extensions.NAME.url)',
    ]);
  });

  it('a registration record with a bad id, endpoint type and scope', async () => {
    expect(await caseIssues('bad-registration')).toEqual([
      'ext/registration.yaml:2:9 /services/0/id "api/v1" must be an id (letters, digits, "_" and "-", at most 100) or a {{ … }} reference',
      'ext/registration.yaml:5:15 /services/0/endpoints/0/type must be one of: "internal", "external"',
      'ext/registration.yaml:8:16 /services/0/credentials/0/scope must be one of: "global", "project", "user"',
    ]);
  });

  it('semantic rules on parameters and scopes', async () => {
    const dir = await tempDir();
    await cp(join(FIX, 'valid/beta'), join(dir, 'p'), { recursive: true });
    await writeFile(
      join(dir, 'p/extension.yaml'),
      [
        'name: p', 'product: p', 'version: "1"',
        'parameters:',
        '  replicas: {type: integer, default: "two"}',
        '  password: {type: string, sensitive: true, default: hunter2}',
        '  mode: {type: string, enum: [a, b], default: c}',
        'install:', '  - type: manifest', '    location: manifests',
        'outputs:', '  endpoint: {value: "x"}',
      ].join('\n'),
    );
    await writeFile(join(dir, 'p/registration.yaml'), 'services:\n  - id: s\n    credentials:\n      - id: c\n        scope: project\n');
    const r = await checkExtensionDir(join(dir, 'p'));
    expect(r.issues.map((i) => `${i.line}:${i.col} ${i.pointer} ${i.message}`)).toEqual([
      '5:38 /parameters/replicas/default default "two" is not of type integer',
      '6:54 /parameters/password/default a sensitive parameter must not have a default (it would live in the repository)',
      '7:47 /parameters/mode/default default "c" is not one of the enum values',
      '4:9 /services/0/credentials/0 scope "project" needs a non-empty "projects" list',
    ]);
  });
});
