/** The built `fuseml` CLI against a real registry process. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const SECRET = `planted-${randomToken()}`;
const readerToken = randomToken();
let reg: RegistryProcess;
let dir: string;

const fuseml = (args: string[], o: { token?: string | null; env?: Record<string, string> } = {}) =>
  runFuseml(args, { url: reg.url, token: o.token === null ? undefined : (o.token ?? reg.adminToken), env: o.env });

beforeAll(async () => {
  reg = await startRegistry({ config: `tokens:\n  - { name: viewer, role: reader, token: ${readerToken} }\n` });
  dir = await mkdtemp(join(tmpdir(), 'fuseml-cli-'));
  await writeFile(
    join(dir, 'mlflow.yaml'),
    `id: mlflow
product: mlflow
version: 1.20.2
description: MLflow tracking and model store
services:
  - id: mlflow-tracking
    resource: mlflow-tracking
    category: experiment-tracking
    endpoints:
      - url: http://mlflow.mlflow.svc:5000
        type: internal
        configuration:
          MLFLOW_TRACKING_URI: http://mlflow.mlflow.svc:5000
`,
  );
});
afterAll(async () => {
  await reg?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('fuseml extension … against a real registry', () => {
  test('register, list (table, json, yaml), get, update, delete', async () => {
    const r = await fuseml(['extension', 'register', '-f', join(dir, 'mlflow.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Extension mlflow registered \(revision 1\)/);

    const dup = await fuseml(['extension', 'register', '-f', join(dir, 'mlflow.yaml')]);
    expect(dup.exitCode).toBe(5); // CONFLICT
    expect(dup.stderr).toMatch(/409 extension mlflow already exists/);

    const up = await fuseml(['extension', 'register', '--upsert', '-f', join(dir, 'mlflow.yaml')]);
    expect(up.stdout).toMatch(/Extension mlflow updated \(revision 1\)/);

    const table = await fuseml(['extension', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+PRODUCT\s+VERSION\s+ZONE\s+SERVICES\s+HEALTH\s+REVISION$/);
    expect(table.stdout).toMatch(/mlflow\s+mlflow\s+1\.20\.2\s+mlflow-tracking\s+-\s+1/);
    const json = JSON.parse((await fuseml(['extension', 'list', '--product', 'mlflow', '-o', 'json'])).stdout);
    expect(json[0].id).toBe('mlflow');
    expect(JSON.parse((await fuseml(['extension', 'list', '--version', '>=2', '-o', 'json'])).stdout)).toEqual([]);
    expect((await fuseml(['extension', 'list', '--service-resource', 'nope'])).stdout).toBe('No extensions found.\n');
    const yaml = parse((await fuseml(['extension', 'get', 'mlflow', '-o', 'yaml'])).stdout);
    expect(yaml.services[0].endpoints[0].url).toBe('http://mlflow.mlflow.svc:5000');

    const upd = await fuseml(['extension', 'update', 'mlflow', '--zone', 'dev', '--if-match', '1', '-o', 'json']);
    expect(JSON.parse(upd.stdout)).toMatchObject({ zone: 'dev', revision: 2 });
    const stale = await fuseml(['extension', 'update', 'mlflow', '--zone', 'prod', '--if-match', '1']);
    expect(stale.exitCode).toBe(5);
    expect(stale.stderr).toMatch(/412/);
    expect(stale.stderr).toMatch(/Hint: the record changed/);
  });

  test('service, endpoint and credentials add / list / delete; secrets only with --show-secrets', async () => {
    expect((await fuseml(['extension', 'service', 'add', 'mlflow', '--id', 'mlflow-store', '--resource', 's3', '--category', 'model-store'])).exitCode).toBe(0);
    expect((await fuseml(['extension', 'service', 'list', 'mlflow'])).stdout).toMatch(/mlflow-store\s+s3\s+model-store/);
    expect((await fuseml(['extension', 'endpoint', 'add', 'mlflow', 'mlflow-store', 'http://minio:9000', '--type', 'internal'])).exitCode).toBe(0);
    expect((await fuseml(['extension', 'endpoint', 'list', 'mlflow', 'mlflow-store'])).stdout).toMatch(/http:\/\/minio:9000\s+internal/);

    const add = await fuseml(
      ['extension', 'credentials', 'add', 'mlflow', 'mlflow-store', '--id', 's3', '--default', '--from-env', 'AWS_SECRET_ACCESS_KEY=S3_SECRET', '-o', 'json'],
      { env: { S3_SECRET: SECRET } },
    );
    expect(add.exitCode).toBe(0);
    expect(add.stdout).not.toContain(SECRET);
    expect(JSON.parse(add.stdout).configuration.AWS_SECRET_ACCESS_KEY).toBe('<hidden>');

    const masked = await fuseml(['extension', 'credentials', 'list', 'mlflow', 'mlflow-store']);
    expect(masked.stdout).toMatch(/s3\s+global\s+yes/);
    expect(masked.stdout).not.toContain(SECRET);
    expect((await fuseml(['extension', 'get', 'mlflow', '-o', 'json'])).stdout).not.toContain(SECRET);
    expect((await fuseml(['extension', 'credentials', 'list', 'mlflow', 'mlflow-store', '--show-secrets'])).stdout).toContain(SECRET);

    const reader = await fuseml(['extension', 'credentials', 'list', 'mlflow', 'mlflow-store', '--show-secrets'], { token: readerToken });
    expect(reader.exitCode).toBe(12); // FORBIDDEN
    expect(reader.stderr).toMatch(/403 role reader may not read credential values/);
    expect(reader.stdout + reader.stderr).not.toContain(SECRET);

    // update verbs (fuseml-core's CLI has them too); only the key given changes
    const upd = await fuseml(
      ['extension', 'credentials', 'update', 'mlflow', 'mlflow-store', 's3', '--scope', 'project', '--project', 'team-a', '--project', 'team-b', '--from-env', 'AWS_ACCESS_KEY_ID=KEY_ID', '-o', 'json'],
      { env: { KEY_ID: 'minio-admin' } },
    );
    expect(upd.stderr).toBe('');
    expect(JSON.parse(upd.stdout)).toMatchObject({ scope: 'project', projects: ['team-a', 'team-b'] });
    const both = JSON.parse((await fuseml(['extension', 'credentials', 'list', 'mlflow', 'mlflow-store', '--show-secrets', '-o', 'json'])).stdout);
    expect(both[0].configuration).toEqual({ AWS_SECRET_ACCESS_KEY: SECRET, AWS_ACCESS_KEY_ID: 'minio-admin' });
    expect(JSON.parse((await fuseml(['extension', 'service', 'update', 'mlflow', 'mlflow-store', '--desc', 'artifacts', '--auth-required', 'true', '-o', 'json'])).stdout)).toMatchObject({
      description: 'artifacts',
      auth_required: true,
    });
    expect(
      JSON.parse((await fuseml(['extension', 'endpoint', 'update', 'mlflow', 'mlflow-store', 'http://minio:9000', '-c', 'MLFLOW_S3_ENDPOINT_URL:http://minio:9000', '-o', 'json'])).stdout)
        .configuration,
    ).toEqual({ MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000' });

    // Each record's revision is in its own output, not in the output of the record it is nested in: --if-match
    // takes the one `… get` of that record shows.
    const ext = parse((await fuseml(['extension', 'get', 'mlflow', '-o', 'yaml'])).stdout);
    expect(ext.revision).toEqual(expect.any(Number));
    expect(ext.services.map((x: object) => 'revision' in x)).toEqual([false, false]);
    const svc = parse((await fuseml(['extension', 'service', 'get', 'mlflow', 'mlflow-store'])).stdout);
    expect(svc.revision).toEqual(expect.any(Number));
    expect('revision' in svc.endpoints[0] || 'revision' in svc.credentials[0]).toBe(false);
    const cred = parse((await fuseml(['extension', 'credentials', 'get', 'mlflow', 'mlflow-store', 's3'])).stdout);
    expect(cred).toMatchObject({ id: 's3', revision: 2, configuration: { AWS_SECRET_ACCESS_KEY: '<hidden>' } });
    const staleCred = await fuseml(['extension', 'credentials', 'update', 'mlflow', 'mlflow-store', 's3', '--project', 'team-c', '--if-match', '1']);
    expect(staleCred.exitCode).toBe(5);
    const okCred = await fuseml(['extension', 'credentials', 'update', 'mlflow', 'mlflow-store', 's3', '--project', 'team-c', '--if-match', String(cred.revision), '-o', 'json']);
    expect(okCred.stderr).toBe('');
    expect(JSON.parse(okCred.stdout)).toMatchObject({ projects: ['team-c'], revision: 3 });
    // The change moved the service's and the extension's revisions: shown by their own get.
    expect(parse((await fuseml(['extension', 'service', 'get', 'mlflow', 'mlflow-store'])).stdout).revision).toBe(svc.revision + 1);
    expect(parse((await fuseml(['extension', 'get', 'mlflow', '-o', 'yaml'])).stdout).revision).toBe(ext.revision + 1);
    const ep = parse((await fuseml(['extension', 'endpoint', 'get', 'mlflow', 'mlflow-store', 'http://minio:9000'])).stdout);
    expect(ep).toMatchObject({ url: 'http://minio:9000', revision: 2 });
    expect((await fuseml(['extension', 'endpoint', 'update', 'mlflow', 'mlflow-store', 'http://minio:9000', '-t', 'external', '--if-match', String(ep.revision)])).exitCode).toBe(0);
    expect((await fuseml(['extension', 'credentials', 'get', 'mlflow', 'mlflow-store', 'nope'])).exitCode).toBe(4);

    expect((await fuseml(['extension', 'credentials', 'delete', 'mlflow', 'mlflow-store', 's3'])).stdout).toMatch(/deleted/);
    expect((await fuseml(['extension', 'endpoint', 'delete', 'mlflow', 'mlflow-store', 'http://minio:9000'])).exitCode).toBe(0);
    expect((await fuseml(['extension', 'service', 'delete', 'mlflow', 'mlflow-store'])).exitCode).toBe(0);
    expect((await fuseml(['extension', 'service', 'list', 'mlflow'])).stdout).not.toMatch(/mlflow-store/);
  });

  test('extension add from flags (fuseml-core style -p/-z/-c KEY:VALUE)', async () => {
    const r = await fuseml(['extension', 'add', '--id', 'seldon', '-p', 'seldon-core', '--version', '1.11.0', '-z', 'dev', '--desc', 'Seldon Core', '-c', 'api_version:v1', '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'seldon', product: 'seldon-core', zone: 'dev', description: 'Seldon Core', configuration: { api_version: 'v1' } });
    expect((await fuseml(['extension', 'list', '-p', 'seldon-core', '-z', 'dev'])).stdout).toMatch(/seldon\s+seldon-core\s+1\.11\.0\s+dev/);
    expect((await fuseml(['extension', 'delete', 'seldon'])).exitCode).toBe(0);
  });

  test('errors: not found, no token, unreachable registry, delete', async () => {
    const nf = await fuseml(['extension', 'get', 'nope']);
    expect(nf.exitCode).toBe(4);
    expect(nf.stderr).toMatch(/404 extension nope not found/);
    const anon = await fuseml(['extension', 'list'], { token: null });
    expect(anon.exitCode).toBe(12);
    expect(anon.stderr).toMatch(/401/);
    const down = await runFuseml(['extension', 'list'], { url: 'http://127.0.0.1:1' });
    expect(down.exitCode).toBe(9); // REGISTRY
    expect(down.stderr).toMatch(/cannot connect/);
    expect((await fuseml(['extension', 'delete', 'mlflow'])).stdout).toBe('Extension mlflow deleted.\n');
    expect((await fuseml(['extension', 'delete', 'mlflow'])).exitCode).toBe(4);
  });
});
