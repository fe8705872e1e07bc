import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { resolveWorkflow, type Resolution } from '../../src/core/resolve.js';
import { bindingName, bindingSecrets, bindingSelector, dnsLabel, labelValue, wellKnownEntries } from '../../src/workflow/binding.js';
import { run } from '../../src/exec/index.js';
import { renderEnv, shellQuote } from '../../src/workflow/env.js';

const records: ExtensionRecord[] = [
  {
    id: 'mlflow-0001',
    product: 'mlflow',
    services: [
      {
        id: 'mlflow-tracking',
        resource: 'mlflow-tracking',
        endpoints: [{ url: 'http://mlflow.fuseml-ext.svc:5000', type: 'internal', configuration: { MLFLOW_TRACKING_URI: 'http://mlflow.fuseml-ext.svc:5000' } }],
      },
      {
        id: 'mlflow-store',
        resource: 's3',
        endpoints: [{ url: 'https://minio.example', type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: 'https://minio.example' } }],
        credentials: [{ id: 'default', scope: 'global', configuration: { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: "it's $ecret" } }],
      },
    ],
  },
];

function resolved(): Resolution {
  return resolveWorkflow(
    {
      name: 'mlflow-e2e',
      steps: [
        {
          name: 'trainer',
          extensions: [
            { name: 'tracking', service_resource: 'mlflow-tracking' },
            { name: 'store', service_resource: 's3' },
          ],
        },
        { name: 'noop' },
      ],
    },
    { project: 'A' },
    records,
  );
}

describe('bindingSecrets', () => {
  it('projects each step requirement as a servicebinding.io Secret with well-known and native keys', () => {
    const secrets = bindingSecrets(resolved());
    expect(secrets.map((s) => [s.name, s.type])).toEqual([
      ['mlflow-e2e-trainer-tracking', 'servicebinding.io/mlflow-tracking'],
      ['mlflow-e2e-trainer-store', 'servicebinding.io/s3'],
    ]);
    expect(secrets[0]?.stringData).toEqual({
      type: 'mlflow-tracking',
      provider: 'mlflow',
      uri: 'http://mlflow.fuseml-ext.svc:5000',
      host: 'mlflow.fuseml-ext.svc',
      port: '5000',
      MLFLOW_TRACKING_URI: 'http://mlflow.fuseml-ext.svc:5000',
    });
    expect(secrets[1]?.stringData).toEqual({
      type: 's3',
      provider: 'mlflow',
      uri: 'https://minio.example',
      host: 'minio.example',
      port: '443',
      username: 'AKIA',
      password: "it's $ecret",
      MLFLOW_S3_ENDPOINT_URL: 'https://minio.example',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: "it's $ecret",
    });
    expect(secrets[1]?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'fuseml',
      'fuseml.io/workflow': 'mlflow-e2e',
      'fuseml.io/step': 'trainer',
      'fuseml.io/requirement': 'store',
    });
    expect(secrets[1]?.annotations).toMatchObject({ 'fuseml.io/extension': 'mlflow-0001', 'fuseml.io/service': 'mlflow-store', 'fuseml.io/credentials': 'default', 'fuseml.io/project': 'A' });
    expect(bindingSelector('mlflow-e2e')).toBe('app.kubernetes.io/managed-by=fuseml,fuseml.io/workflow=mlflow-e2e');
    expect(bindingSelector('mlflow-e2e', 'trainer')).toBe('app.kubernetes.io/managed-by=fuseml,fuseml.io/workflow=mlflow-e2e,fuseml.io/step=trainer');
  });

  it('well-known keys: user info in the URL, non-URL endpoints, ambiguous credential keys', () => {
    const base = { requirement: 'r', extension_id: 'e', service_id: 's', endpoint_type: 'internal' as const, reasons: [] };
    expect(wellKnownEntries({ ...base, url: 'postgres://bob:p%40ss@db:5432/x', configuration: {}, secret_keys: [] })).toMatchObject({ host: 'db', port: '5432', username: 'bob', password: 'p@ss', provider: 'e', type: 'unknown' });
    expect(wellKnownEntries({ ...base, url: 'bucket-name', configuration: {}, secret_keys: [] })).toEqual({ type: 'unknown', provider: 'e', uri: 'bucket-name' });
    const two = wellKnownEntries({ ...base, url: 'http://h', configuration: { A_TOKEN: '1', B_TOKEN: '2' }, secret_keys: ['A_TOKEN', 'B_TOKEN'] });
    expect(two.password).toBeUndefined();
  });

  it('names are DNS-1123 labels, distinct when shortened; label values valid', () => {
    expect(bindingName('WF', 'Step_1', 'mlflow.store')).toMatch(/^wf-step-1-mlflow-store-[0-9a-f]{8}$/);
    const long = 'x'.repeat(80);
    expect(bindingName(long, 'a', 'b')).not.toBe(bindingName(long, 'a', 'c'));
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (w, s, r) => {
        const n = bindingName(w, s, r);
        return n.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n);
      }),
    );
    fc.assert(fc.property(fc.string(), (v) => /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(labelValue(v)) && labelValue(v).length <= 63));
    expect(dnsLabel('ok-name')).toBe('ok-name');
  });
});

describe('renderEnv', () => {
  it('prints sorted KEY=\'value\' lines per step, one header per step when several', () => {
    const r = resolved();
    const all = renderEnv(r);
    expect(all.startsWith('# step trainer\nAWS_ACCESS_KEY_ID=\'AKIA\'\nAWS_SECRET_ACCESS_KEY=\'it\'\\\'\'s $ecret\'\n')).toBe(true);
    expect(renderEnv(r, 'trainer')).not.toContain('#');
    expect(renderEnv(r, 'noop')).toBe('');
    expect(() => renderEnv(r, 'nope')).toThrow(/no step nope/);
  });

  it('refuses keys that are not shell names', () => {
    const r = resolved();
    (r.steps[0] as { env: Record<string, string> }).env['a;rm -rf x'] = 'v';
    expect(() => renderEnv(r)).toThrow(/not shell names/);
  });

  it('property: the shell reads back exactly the quoted value', async () => {
    const values = fc.sample(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')), 40);
    const script = values.map((v, i) => `V${i}=${shellQuote(v)}; printf '%s\\0' "$V${i}"`).join('\n');
    const { stdout } = await run('/bin/sh', ['-s'], { input: script, timeoutMs: 10_000 });
    expect(stdout.split('\0').slice(0, -1)).toEqual(values);
  });
});
