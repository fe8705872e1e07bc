/**
 * The shipped external-only gcs extension: manual registration renders its record
 * (the key only from a file / values / env, never --set), install refuses it; and
 * the file-key rule (a configuration key VAR.EXT): the binding Secret holds the
 * key under that name, the step gets VAR = the path of that file, in the resolver's
 * env and in every rendered engine, never the key itself.
 */
import { describe, expect, it } from 'vitest';
import { FusemlError, ValidationError } from '../../src/core/errors.js';
import { isExternalOnly, type Extension } from '../../src/core/extension.js';
import type { ExtensionRecord } from '../../src/core/records.js';
import { bindingFilePath, fileKey, generatedEnv, resolveWorkflow } from '../../src/core/resolve.js';
import type { Workflow } from '../../src/core/workflow.js';
import { loadRepository } from '../../src/descriptor/repository.js';
import { createPlan } from '../../src/installer/plan.js';
import { manualRegistration, parseAssignments, type Input } from '../../src/registration/manual.js';
import { bindingSecrets } from '../../src/workflow/binding.js';
import { renderEnv } from '../../src/workflow/env.js';
import { renderWorkflow } from '../../src/workflow/render/index.js';

const KEY = JSON.stringify({ type: 'service_account', project_id: 'ml-prod', private_key: '-----BEGIN PRIVATE KEY-----\nSECRET-gcs-1\n-----END PRIVATE KEY-----\n' });

async function gcs(): Promise<Extension> {
  const repo = await loadRepository();
  expect(repo.issues).toEqual([]);
  return repo.get('gcs') as Extension;
}

function record(): Promise<ExtensionRecord> {
  return gcs().then((ext) => {
    const inputs: Input[] = [
      ...parseAssignments(['bucket=models', 'project=ml-prod'], '--set').inputs,
      { key: 'serviceAccountKey', value: KEY, source: '--set-file' },
    ];
    return manualRegistration(ext, inputs, { id: 'gcs-models' }).record;
  });
}

const workflow: Workflow = {
  name: 'gcs-train',
  steps: [{ name: 'trainer', image: 'trainer:1', extensions: [{ name: 'store', product: 'gcs', service_resource: 'gcs' }] }],
};

