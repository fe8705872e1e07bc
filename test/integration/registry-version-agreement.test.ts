/**
 * `GET /extensions?version=X` and a workflow requirement `version: X` select the same records (one matcher,
 * src/core/version.ts), for generated X, on a real server with the SQLite store (issue 11). The Kubernetes
 * store runs the same check in test/e2e/registry-kubernetes-store.test.ts.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';
import { checkAgreement, registerVersions } from '../helpers/version-agreement.js';

let reg: RegistryProcess;
beforeAll(async () => {
  reg = await startRegistry();
  await registerVersions({ url: reg.url, token: reg.adminToken! }, 'vq', 'vq-resource');
}, 60_000);
afterAll(async () => {
  await reg?.cleanup();
});

test('query and requirement select the same records for generated selectors (SQLite)', async () => {
  const r = await checkAgreement({ url: reg.url, token: reg.adminToken! }, 'vq', 150);
  expect(r.cases).toBe(150);
  // the generator reaches every outcome: malformed, empty and non-empty selections
  expect(r.invalid).toBeGreaterThan(0);
  expect(r.nonEmpty).toBeGreaterThan(10);
}, 120_000);

test('a malformed range is exit 3 from the fuseml CLI', async () => {
  const r = await runFuseml(['extension', 'list', '--version', '>=1.0,<'], { url: reg.url, token: reg.adminToken });
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toMatch(/is not a version or a version range/);
  const ok = await runFuseml(['extension', 'list', '--version', '1.19', '-o', 'json'], { url: reg.url, token: reg.adminToken });
  expect(ok.exitCode).toBe(0);
  expect((JSON.parse(ok.stdout) as { version: string }[]).map((e) => e.version).sort()).toEqual(['1.19', '1.19.2']);
}, 60_000);
