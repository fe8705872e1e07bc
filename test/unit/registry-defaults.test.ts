/**
 * One default instance per product and service resource (issue 7): marking a
 * service default, by any write route, clears the mark on the other instances
 * of the same product and resource — and only there. Real SQLite on a temp file.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';

let dir: string;
let store: SqliteStore;
let registry: Registry;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-defaults-'));
  store = new SqliteStore({ path: join(dir, 'r.db'), key: randomBytes(32) });
  registry = new Registry(store);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const mlflow = (id: string, isDefault: boolean): ExtensionRecord => ({
  id,
  product: 'mlflow',
  services: [
    { id: 'mlflow-tracking', resource: 'mlflow-tracking', category: 'experiment-tracking', ...(isDefault ? { default: true } : {}) },
    { id: 'mlflow-store', resource: 's3', category: 'model-store', ...(isDefault ? { default: true } : {}) },
  ],
});

/** Which instances are default, per resource. */
async function defaults(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const r of await registry.listExtensions({})) {
    for (const s of r.services ?? []) if (s.default) (out[s.resource ?? ''] ??= []).push(r.id);
  }
  return out;
}

describe('default instance per product + resource', () => {
  test('creating a new default clears the old one, per resource', async () => {
    await registry.createExtension(mlflow('mlflow-dev', true));
    await registry.createExtension(mlflow('mlflow-prod', false));
    expect(await defaults()).toEqual({ 'mlflow-tracking': ['mlflow-dev'], s3: ['mlflow-dev'] });

    await registry.upsertExtension('mlflow-prod', mlflow('mlflow-prod', true));
    expect(await defaults()).toEqual({ 'mlflow-tracking': ['mlflow-prod'], s3: ['mlflow-prod'] });
    const dev = await registry.getExtension('mlflow-dev');
    expect(dev.revision).toBe(2); // the clearing is a real write, visible to If-Match users
  });

  test('updating one service to default clears only that resource elsewhere', async () => {
    await registry.createExtension(mlflow('mlflow-dev', true));
    await registry.createExtension(mlflow('mlflow-prod', false));
    await registry.updateService('mlflow-prod', 'mlflow-store', { default: true });
    expect(await defaults()).toEqual({ 'mlflow-tracking': ['mlflow-dev'], s3: ['mlflow-prod'] });
  });

  test('adding a default service clears the others', async () => {
    await registry.createExtension(mlflow('mlflow-dev', true));
    await registry.createExtension({ id: 'mlflow-test', product: 'mlflow' });
    await registry.addService('mlflow-test', { id: 'tracking', resource: 'mlflow-tracking', default: true });
    expect(await defaults()).toEqual({ 'mlflow-tracking': ['mlflow-test'], s3: ['mlflow-dev'] });
  });

  test('other products and other resources keep their defaults', async () => {
    await registry.createExtension(mlflow('mlflow-dev', true));
    await registry.createExtension({ id: 'minio', product: 's3', services: [{ id: 'bucket', resource: 's3', default: true }] });
    await registry.createExtension(mlflow('mlflow-prod', true));
    expect(await defaults()).toEqual({ 'mlflow-tracking': ['mlflow-prod'], s3: ['minio', 'mlflow-prod'] });
  });

  test('changing the product of an extension applies the rule in its new product', async () => {
    await registry.createExtension(mlflow('mlflow-dev', true));
    await registry.createExtension({ ...mlflow('other', true), product: 'mlflow-fork' });
    expect(await defaults()).toEqual({ 'mlflow-tracking': ['mlflow-dev', 'other'], s3: ['mlflow-dev', 'other'] });
    await registry.updateExtension('other', { product: 'mlflow' });
    expect(await defaults()).toEqual({ 'mlflow-tracking': ['other'], s3: ['other'] });
  });
});
