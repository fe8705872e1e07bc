import { displayUrl } from '../../src/core/redact.js';
import { describe, expect, it } from 'vitest';
import type { CredentialsRecord, ExtensionRecord, ServiceRecord } from '../../src/core/records.js';
import {
  envToken,
  maskResolution,
  prefixedEnvName,
  ResolutionError,
  resolveWorkflow,
  scopeAllows,
  secretValues,
  versionMatches,
  type ResolveContext,
} from '../../src/core/resolve.js';
import type { ExtensionRequirement, Workflow } from '../../src/core/workflow.js';

// --- builders -------------------------------------------------------------

function tracking(id: string, url: string, extra: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    id: 'mlflow-tracking',
    resource: 'mlflow-tracking',
    category: 'experiment-tracking',
    endpoints: [{ url, type: 'internal', configuration: { MLFLOW_TRACKING_URI: url } }],
    ...extra,
  };
}

function store(url: string, credentials: CredentialsRecord[], extra: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    id: 'mlflow-store',
    resource: 's3',
    category: 'model-store',
    auth_required: true,
    endpoints: [{ url, type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: url } }],
    credentials,
    ...extra,
  };
}

function creds(id: string, scope: CredentialsRecord['scope'], key: string, more: Partial<CredentialsRecord> = {}): CredentialsRecord {
  return { id, scope, configuration: { AWS_ACCESS_KEY_ID: `${key}-id`, AWS_SECRET_ACCESS_KEY: `${key}-secret` }, ...more };
}

function mlflow(id: string, opts: { zone?: string; default?: boolean; credentials?: CredentialsRecord[]; version?: string } = {}): ExtensionRecord {
  const base = `http://${id}`;
  return {
    id,
    product: 'mlflow',
    version: opts.version ?? '1.19.0',
    zone: opts.zone,
    services: [
      tracking(id, `${base}:5000`, { default: opts.default }),
      store(`${base}-minio:9000`, opts.credentials ?? [creds('default', 'global', id)], { default: opts.default }),
    ],
  };
}

function wf(...requirements: ExtensionRequirement[][]): Workflow {
  return { name: 'wf', steps: requirements.map((extensions, i) => ({ name: `step${i}`, image: 'img', extensions })) };
}

const A: ResolveContext = { project: 'A' };

function resolutionError(fn: () => unknown): ResolutionError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ResolutionError) return err;
    throw err;
  }
  throw new Error('expected a ResolutionError');
}

function expectProblem(fn: () => unknown, pattern: RegExp): void {
  const err = resolutionError(fn);
  expect(err.problems.map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(pattern)]));
}

// --- tests ----------------------------------------------------------------