describe('gcs: an external-only extension', () => {
  it('has no install steps; install refuses it and points at extensions register', async () => {
    const ext = await gcs();
    expect(isExternalOnly(ext)).toBe(true);
    const repo = await loadRepository();
    const err = await createPlan(repo, { extensions: ['gcs'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FusemlError);
    expect(err).toMatchObject({ code: 'USAGE', message: 'gcs is external only (no install steps): nothing to install' });
    expect((err as FusemlError).hint).toContain('fuseml-installer extensions register gcs');
  });

  it('manual registration: bucket and project as configuration, the key as the credentials file key', async () => {
    const rec = await record();
    expect(rec).toMatchObject({ id: 'gcs-models', product: 'gcs', version: '1' });
    expect(rec.services).toEqual([
      {
        id: 'gcs',
        resource: 'gcs',
        category: 'object-storage',
        description: 'Google Cloud Storage API',
        auth_required: true,
        configuration: { GCS_BUCKET: 'models', GOOGLE_CLOUD_PROJECT: 'ml-prod' },
        endpoints: [{ url: 'https://storage.googleapis.com', type: 'external' }],
        credentials: [{ id: 'default', scope: 'global', default: true, configuration: { 'GOOGLE_APPLICATION_CREDENTIALS.json': KEY } }],
      },
    ]);
  });

  it('the key is refused in --set, and every missing value is listed', async () => {
    const ext = await gcs();
    let err: unknown;
    try {
      manualRegistration(ext, parseAssignments(['serviceAccountKey={}'], '--set').inputs);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const messages = (err as ValidationError).issues.map((i) => i.message).join('\n');
    expect(messages).toContain('params.serviceAccountKey is sensitive and must not be passed in --set');
    expect(messages).toContain('--set-file serviceAccountKey=PATH');
    expect(messages).toMatch(/missing value for manual registration of gcs: params\.bucket/);
    expect(messages).toMatch(/missing value for manual registration of gcs: params\.project/);
  });
});

describe('file keys: the key reaches the step as a file and GOOGLE_APPLICATION_CREDENTIALS', () => {
  it('fileKey / bindingFilePath', () => {
    expect(fileKey('GOOGLE_APPLICATION_CREDENTIALS.json')).toEqual({ env: 'GOOGLE_APPLICATION_CREDENTIALS', extension: 'json' });
    expect(fileKey('AWS_ACCESS_KEY_ID')).toBeUndefined();
    expect(fileKey('a.b.c')).toBeUndefined();
    expect(bindingFilePath('store', 'GOOGLE_APPLICATION_CREDENTIALS.json')).toBe('/bindings/store/GOOGLE_APPLICATION_CREDENTIALS.json');
  });

  it('resolver: GOOGLE_APPLICATION_CREDENTIALS is the path of the binding file, not secret; the key is never in the env', async () => {
    const resolution = resolveWorkflow(workflow, { project: 'A' }, [await record()]);
    const step = resolution.steps[0];
    expect(step?.env).toEqual({
      GCS_BUCKET: 'models',
      GOOGLE_CLOUD_PROJECT: 'ml-prod',
      GOOGLE_APPLICATION_CREDENTIALS: '/bindings/store/GOOGLE_APPLICATION_CREDENTIALS.json',
      FUSEML_EXT_STORE_URL: 'https://storage.googleapis.com',
      FUSEML_EXT_STORE_GCS_BUCKET: 'models',
      FUSEML_EXT_STORE_GOOGLE_CLOUD_PROJECT: 'ml-prod',
      FUSEML_EXT_STORE_GOOGLE_APPLICATION_CREDENTIALS: '/bindings/store/GOOGLE_APPLICATION_CREDENTIALS.json',
    });
    expect(step?.secret_env).toEqual([]);
    expect(renderEnv(resolution)).toContain("GOOGLE_APPLICATION_CREDENTIALS='/bindings/store/GOOGLE_APPLICATION_CREDENTIALS.json'");
    expect(generatedEnv(step?.choices ?? []).find((g) => g.key === 'GOOGLE_APPLICATION_CREDENTIALS')?.from).toEqual({ kind: 'file', key: 'GOOGLE_APPLICATION_CREDENTIALS.json' });
  });

  it('binding Secret: holds the key under GOOGLE_APPLICATION_CREDENTIALS.json (the file of the mount)', async () => {
    const resolution = resolveWorkflow(workflow, { project: 'A' }, [await record()]);
    const [secret] = bindingSecrets(resolution);
    expect(secret?.name).toBe('gcs-train-trainer-store');
    expect(secret?.type).toBe('servicebinding.io/gcs');
    expect(secret?.stringData['GOOGLE_APPLICATION_CREDENTIALS.json']).toBe(KEY);
    expect(secret?.stringData).toMatchObject({ GCS_BUCKET: 'models', GOOGLE_CLOUD_PROJECT: 'ml-prod', uri: 'https://storage.googleapis.com' });
  });

  for (const engine of ['job', 'argo', 'tekton'] as const) {
    it(`${engine}: the Secret is mounted at /bindings/store and GOOGLE_APPLICATION_CREDENTIALS points at the file in it`, async () => {
      const resolution = resolveWorkflow(workflow, { project: 'A' }, [await record()]);
      const r = renderWorkflow(engine, { workflow, resolution, namespace: 'team-a' });
      const text = JSON.stringify(r.objects);
      expect(text).not.toContain('SECRET-gcs-1');
      const containers: { env?: { name: string; value?: string; valueFrom?: unknown }[]; volumeMounts?: { mountPath: string }[] }[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === 'object') {
          const o = v as Record<string, unknown>;
          if (Array.isArray(o.env) && (o.image !== undefined || o.volumeMounts !== undefined)) containers.push(o as (typeof containers)[number]);
          Object.values(o).forEach(walk);
        }
      };
      walk(r.objects);
      const c = containers.find((x) => x.env?.some((e) => e.name === 'GOOGLE_APPLICATION_CREDENTIALS'));
      expect(c, `${engine}: a container with GOOGLE_APPLICATION_CREDENTIALS`).toBeDefined();
      expect(c?.env?.find((e) => e.name === 'GOOGLE_APPLICATION_CREDENTIALS')).toEqual({ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/bindings/store/GOOGLE_APPLICATION_CREDENTIALS.json' });
      expect(c?.env?.find((e) => e.name === 'GCS_BUCKET')?.valueFrom).toEqual({ secretKeyRef: { name: 'gcs-train-trainer-store', key: 'GCS_BUCKET' } });
      expect(c?.env?.some((e) => e.name.endsWith('.json'))).toBe(false);
      expect(c?.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/bindings/store' }));
    });
  }
});
