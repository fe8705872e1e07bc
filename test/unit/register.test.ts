/** Manual registration: inputs → the same record the installer renders; every problem reported at once. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import type { Extension, RegistrationManifest } from '../../src/core/extension.js';
import { DEFAULT_REPOSITORY, loadRepository } from '../../src/descriptor/repository.js';
import { fileExtension, manualRegistration, parseAssignments, valuesInputs, type Input } from '../../src/registration/manual.js';
import { displayUrl } from '../../src/core/redact.js';
import { probeRecord } from '../../src/registration/probe.js';

async function ext(name: string): Promise<Extension> {
  return (await loadRepository(DEFAULT_REPOSITORY)).get(name) as Extension;
}
const set = (entries: string[]): Input[] => parseAssignments(entries, '--set').inputs;
const file = (doc: unknown): Input[] => valuesInputs(doc, 'values.yaml').inputs;

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.issues.map((i) => i.message);
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('manual registration', () => {
  it('lists every missing value at once (outputs an install would have read, and parameters)', async () => {
    const mlflow = await ext('mlflow');
    const missing = issuesOf(() => manualRegistration(mlflow, []));
    expect(missing).toHaveLength(4);
    expect(missing.join('\n')).toMatch(/outputs\.accessKey[^\n]*\[sensitive\]/);
    for (const o of ['trackingUrl', 's3Endpoint', 'secretKey']) expect(missing.join('\n')).toContain(`outputs.${o}`);
  });

  it('refuses sensitive values in --set, without echoing them', async () => {
    const mlflow = await ext('mlflow');
    const messages = issuesOf(() =>
      manualRegistration(mlflow, [...set(['trackingUrl=http://m:5000', 's3Endpoint=http://s:9000', 'secretKey=TOPSECRET']), ...file({ accessKey: 'AK' })]),
    );
    expect(messages.some((m) => m.includes('outputs.secretKey is sensitive'))).toBe(true);
    expect(messages.join('\n')).not.toContain('TOPSECRET');
  });

  it('renders the installer\'s record from the values; value outputs come from the parameters', async () => {
    const mlflow = await ext('mlflow');
    const { record, secrets } = manualRegistration(
      mlflow,
      [...set(['trackingUrl=https://mlflow.example.com', 'outputs.s3Endpoint=https://minio.example.com', 'bucket=models']), ...file({ outputs: { accessKey: 'AK', secretKey: 'SK' } })],
      { id: 'mlflow-prod', zone: 'eu', endpointType: 'external' },
    );
    expect(secrets.sort()).toEqual(['AK', 'SK']);
    expect(record).toMatchObject({ id: 'mlflow-prod', zone: 'eu', product: 'mlflow', status: { installed: false } });
    const [tracking, store] = record.services ?? [];
    expect(tracking?.endpoints).toEqual([{ url: 'https://mlflow.example.com', type: 'external', configuration: { MLFLOW_TRACKING_URI: 'https://mlflow.example.com' } }]);
    expect(store?.configuration).toEqual({ S3_BUCKET: 'models' });
    expect(store?.credentials?.[0]?.configuration).toEqual({ AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' });
  });

  it('types parameters and rejects unknown or ambiguous keys', async () => {
    const s3 = await ext('s3');
    const messages = issuesOf(() => manualRegistration(s3, [...set(['persistence=maybe', 'nope=1', 'endpoint=http://x']), ...file({ accessKey: 'a', secretKey: 'b' })]));
    expect(messages).toEqual([expect.stringContaining('parameter persistence expects a value of type boolean'), expect.stringContaining('unknown key "nope"')]);
    // A key naming both a parameter and an output is ambiguous.
    const both = { ...s3, outputs: { ...s3.outputs, region: { value: 'x' } } };
    expect(issuesOf(() => manualRegistration(both, set(['region=x'])))[0]).toContain('write params.region or outputs.region');
  });

  it('--set-env reads values from the environment and reports unset variables', () => {
    const r = parseAssignments(['secretKey=MY_SK', 'accessKey=UNSET_VAR_X'], '--set-env', { MY_SK: 'from-env' });
    expect(r.inputs).toEqual([{ key: 'secretKey', value: 'from-env', source: '--set-env' }]);
    expect(r.issues[0]?.message).toContain('"UNSET_VAR_X"');
  });

  it('registers a plain registration file, rendering its references from the values', () => {
    const manifest: RegistrationManifest = {
      product: 'minio',
      services: [{ id: 's3', resource: 's3', endpoints: [{ url: '{{ params.url }}', type: 'external' }], credentials: [{ id: 'c', scope: 'global', configuration: { AWS_SECRET_ACCESS_KEY: '{{ outputs.secret }}' } }] }],
    };
    const inputs = [...set(['url=https://minio.lab']), ...file({ 'outputs.secret': 'S' })];
    const e = fileExtension(manifest, 'reg.yaml', inputs, 'lab-minio');
    const { record, secrets } = manualRegistration(e, inputs);
    expect(record.id).toBe('lab-minio');
    expect(record.services?.[0]?.endpoints?.[0]?.url).toBe('https://minio.lab');
    expect(secrets).toEqual(['S']);
  });
});

describe('connectivity probes', () => {
  it('skip in-cluster addresses and the Kubernetes API, and never print user info', async () => {
    const results = await probeRecord({
      id: 'x',
      services: [
        { id: 'a', endpoints: [{ url: 'http://mlflow.mlflow.svc.cluster.local:5000', type: 'internal' }] },
        { id: 'b', endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal' }] },
      ],
    });
    expect(results.map((r) => r.state)).toEqual(['skipped', 'skipped']);
    expect(displayUrl('https://user:pw@host:9000/p?x=1')).toBe('https://host:9000/p');
  });
});
