/**
 * `fuseml-installer extensions register|unregister` as a real process, against
 * a real registry process and a real MLflow tracking server (from PyPI).
 * The S3 endpoint is a loopback HTTP server answering like an anonymous S3
 * GET (403): the check only asks that it answers HTTP.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { cli } from '../helpers/cli.js';
import { startRegistry, type RegistryProcess } from '../helpers/registry.js';
import { freePort, startMlflow, type MlflowServer } from './register-mlflow-server.js';

let registry: RegistryProcess;
let mlflow: MlflowServer;
let s3: Server;
let s3Url: string;
let dir: string;
let client: RegistryClient;
let env: Record<string, string>;

const ACCESS = 'AKIAFUSEMLTEST000001';
const SECRET = 'test-secret-key-not-real-0123456789abcdef';

beforeAll(async () => {
  [registry, mlflow] = await Promise.all([startRegistry(), startMlflow()]);
  s3 = createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end('<Error><Code>AccessDenied</Code></Error>');
  });
  await new Promise<void>((r) => s3.listen(0, '127.0.0.1', r));
  s3Url = `http://127.0.0.1:${(s3.address() as { port: number }).port}`;
  dir = await mkdtemp(join(tmpdir(), 'fuseml-register-'));
  await writeFile(join(dir, 'keys.yaml'), `accessKey: ${ACCESS}\nsecretKey: ${SECRET}\n`, { mode: 0o600 });
  client = new RegistryClient({ url: registry.url, token: registry.adminToken });
  env = { FUSEML_REGISTRY_URL: registry.url, FUSEML_REGISTRY_TOKEN: registry.adminToken as string };
}, 25 * 60_000);

afterAll(async () => {
  await Promise.all([registry?.cleanup(), mlflow?.stop(), new Promise((r) => (s3 ? s3.close(r) : r(undefined)))]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const register = (args: string[]) => cli('fuseml-installer', ['extensions', 'register', ...args], { env });

describe('extensions register (manual registration)', () => {
  it('registers an external MLflow after its /health check passes; the record is the installer\'s', async () => {
    const r = await register(['mlflow', '--id', 'mlflow-dev', '--zone', 'lab', '--set', `trackingUrl=${mlflow.url}`, '--set', `s3Endpoint=${s3Url}`, '--values', join(dir, 'keys.yaml')]);
    expect(r.stderr).toMatch(/ok\s+mlflow-tracking\s+\S+\s+GET \/health = 200\s+HTTP 200/);
    expect(r.stderr).toMatch(/ok\s+mlflow-store\s+\S+\s+HTTP reachable\s+HTTP 403/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('registered mlflow-dev: mlflow-tracking (mlflow-tracking, experiment-tracking), mlflow-store (s3, model-store)\n');
    expect(r.stdout + r.stderr).not.toContain(SECRET);

    const rec = await client.getExtension('mlflow-dev', { reveal: true });
    expect(rec).toMatchObject({ id: 'mlflow-dev', product: 'mlflow', zone: 'lab' });
    const [tracking, store] = rec.services ?? [];
    expect(tracking).toMatchObject({ id: 'mlflow-tracking', resource: 'mlflow-tracking', category: 'experiment-tracking' });
    expect(tracking?.endpoints?.map((e) => [e.url, e.type, e.configuration])).toEqual([[mlflow.url, 'internal', { MLFLOW_TRACKING_URI: mlflow.url }]]);
    expect(store).toMatchObject({ id: 'mlflow-store', resource: 's3', category: 'model-store', configuration: { S3_BUCKET: 'mlflow' } });
    expect(store?.endpoints?.[0]?.configuration).toEqual({ MLFLOW_S3_ENDPOINT_URL: s3Url, S3_ENDPOINT_URL: s3Url });
    expect(store?.credentials?.[0]?.configuration).toEqual({ AWS_ACCESS_KEY_ID: ACCESS, AWS_SECRET_ACCESS_KEY: SECRET });
  });

  it('updates the record when registered again (upsert)', async () => {
    const r = await register(['mlflow', '--id', 'mlflow-dev', '--zone', 'lab', '--set', `trackingUrl=${mlflow.url}/`, '--set', `s3Endpoint=${s3Url}`, '--set', 'bucket=runs', '--values', join(dir, 'keys.yaml')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^updated mlflow-dev/);
    const rec = await client.getExtension('mlflow-dev');
    expect(rec.services?.[1]?.configuration).toEqual({ S3_BUCKET: 'runs' });
    expect(rec.services?.[1]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY).toBe('<hidden>');
  });

  it('fails clearly on a closed port and registers nothing, unless --no-check', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const args = ['mlflow', '--id', 'mlflow-closed', '--set', `trackingUrl=${closed}`, '--set', `s3Endpoint=${s3Url}`, '--values', join(dir, 'keys.yaml')];
    const r = await register(args);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`connectivity check failed for mlflow-tracking ${closed}/: connection refused (nothing listens on that port)`);
    expect(r.stderr).toContain('--no-check');
    await expect(client.getExtension('mlflow-closed')).rejects.toMatchObject({ status: 404 });

    const forced = await register([...args, '--no-check']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect((await client.getExtension('mlflow-closed')).services?.[0]?.endpoints?.[0]?.url).toBe(closed);
  });

  it('refuses a server that is not MLflow (no 200 on /health)', async () => {
    const r = await register(['mlflow', '--id', 'not-mlflow', '--set', `trackingUrl=${s3Url}`, '--set', `s3Endpoint=${s3Url}`, '--values', join(dir, 'keys.yaml')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('GET /health answered 403, not 200');
  });

  it('lists every missing value and refuses secrets in --set, before any check or write', async () => {
    const r = await register(['mlflow', '--id', 'incomplete', '--set', 'secretKey=abc-not-echoed']);
    expect(r.exitCode).toBe(3);
    for (const key of ['outputs.trackingUrl', 'outputs.s3Endpoint', 'outputs.accessKey', 'outputs.secretKey']) expect(r.stderr).toContain(key);
    expect(r.stderr).toContain('outputs.secretKey is sensitive and must not be passed in --set');
    expect(r.stderr).not.toContain('abc-not-echoed');
  });

  it('registers an external S3 account (external endpoints) and a plain registration file', async () => {
    const r = await register(['s3', '--id', 'lab-s3', '--endpoint-type', 'external', '--set', `endpoint=${s3Url}`, '--set', 'region=eu-west-1', '--set', 'bucket=datasets', '--values', join(dir, 'keys.yaml')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rec = await client.getExtension('lab-s3', { reveal: true });
    expect(rec.services?.[0]).toMatchObject({ id: 's3', resource: 's3', configuration: { S3_BUCKET: 'datasets', AWS_DEFAULT_REGION: 'eu-west-1' } });
    expect(rec.services?.[0]?.endpoints).toEqual([expect.objectContaining({ url: s3Url, type: 'external', configuration: { S3_ENDPOINT_URL: s3Url } })]);

    const file = join(dir, 'registration.yaml');
    await writeFile(file, `id: team-tracking\nproduct: mlflow\nversion: "2.9"\nservices:\n  - id: mlflow-tracking\n    resource: mlflow-tracking\n    category: experiment-tracking\n    endpoints:\n      - url: "{{ params.url }}"\n        type: external\n        configuration:\n          MLFLOW_TRACKING_URI: "{{ params.url }}"\n`);
    const f = await register(['-f', file, '--set', `url=${mlflow.url}`]);
    expect(f.exitCode, f.stderr).toBe(0);
    expect((await client.getExtension('team-tracking')).services?.[0]?.endpoints?.[0]?.url).toBe(mlflow.url);
  });

  it('registers existing Seldon Core and KServe by their aliases (the Kubernetes API endpoint is not probed)', async () => {
    const s = await register(['seldon', '--id', 'seldon-lab']);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/skipped\s+seldon-core-api\s+https:\/\/kubernetes\.default\.svc\/\s+none\s+in-cluster address/);
    expect((await client.getExtension('seldon-lab')).services?.[0]).toMatchObject({ id: 'seldon-core-api', resource: 'seldon-core-api', category: 'prediction-serving' });
    const k = await register(['kfserving', '--id', 'kserve-lab', '--zone', 'lab']);
    expect(k.exitCode, k.stderr).toBe(0);
    expect(await client.getExtension('kserve-lab')).toMatchObject({ product: 'kserve', zone: 'lab', services: [expect.objectContaining({ id: 'kserve-api', category: 'prediction-serving' })] });
  });

  it('--dry-run prints the record with credentials masked and writes nothing', async () => {
    const r = await register(['mlflow', '--id', 'dry', '--no-check', '--dry-run', '--set', `trackingUrl=${mlflow.url}`, '--set', `s3Endpoint=${s3Url}`, '--values', join(dir, 'keys.yaml')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('AWS_SECRET_ACCESS_KEY: "***"');
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).not.toContain(ACCESS);
    await expect(client.getExtension('dry')).rejects.toMatchObject({ status: 404 });
  });

  it('unregisters by id; an unknown id is an error unless --ignore-missing', async () => {
    const u = await cli('fuseml-installer', ['extensions', 'unregister', 'mlflow-dev'], { env });
    expect(u.exitCode, u.stderr).toBe(0);
    await expect(client.getExtension('mlflow-dev')).rejects.toMatchObject({ status: 404 });
    const again = await cli('fuseml-installer', ['extensions', 'unregister', 'mlflow-dev'], { env });
    expect(again.exitCode).toBe(4);
    expect(again.stderr).toContain('"mlflow-dev" is not registered');
    expect((await cli('fuseml-installer', ['extensions', 'unregister', 'mlflow-dev', '--ignore-missing'], { env })).exitCode).toBe(0);
  });
});
