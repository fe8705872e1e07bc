/**
 * Registry guardrails on the local control plane with a real registry process:
 * a refused token fails before any cluster object exists (objects counted), and
 * a record registered by hand survives install and uninstall of the same
 * extension unless --adopt takes it over.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { e2eCluster } from '../helpers/namespace.js';
import { randomToken, startRegistry, type RegistryProcess } from '../helpers/registry.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const rnd = randomBytes(3).toString('hex');
const NS = { c: `e2e-gc-${rnd}`, inst: `e2e-ginst-${rnd}` };
const readerToken = randomToken();

let kubeconfig: string;
let helm: string;
let kubectl: string;
let dir: string;
let registry: RegistryProcess;

beforeAll(async () => {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-guard-'));
  registry = await startRegistry({ config: `tokens:\n  - { name: viewer, role: reader, token: ${readerToken} }\n` });
});

afterAll(async () => {
  await cli('fuseml-installer', ['--extensions-repository', REPO, 'uninstall', '--all', '--yes', '--no-register', '--installer-namespace', NS.inst], { env: env(), timeoutMs: 240_000 }).catch(() => undefined);
  await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', '--ignore-not-found', '--wait=false', NS.c, NS.inst], { allowFailure: true });
  await registry?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_STATE_DIR: dir, FUSEML_CONFIG_DIR: join(dir, 'config'), FUSEML_SERVER_URL: registry.url, FUSEML_TOKEN: registry.adminToken, FUSEML_REGISTRY_RETRIES: '1', CI: '1', ...extra };
}

const installer = (args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> =>
  cli('fuseml-installer', ['--extensions-repository', REPO, ...args, '--installer-namespace', NS.inst], { env: env(extra), timeoutMs: 240_000 });
const charlie = ['--extensions', 'charlie', '--set', `charlie.namespace=${NS.c}`];

/** Every object of these namespaces (and whether they exist). */
async function objects(): Promise<string> {
  const r = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'namespaces', NS.c, NS.inst, '--ignore-not-found', '-o', 'name'], { allowFailure: true });
  return r.stdout.trim();
}

async function record(id: string): Promise<{ status: number; body?: { status?: { message?: string } } }> {
  const res = await fetch(`${registry.url}/extensions/${id}`, { headers: { authorization: `Bearer ${registry.adminToken}` } });
  return { status: res.status, body: res.status === 200 ? ((await res.json()) as { status?: { message?: string } }) : undefined };
}

describe('registry guardrails', () => {
  it('a wrong or read-only token: exit 12 at once, nothing created on the cluster', async () => {
    for (const token of ['wrong-token-0123456789abcdef', readerToken]) {
      const r = await installer(['install', ...charlie], { FUSEML_TOKEN: token });
      expect(r.exitCode, r.stderr).toBe(12);
      expect(r.stderr).toMatch(/^Error: the registry http:\/\/127\.0\.0\.1:\d+ refuses this token: DELETE .*: 40[13] /m);
      expect(r.stderr).toMatch(/^Hint: .*--registry-token \/ FUSEML_TOKEN/m);
      expect(r.stderr).not.toContain(token);
      expect(await objects()).toBe('');
    }
  });

  it('a record registered by hand survives install and uninstall; --adopt takes it over', async () => {
    const manual = await cli('fuseml-installer', ['--extensions-repository', REPO, 'extensions', 'register', 'charlie', '--id', 'charlie', '--no-check', '--set', 'outputs.greeting=hi', '--set', 'outputs.greeting_path=hi', '--set', 'public_url=http://manual.example.test'], { env: env() });
    expect(manual.exitCode, manual.stderr).toBe(0);
    const before = (await record('charlie')).body?.status?.message;
    expect(before).toMatch(/registered manually/);

    const refused = await installer(['install', ...charlie]);
    expect(refused.exitCode).toBe(5);
    expect(refused.stderr).toMatch(/^Error: the registry .* already holds charlie \(for charlie: ".*registered manually.*"\), not created by this installer; nothing was installed$/m);
    expect(refused.stderr).toMatch(/^Hint: pass --adopt to take it over, --id NEW to register under another id, or --no-register$/m);

    // Installed without registering, then uninstalled: the manual record is untouched.
    expect((await installer(['install', ...charlie, '--no-register'])).exitCode).toBe(0);
    expect((await installer(['uninstall', '--extensions', 'charlie', '--yes'])).exitCode).toBe(0);
    expect((await record('charlie')).body?.status?.message).toBe(before);

    // --adopt: the installer's record replaces it, and its uninstall deletes it.
    const adopted = await installer(['install', ...charlie, '--adopt', '-o', 'json']);
    expect(adopted.exitCode, adopted.stderr).toBe(0);
    expect((await record('charlie')).body?.status?.message).toMatch(/installed by fuseml-installer/);
    expect((await installer(['uninstall', '--extensions', 'charlie', '--yes'])).exitCode).toBe(0);
    expect((await record('charlie')).status).toBe(404);
  });
});
