/** The shipped extensions: every folder validates, names and aliases resolve, and the records they register are FuseML's. */
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Extension, HelmStep } from '../../src/core/extension.js';
import { DEFAULT_REPOSITORY, loadRepository } from '../../src/descriptor/repository.js';
import { renderRegistration } from '../../src/installer/registration.js';

const defaults = (ext: Extension): Record<string, string | number | boolean> =>
  Object.fromEntries(Object.entries(ext.parameters).flatMap(([k, p]) => (p.default === undefined ? [] : [[k, p.default]])));

describe('shipped extensions', () => {
  it('every folder validates, with no issue at all', async () => {
    const repo = await loadRepository(DEFAULT_REPOSITORY);
    expect(repo.issues).toEqual([]);
    expect([...repo.extensions.keys()]).toEqual(['fuseml-registry', 'gcs', 'kserve', 'mlflow', 's3', 'seldon-core']);
  });

  it('fuseml-registry registers nothing (it is the registry) and tells how to reach it through its outputs', async () => {
    const repo = await loadRepository(DEFAULT_REPOSITORY);
    const ext = repo.get('fuseml-registry') as Extension;
    expect(ext.registration).toBeUndefined();
    expect(renderRegistration(ext, defaults(ext), {})).toBeUndefined();
    expect(ext.namespace).toBe('{{ params.namespace }}');
    expect(ext.outputs.url?.service).toEqual({ name: 'fuseml-registry', port: 'http' });
    expect(ext.outputs.portForward?.value).toBe('kubectl port-forward -n {{ extension.namespace }} svc/fuseml-registry 8000:8000');
    expect(defaults(ext)).toMatchObject({ namespace: 'fuseml-registry', replicas: 2 });
  });

  it('resolves the names users know: seldon and kfserving are aliases, not copies', async () => {
    const repo = await loadRepository(DEFAULT_REPOSITORY);
    expect(repo.get('seldon')?.name).toBe('seldon-core');
    expect(repo.get('kfserving')?.name).toBe('kserve');
    expect(repo.get('mlflow')?.name).toBe('mlflow');
  });

  it('mlflow registers mlflow-tracking and mlflow-store with FuseML ids, resources, categories and keys', async () => {
    const repo = await loadRepository(DEFAULT_REPOSITORY);
    const ext = repo.get('mlflow') as Extension;
    const outputs = {
      trackingUrl: 'http://mlflow.mlflow.svc.cluster.local:5000',
      s3Endpoint: 'http://mlflow-minio.mlflow.svc.cluster.local:9000',
      accessKey: 'AK',
      secretKey: 'SK',
    };
    const rec = renderRegistration(ext, defaults(ext), outputs);
    expect(rec?.id).toBe('mlflow');
    expect(rec?.product).toBe('mlflow');
    expect(rec?.version).toBe(ext.version);
    const [tracking, store] = rec?.services ?? [];
    expect(tracking).toMatchObject({ id: 'mlflow-tracking', resource: 'mlflow-tracking', category: 'experiment-tracking' });
    expect(tracking?.endpoints).toEqual([{ url: outputs.trackingUrl, type: 'internal', configuration: { MLFLOW_TRACKING_URI: outputs.trackingUrl } }]);
    expect(store).toMatchObject({ id: 'mlflow-store', resource: 's3', category: 'model-store', configuration: { S3_BUCKET: 'mlflow' } });
    expect(store?.endpoints?.[0]?.configuration?.MLFLOW_S3_ENDPOINT_URL).toBe(outputs.s3Endpoint);
    expect(store?.credentials).toEqual([
      { id: 'default', scope: 'global', default: true, configuration: { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' } },
    ]);
  });

  it('mlflow and s3 read their keys from the Secret of the shared MinIO chart', async () => {
    const repo = await loadRepository(DEFAULT_REPOSITORY);
    for (const [name, secret] of [['mlflow', 'mlflow-minio'], ['s3', 's3-minio']] as const) {
      const ext = repo.get(name) as Extension;
      expect(ext.outputs.accessKey?.secret).toEqual({ name: secret, key: 'AWS_ACCESS_KEY_ID' });
      expect(ext.outputs.secretKey?.secret).toEqual({ name: secret, key: 'AWS_SECRET_ACCESS_KEY' });
      // Waits are on Deployments only: Jobs never complete on fake (kwok) nodes.
      expect(ext.install.flatMap((s) => s.waitFor ?? []).every((w) => w.kind === 'Deployment')).toBe(true);
    }
    const chart = parse(await readFile(join(DEFAULT_REPOSITORY, 'mlflow/chart/Chart.yaml'), 'utf8')) as { dependencies: unknown[] };
    expect(chart.dependencies).toEqual([{ name: 'minio', version: '0.1.0', repository: 'file://../../s3/chart' }]);
    // The sub-chart is the s3 chart itself (a link), not a copy of its templates.
    expect(await realpath(join(DEFAULT_REPOSITORY, 'mlflow/chart/charts/minio'))).toBe(await realpath(join(DEFAULT_REPOSITORY, 's3/chart')));
  });

  it('s3 registers resource s3 with the AWS keys, endpoint, bucket and region', async () => {
    const repo = await loadRepository(DEFAULT_REPOSITORY);
    const ext = repo.get('s3') as Extension;
    const rec = renderRegistration(ext, { ...defaults(ext), region: 'eu-west-1' }, { endpoint: 'http://s3-minio.s3.svc.cluster.local:9000', accessKey: 'A', secretKey: 'S' });
    const svc = rec?.services?.[0];
    expect(svc).toMatchObject({ id: 's3', resource: 's3', configuration: { S3_BUCKET: 'fuseml', AWS_DEFAULT_REGION: 'eu-west-1' } });
    expect(svc?.endpoints?.[0]?.configuration).toEqual({ S3_ENDPOINT_URL: 'http://s3-minio.s3.svc.cluster.local:9000' });
    expect(Object.keys(svc?.credentials?.[0]?.configuration ?? {})).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  });

  it('seldon-core and kserve install upstream charts by repository and version and register prediction-serving', async () => {
    const repo = await loadRepository(DEFAULT_REPOSITORY);
    const seldon = repo.get('seldon-core') as Extension;
    expect(seldon.install[0]).toMatchObject({ type: 'helm', repo: 'https://storage.googleapis.com/seldon-charts', chart: 'seldon-core-operator', version: '1.17.1' });
    expect(seldon.install[0]?.waitFor).toEqual([{ kind: 'Deployment', name: 'seldon-controller-manager', condition: 'Available', timeout: '10m' }]);
    expect(seldon.rolerules.some((r) => r.resources?.includes('seldondeployments'))).toBe(true);
    const s = renderRegistration(seldon, defaults(seldon), {});
    expect(s?.services).toEqual([
      expect.objectContaining({ id: 'seldon-core-api', resource: 'seldon-core-api', category: 'prediction-serving', endpoints: [{ url: 'https://kubernetes.default.svc', type: 'internal' }] }),
    ]);

    const kserve = repo.get('kfserving') as Extension;
    const steps = kserve.install as HelmStep[];
    expect(steps.map((st) => [st.release, st.repo, st.chart, st.version])).toEqual([
      ['kserve-crd', 'oci://ghcr.io/kserve/charts', 'kserve-crd', 'v0.15.0'],
      ['kserve', 'oci://ghcr.io/kserve/charts', 'kserve', 'v0.15.0'],
    ]);
    const k = renderRegistration(kserve, defaults(kserve), {});
    expect(k?.services?.[0]).toMatchObject({ id: 'kserve-api', resource: 'kserve-api', category: 'prediction-serving' });
  });
});