describe('resolveWorkflow: the happy path', () => {
  it('picks the only match and builds native + FUSEML_EXT_ env, and records the choice', () => {
    const r = resolveWorkflow(
      wf([
        { name: 'mlflow-tracking', product: 'mlflow', service_resource: 'mlflow-tracking' },
        { name: 'mlflow-store', product: 'mlflow', service_resource: 's3' },
      ]),
      A,
      [mlflow('mlflow-0001')],
    );
    const step = r.steps[0];
    expect(step?.env).toEqual({
      MLFLOW_TRACKING_URI: 'http://mlflow-0001:5000',
      MLFLOW_S3_ENDPOINT_URL: 'http://mlflow-0001-minio:9000',
      AWS_ACCESS_KEY_ID: 'mlflow-0001-id',
      AWS_SECRET_ACCESS_KEY: 'mlflow-0001-secret',
      FUSEML_EXT_MLFLOW_TRACKING_URL: 'http://mlflow-0001:5000',
      FUSEML_EXT_MLFLOW_TRACKING_MLFLOW_TRACKING_URI: 'http://mlflow-0001:5000',
      FUSEML_EXT_MLFLOW_STORE_URL: 'http://mlflow-0001-minio:9000',
      FUSEML_EXT_MLFLOW_STORE_MLFLOW_S3_ENDPOINT_URL: 'http://mlflow-0001-minio:9000',
      FUSEML_EXT_MLFLOW_STORE_AWS_ACCESS_KEY_ID: 'mlflow-0001-id',
      FUSEML_EXT_MLFLOW_STORE_AWS_SECRET_ACCESS_KEY: 'mlflow-0001-secret',
    });
    expect(step?.secret_env).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'FUSEML_EXT_MLFLOW_STORE_AWS_ACCESS_KEY_ID',
      'FUSEML_EXT_MLFLOW_STORE_AWS_SECRET_ACCESS_KEY',
    ]);
    expect(step?.choices.map((c) => [c.requirement, c.extension_id, c.service_id, c.url, c.credentials_id ?? null])).toEqual([
      ['mlflow-tracking', 'mlflow-0001', 'mlflow-tracking', 'http://mlflow-0001:5000', null],
      ['mlflow-store', 'mlflow-0001', 'mlflow-store', 'http://mlflow-0001-minio:9000', 'default'],
    ]);
    expect(step?.choices[0]?.reasons).toContain('only match');
    expect(r).toMatchObject({ workflow: 'wf', project: 'A' });
  });

  it('a step without requirements resolves to its own env only', () => {
    const r = resolveWorkflow({ name: 'w', steps: [{ name: 's', env: [{ name: 'X', value: '1' }] }] }, A, []);
    expect(r.steps[0]?.env).toEqual({ X: '1' });
  });

  it('merges configuration service < endpoint < credentials', () => {
    const ext: ExtensionRecord = {
      id: 'x',
      services: [
        {
          id: 's',
          configuration: { K: 'service', S: 'service' },
          endpoints: [{ url: 'http://x', type: 'internal', configuration: { K: 'endpoint', E: 'endpoint' } }],
          credentials: [{ id: 'c', scope: 'global', configuration: { K: 'creds' } }],
        },
      ],
    };
    const r = resolveWorkflow(wf([{ name: 'x' }]), A, [ext]);
    expect(r.steps[0]?.choices[0]?.configuration).toEqual({ K: 'creds', S: 'service', E: 'endpoint' });
    expect(r.steps[0]?.choices[0]?.secret_keys).toEqual(['K']);
  });
});

describe('selectors', () => {
  const seldon: ExtensionRecord = {
    id: 'seldon-core',
    product: 'seldon-core',
    version: '1.11.2',
    services: [{ id: 'seldon-core-api', resource: 'seldon-core-api', category: 'prediction-serving', endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal' }] }],
  };
  const kserve: ExtensionRecord = {
    id: 'kserve',
    product: 'kserve',
    version: '0.7.0',
    services: [{ id: 'kserve-api', resource: 'kserve-api', category: 'prediction-serving', endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal' }] }],
  };
  const serving = wf([{ name: 'predictor', service_category: 'prediction-serving' }]);

  it('category-based requirements are portable: Seldon here, KServe there', () => {
    expect(resolveWorkflow(serving, A, [seldon, mlflow('m')]).steps[0]?.choices[0]?.extension_id).toBe('seldon-core');
    expect(resolveWorkflow(serving, A, [kserve, mlflow('m')]).steps[0]?.choices[0]?.extension_id).toBe('kserve');
  });

  it('with both and no default the requirement is ambiguous and lists both', () => {
    const err = resolutionError(() => resolveWorkflow(serving, A, [seldon, kserve]));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatchObject({ kind: 'ambiguous', candidates: ['seldon-core/seldon-core-api', 'kserve/kserve-api'], pointer: '/steps/0/extensions/0' });
    expect(err.message).toContain('1 problem');
    expect(err.hint).toContain('default');
  });

  it('matches extension_id, service_id, product, resource, category and zone exactly', () => {
    const exts = [mlflow('dev', { zone: 'z1' }), mlflow('prod', { zone: 'z1' })];
    const ctx = { project: 'A', zone: 'z1' };
    const pick = (req: Omit<ExtensionRequirement, 'name'>) => resolveWorkflow(wf([{ name: 'r', ...req }]), ctx, exts).steps[0]?.choices[0];
    expect(pick({ extension_id: 'prod', service_id: 'mlflow-store' })?.url).toBe('http://prod-minio:9000');
    expect(pick({ extension_id: 'dev', service_category: 'experiment-tracking' })?.url).toBe('http://dev:5000');
    expectProblem(() => pick({ extension_id: 'dev', product: 'kserve' }), /no registered service matches extension_id=dev, product=kserve/);
    expectProblem(() => pick({ extension_id: 'dev', zone: 'z2' }), /no registered service matches/);
  });

  it('matches versions exactly or by semver range', () => {
    const exts = [mlflow('old', { version: '1.19.0' }), mlflow('new', { version: '2.3.1' })];
    const pick = (version: string) => resolveWorkflow(wf([{ name: 'r', version, service_resource: 's3' }]), A, exts).steps[0]?.choices[0]?.extension_id;
    expect(pick('1.19.0')).toBe('old');
    expect(pick('>=1.0,<1.20')).toBe('old');
    expect(pick('^2')).toBe('new');
    expect(pick('2.3')).toBe('new');
    expectProblem(() => pick('>=3'), /version=>=3/);
  });
});

describe('versionMatches', () => {
  it('handles exact strings, ranges with commas, partial and odd versions', () => {
    expect(versionMatches('1.19.0', '1.19.0')).toBe(true);
    expect(versionMatches('1.0.5', '>=1.0,<1.1')).toBe(true);
    expect(versionMatches('1.1.0', '>=1.0, <1.1')).toBe(false);
    expect(versionMatches('v1.2', '^1.2.0')).toBe(true);
    expect(versionMatches('nightly', 'nightly')).toBe(true);
    expect(versionMatches('nightly', '>=1')).toBe(false);
    expect(versionMatches(undefined, '1')).toBe(false);
    expect(versionMatches('1.0.0', 'not a range')).toBe(false);
  });
});

describe('zone first', () => {
  it('prefers the service in the caller zone, through its internal endpoint', () => {
    const local = mlflow('local', { zone: 'edge' });
    const remote = mlflow('remote', { zone: 'cloud' });
    for (const svc of remote.services ?? []) svc.endpoints?.push({ url: `https://${svc.id}.cloud.example`, type: 'external' });
    const r = resolveWorkflow(wf([{ name: 't', service_resource: 'mlflow-tracking' }]), { project: 'A', zone: 'edge' }, [remote, local]);
    expect(r.steps[0]?.choices[0]).toMatchObject({ extension_id: 'local', endpoint_type: 'internal', url: 'http://local:5000' });
    expect(r.steps[0]?.choices[0]?.reasons).toContain('same zone (internal endpoint)');
  });

  it('uses the external endpoint of a service in another zone, even over a default with only internal ones', () => {
    const remote = mlflow('remote', { zone: 'cloud' });
    for (const svc of remote.services ?? []) svc.endpoints?.push({ url: `https://${svc.id}.cloud.example`, type: 'external', configuration: { MLFLOW_TRACKING_URI: 'https://ext' } });
    const unreachable = mlflow('other', { zone: 'elsewhere', default: true });
    const r = resolveWorkflow(wf([{ name: 't', service_resource: 'mlflow-tracking' }]), { project: 'A', zone: 'edge' }, [unreachable, remote]);
    expect(r.steps[0]?.choices[0]).toMatchObject({ extension_id: 'remote', endpoint_type: 'external', url: 'https://mlflow-tracking.cloud.example' });
    expect(r.steps[0]?.env.MLFLOW_TRACKING_URI).toBe('https://ext');
  });

  it('a service with only internal endpoints in another zone is a near miss, explained', () => {
    const err = resolutionError(() =>
      resolveWorkflow(wf([{ name: 't', service_resource: 'mlflow-tracking' }]), { project: 'A', zone: 'edge' }, [mlflow('far', { zone: 'cloud' })]),
    );
    expect(err.problems[0]?.message).toMatch(/no usable service matches service_resource=mlflow-tracking: far\/mlflow-tracking: only internal endpoints, and it is in zone cloud \(caller: zone edge\)/);
  });

  it('without a caller zone, zones are no criterion: internal endpoints anywhere are used', () => {
    const r = resolveWorkflow(wf([{ name: 't', service_resource: 'mlflow-tracking' }]), A, [mlflow('far', { zone: 'cloud' })]);
    expect(r.steps[0]?.choices[0]).toMatchObject({ endpoint_type: 'internal', reasons: expect.arrayContaining(['no zone given (internal endpoint)']) });
    expect(() => resolveWorkflow(wf([{ name: 't', service_resource: 'mlflow-tracking' }]), A, [mlflow('a', { zone: 'z1' }), mlflow('b', { zone: 'z2' })])).toThrow(ResolutionError);
  });

  it('in-zone service without an internal endpoint uses its external one', () => {
    const ext = mlflow('m');
    const svc = ext.services?.[0] as ServiceRecord;
    svc.endpoints = [{ url: 'https://public', type: 'external' }];
    expect(resolveWorkflow(wf([{ name: 't', service_resource: 'mlflow-tracking' }]), A, [ext]).steps[0]?.choices[0]?.url).toBe('https://public');
  });

  it('a service without endpoints is a near miss', () => {
    const ext: ExtensionRecord = { id: 'e', services: [{ id: 's', resource: 'r' }] };
    expectProblem(() => resolveWorkflow(wf([{ name: 'r', service_resource: 'r' }]), A, [ext]), /e\/s: no endpoints registered/);
  });
});

describe('default instance', () => {
  it('dev/prod MLflow: the default wins, an explicit extension_id picks the other', () => {
    const exts = [mlflow('mlflow-dev'), mlflow('mlflow-prod', { default: true })];
    const req = { name: 'tracking', product: 'mlflow', service_resource: 'mlflow-tracking' };
    const r = resolveWorkflow(wf([req]), A, exts);
    expect(r.steps[0]?.choices[0]).toMatchObject({ extension_id: 'mlflow-prod', reasons: expect.arrayContaining(['default instance']) });
    expect(r.steps[0]?.env.MLFLOW_TRACKING_URI).toBe('http://mlflow-prod:5000');
    const dev = resolveWorkflow(wf([{ ...req, extension_id: 'mlflow-dev' }]), A, exts);
    expect(dev.steps[0]?.env.MLFLOW_TRACKING_URI).toBe('http://mlflow-dev:5000');
  });

  it('without a default, two instances are ambiguous and the message lists both with their URLs', () => {
    const err = resolutionError(() =>
      resolveWorkflow(wf([{ name: 'tracking', product: 'mlflow', service_resource: 'mlflow-tracking' }]), A, [mlflow('mlflow-dev'), mlflow('mlflow-prod')]),
    );
    expect(err.problems[0]?.message).toBe(
      'step step0, requirement tracking: 2 services match product=mlflow, service_resource=mlflow-tracking equally well and none is the default: mlflow-dev/mlflow-tracking (http://mlflow-dev:5000/), mlflow-prod/mlflow-tracking (http://mlflow-prod:5000/)',
    );
  });

  it('two defaults are as ambiguous as none', () => {
    expect(() =>
      resolveWorkflow(wf([{ name: 't', service_resource: 'mlflow-tracking' }]), A, [mlflow('a', { default: true }), mlflow('b', { default: true })]),
    ).toThrow(ResolutionError);
  });
});

describe('credentials and scopes', () => {
  const s3 = (credentials: CredentialsRecord[]): ExtensionRecord => ({
    id: 's3-acct',
    product: 's3',
    services: [store('https://s3.example', credentials, { id: 's3', default: undefined })],
  });
  const req = wf([{ name: 'store', service_resource: 's3' }]);

  it('project-scoped credentials are seen by their project only', () => {
    const ext = s3([creds('team-a', 'project', 'a', { projects: ['A'] })]);
    expect(resolveWorkflow(req, A, [ext]).steps[0]?.choices[0]).toMatchObject({ credentials_id: 'team-a', credentials_scope: 'project' });
    const err = resolutionError(() => resolveWorkflow(req, { project: 'B' }, [ext]));
    expect(err.problems[0]?.message).toContain('s3-acct/s3: no credentials usable by project B');
    expect(err.message).not.toContain('a-secret');
  });

  it('project over global, user over project', () => {
    const ext = s3([
      creds('shared', 'global', 'g', { default: true }),
      creds('team-a', 'project', 'a', { projects: ['A'] }),
      creds('alice', 'user', 'u', { users: ['alice'] }),
    ]);
    expect(resolveWorkflow(req, { project: 'B' }, [ext]).steps[0]?.choices[0]?.credentials_id).toBe('shared');
    expect(resolveWorkflow(req, { project: 'A' }, [ext]).steps[0]?.choices[0]?.credentials_id).toBe('team-a');
    expect(resolveWorkflow(req, { project: 'A', user: 'bob' }, [ext]).steps[0]?.choices[0]?.credentials_id).toBe('team-a');
    const alice = resolveWorkflow(req, { project: 'A', user: 'alice' }, [ext]).steps[0];
    expect(alice?.choices[0]).toMatchObject({ credentials_id: 'alice', credentials_scope: 'user' });
    expect(alice?.env.AWS_SECRET_ACCESS_KEY).toBe('u-secret');
  });

  it('user-scoped credentials restricted to projects need both', () => {
    const c = creds('alice-a', 'user', 'u', { users: ['alice'], projects: ['A'] });
    expect(scopeAllows(c, { project: 'A', user: 'alice' })).toBe(true);
    expect(scopeAllows(c, { project: 'B', user: 'alice' })).toBe(false);
    expect(scopeAllows(c, { project: 'A' })).toBe(false);
  });

  it('within one scope the default credentials win; several without default are ambiguous', () => {
    const two = [creds('one', 'global', '1'), creds('two', 'global', '2')];
    const err = resolutionError(() => resolveWorkflow(req, A, [s3(two)]));
    expect(err.problems[0]).toMatchObject({ kind: 'ambiguous-credentials', candidates: ['one', 'two'] });
    expect(err.problems[0]?.message).toContain('2 global-scoped credentials usable by project A and none is the default: one, two');
    const withDefault = [creds('one', 'global', '1'), creds('two', 'global', '2', { default: true })];
    expect(resolveWorkflow(req, A, [s3(withDefault)]).steps[0]?.choices[0]?.reasons).toContain('global-scoped credentials (default)');
  });

  it('credentials whose values are hidden from the caller are not used', () => {
    const hidden = creds('h', 'global', 'h');
    hidden.configuration = { AWS_ACCESS_KEY_ID: '<hidden>', AWS_SECRET_ACCESS_KEY: '<hidden>' };
    expectProblem(() => resolveWorkflow(req, A, [s3([hidden])]), /no credentials usable/);
  });

  it('a service that does not require auth resolves without credentials', () => {
    const ext = s3([creds('team-a', 'project', 'a', { projects: ['A'] })]);
    (ext.services?.[0] as ServiceRecord).auth_required = false;
    const r = resolveWorkflow(req, { project: 'B' }, [ext]);
    expect(r.steps[0]?.choices[0]?.credentials_id).toBeUndefined();
    expect(r.steps[0]?.env.AWS_ACCESS_KEY_ID).toBeUndefined();
  });

  it('a service that only has credentials for others ranks below none (skipped), not ambiguous', () => {
    const mine = s3([creds('team-b', 'project', 'b', { projects: ['B'] })]);
    const theirs: ExtensionRecord = { ...s3([creds('team-a', 'project', 'a', { projects: ['A'] })]), id: 's3-other' };
    expect(resolveWorkflow(req, { project: 'B' }, [theirs, mine]).steps[0]?.choices[0]?.extension_id).toBe('s3-acct');
  });

  it('credentials specificity breaks a tie between instances', () => {
    const shared: ExtensionRecord = { ...s3([creds('g', 'global', 'g')]), id: 's3-shared' };
    const team = s3([creds('team-a', 'project', 'a', { projects: ['A'] })]);
    expect(resolveWorkflow(req, A, [shared, team]).steps[0]?.choices[0]?.extension_id).toBe('s3-acct');
    expectProblem(() => resolveWorkflow(req, { project: 'C' }, [shared, { ...team, services: [store('https://x', [creds('g2', 'global', 'x')], { id: 's3' })] }]), /equally well/);
  });
});

describe('env naming and collisions', () => {
  it('envToken upper-cases and maps non-alphanumerics to _', () => {
    expect(envToken('mlflow-store')).toBe('MLFLOW_STORE');
    expect(envToken('s3.v2 x')).toBe('S3_V2_X');
    expect(prefixedEnvName('s3-storage', 'aws.key')).toBe('FUSEML_EXT_S3_STORAGE_AWS_KEY');
  });

  it('two requirements setting the same native key differently: error naming both, no values', () => {
    const exts = [mlflow('dev'), mlflow('prod')];
    const err = resolutionError(() =>
      resolveWorkflow(
        wf([
          { name: 'dev-store', extension_id: 'dev', service_resource: 's3' },
          { name: 'prod-store', extension_id: 'prod', service_resource: 's3' },
        ]),
        A,
        exts,
      ),
    );
    const kinds = err.problems.map((p) => p.kind);
    expect(kinds.every((k) => k === 'env-collision')).toBe(true);
    const keys = err.problems.map((p) => p.message.match(/ set (\S+) to/)?.[1]).sort();
    expect(keys).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'MLFLOW_S3_ENDPOINT_URL']);
    expect(err.problems[0]?.message).toContain('requirement prod-store (prod/mlflow-store) and requirement dev-store (dev/mlflow-store)');
    for (const v of ['dev-secret', 'prod-secret', 'dev-id', 'prod-id']) expect(JSON.stringify(err.problems)).not.toContain(v);
  });

  it('two requirements agreeing on a native key are fine', () => {
    const r = resolveWorkflow(
      wf([
        { name: 'a', service_id: 'mlflow-store' },
        { name: 'b', service_category: 'model-store' },
      ]),
      A,
      [mlflow('m')],
    );
    expect(r.steps[0]?.env.FUSEML_EXT_A_URL).toBe(r.steps[0]?.env.FUSEML_EXT_B_URL);
  });

  it('requirement names that map to the same prefix are rejected', () => {
    const err = resolutionError(() => resolveWorkflow(wf([{ name: 'a-b', service_id: 'mlflow-store' }, { name: 'a_b', service_id: 'mlflow-tracking' }]), A, [mlflow('m')]));
    expect(err.problems.some((p) => p.message.includes('a_b and a-b both map to FUSEML_EXT_A_B_'))).toBe(true);
  });

  it('duplicate requirement, step and env names are reported', () => {
    const w: Workflow = {
      name: 'w',
      steps: [
        { name: 's', extensions: [{ name: 'x', service_id: 'mlflow-store' }, { name: 'x', service_id: 'mlflow-store' }] },
        { name: 's', env: [{ name: 'E', value: '1' }, { name: 'E', value: '2' }] },
      ],
    };
    const msgs = resolutionError(() => resolveWorkflow(w, A, [mlflow('m')])).problems.map((p) => p.message);
    expect(msgs).toEqual(expect.arrayContaining([expect.stringContaining('requirement name x is used twice'), 'step s: step name is used twice', 'step s: env E is set twice']));
  });
});

describe('step env templates', () => {
  it('renders url and cfg references, passes FuseML run-time references through, and overrides generated keys', () => {
    const w: Workflow = {
      name: 'w',
      steps: [
        {
          name: 'predict',
          extensions: [{ name: 'mlflow-store', product: 'mlflow', service_resource: 's3' }],
          env: [
            { name: 'S3_ENDPOINT', value: '{{ extensions.mlflow-store.cfg.MLFLOW_S3_ENDPOINT_URL }}' },
            { name: 'STORE', value: '{{ extensions.mlflow-store.url }}/bucket' },
            { name: 'KEY', value: '{{ extensions.mlflow-store.cfg.AWS_SECRET_ACCESS_KEY }}' },
            { name: 'MODEL', value: '{{ steps.trainer.outputs.model }}' },
            { name: 'AWS_ACCESS_KEY_ID', value: 'override' },
          ],
        },
      ],
    };
    const step = resolveWorkflow(w, A, [mlflow('m')]).steps[0];
    expect(step?.env).toMatchObject({
      S3_ENDPOINT: 'http://m-minio:9000',
      STORE: 'http://m-minio:9000/bucket',
      KEY: 'm-secret',
      MODEL: '{{ steps.trainer.outputs.model }}',
      AWS_ACCESS_KEY_ID: 'override',
    });
    expect(step?.secret_env).toContain('KEY');
    expect(step?.secret_env).not.toContain('AWS_ACCESS_KEY_ID');
    expect(step?.secret_env).not.toContain('STORE');
  });

  it('reports every bad reference of every step at once, with pointers', () => {
    const w: Workflow = {
      name: 'w',
      steps: [
        {
          name: 'a',
          extensions: [{ name: 'store', service_resource: 's3' }],
          env: [
            { name: 'X', value: '{{ extensions.nope.url }} {{ extensions.store.cfg.MISSING }}' },
            { name: 'Y', value: '{{ params.p }}' },
          ],
        },
        { name: 'b', extensions: [{ name: 'gone', product: 'none' }], env: [{ name: 'Z', value: '{{ extensions.gone.url }}' }] },
      ],
    };
    const err = resolutionError(() => resolveWorkflow(w, A, [mlflow('m')], { source: 'wf.yaml' }));
    expect(err.problems.map((p) => [p.kind, p.pointer])).toEqual([
      ['template', '/steps/0/env/0/value'],
      ['template', '/steps/0/env/0/value'],
      ['template', '/steps/0/env/1/value'],
      ['no-match', '/steps/1/extensions/0'],
    ]);
    expect(err.problems[0]?.message).toContain('the step has no requirement named nope (known: store)');
    expect(err.problems[1]?.message).toContain('has no configuration key MISSING (known: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MLFLOW_S3_ENDPOINT_URL)');
    expect(err.problems[2]?.message).toContain('known roots: extensions, inputs, steps');
    expect(err.issues[0]).toMatchObject({ file: 'wf.yaml', pointer: '/steps/0/env/0/value' });
    expect(err.message).toBe('workflow resolution failed: 4 problems');
  });
});

describe('output helpers', () => {
  it('maskResolution hides exactly the secret values; secretValues lists them', () => {
    const r = resolveWorkflow(wf([{ name: 's', service_resource: 's3' }]), A, [mlflow('m')]);
    const masked = maskResolution(r);
    expect(masked.steps[0]?.env.AWS_SECRET_ACCESS_KEY).toBe('<hidden>');
    expect(masked.steps[0]?.env.MLFLOW_S3_ENDPOINT_URL).toBe('http://m-minio:9000');
    expect(masked.steps[0]?.choices[0]?.configuration.AWS_ACCESS_KEY_ID).toBe('<hidden>');
    expect(JSON.stringify(masked)).not.toMatch(/m-secret|m-id/);
    expect(secretValues(r).sort()).toEqual(['m-id', 'm-secret']);
    expect(r.steps[0]?.env.AWS_SECRET_ACCESS_KEY).toBe('m-secret');
  });

  it('displayUrl drops user info and query', () => {
    expect(displayUrl('https://u:p@host:9000/path?token=x')).toBe('https://host:9000/path');
    expect(displayUrl('not a url?x=1')).toBe('not a url');
  });
});
