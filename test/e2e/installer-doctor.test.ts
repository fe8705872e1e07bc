/**
 * `fuseml-installer doctor` on the local control plane, with real helm and a real registry process:
 * a helm release deleted behind the installer's back is reported (exit 1, named in -o json), `--fix --yes`
 * deregisters it and the doctor is clean again (exit 0); a collected Secret changed is reported as a stale
 * credential (its value never printed), and `--fix --yes` registers the new value (read back with an admin
 * token and ?reveal=true).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { e2eCluster } from '../helpers/namespace.js';
import { startRegistry, type RegistryProcess } from '../helpers/registry.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const rnd = randomBytes(3).toString('hex');
const NS = { a: `e2e-doc-a-${rnd}`, c: `e2e-doc-c-${rnd}`, inst: `e2e-doc-inst-${rnd}` };
const PASSWORD = `pw-PLANTED-${randomBytes(6).toString('hex')}`;
const ROTATED = `rotated-PLANTED-${randomBytes(6).toString('hex')}`;

let kubeconfig: string;
let helm: string;
let kubectl: string;
let dir: string;
let registry: RegistryProcess;

beforeAll(async () => {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-doctor-'));
  registry = await startRegistry();
  await writeFile(join(dir, 'secrets.yaml'), `alpha:\n  password: "${PASSWORD}"\n`, { mode: 0o600 });
});

afterAll(async () => {
  if (registry && kubeconfig) {
    await cli('fuseml-installer', ['--extensions-repository', REPO, 'uninstall', '--all', '--yes', '--no-register', '--installer-namespace', NS.inst], { env: env(), timeoutMs: 240_000 }).catch(() => undefined);
    await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', '--ignore-not-found', '--wait=false', NS.a, NS.c, NS.inst], { allowFailure: true });
  }
  await registry?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

function env(): Record<string, string | undefined> {
  return { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_STATE_DIR: dir, FUSEML_CONFIG_DIR: join(dir, 'config'), FUSEML_SERVER_URL: registry.url, FUSEML_TOKEN: registry.adminToken, FUSEML_REGISTRY_RETRIES: '1', CI: '1' };
}

/** A run of fuseml-installer; no planted secret may appear in what it prints. */
async function installer(args: string[]): Promise<CliResult> {
  const r = await cli('fuseml-installer', ['--extensions-repository', REPO, ...args, '--installer-namespace', NS.inst], { env: env(), timeoutMs: 240_000 });
  for (const s of [PASSWORD, ROTATED]) {
    expect(r.stdout, `stdout of ${args.join(' ')}`).not.toContain(s);
    expect(r.stderr, `stderr of ${args.join(' ')}`).not.toContain(s);
  }
  return r;
}

const installAlpha = (): Promise<CliResult> => installer(['install', '--extensions', 'alpha', '--set', `alpha.namespace=${NS.a}`, '--values', join(dir, 'secrets.yaml')]);

async function registryGet(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${registry.url}${path}`, { headers: { authorization: `Bearer ${registry.adminToken}` } });
  return { status: res.status, body: res.status === 200 ? await res.json() : undefined };
}

interface DoctorJson {
  clean: boolean;
  checked: string[];
  findings: { extension: string; kind: string; detail: string; fix?: string }[];
  notes: { extension: string; message: string }[];
  fixed?: { extension: string; action: string; result: string }[];
}
const report = (r: CliResult): DoctorJson => JSON.parse(r.stdout) as DoctorJson;

describe('fuseml-installer doctor', () => {
  it('clean after install: exit 0', async () => {
    const a = await installAlpha();
    expect(a.exitCode, a.stderr).toBe(0);
    const c = await installer(['install', '--extensions', 'charlie', '--set', `charlie.namespace=${NS.c}`]);
    expect(c.exitCode, c.stderr).toBe(0);
    const r = await installer(['doctor']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('No drift: alpha, charlie agree with helm, the cluster and the registry.\n');
    const j = await installer(['doctor', '-o', 'json']);
    expect(j.exitCode, j.stderr).toBe(0);
    expect(report(j)).toMatchObject({ clean: true, checked: ['alpha', 'charlie'], findings: [], notes: [] });
  });

  it('a helm release deleted behind its back: reported (exit 1, named in -o json); --fix --yes deregisters it; then clean', async () => {
    await run(helm, ['--kubeconfig', kubeconfig, 'uninstall', 'alpha', '--namespace', NS.a, '--wait'], { timeoutMs: 120_000 });
    const table = await installer(['doctor']);
    expect(table.exitCode, table.stderr).toBe(1);
    expect(table.stdout).toMatch(/^alpha\s+release-missing\s+helm release alpha in e2e-doc-a-\w+ \(step app\) does not exist\s+mark the install record failed/m);
    expect(table.stdout).toMatch(/^alpha\s+registered-but-gone\s+the registry holds alpha, but release alpha is missing\s+deregister alpha$/m);
    expect(table.stderr).toMatch(/^Error: drift found: alpha release-missing, alpha registered-but-gone$/m);
    expect(table.stderr).toMatch(/^Hint: fuseml-installer doctor --fix/m);

    const j = await installer(['doctor', '-o', 'json']);
    expect(j.exitCode).toBe(1);
    expect(report(j).clean).toBe(false);
    expect(report(j).findings.map((f) => `${f.extension} ${f.kind}`)).toEqual(['alpha release-missing', 'alpha registered-but-gone']);

    // Without a terminal, --fix needs --yes: nothing changes.
    const refused = await installer(['doctor', '--fix']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/^Error: refusing to fix drift without confirmation: no terminal to ask on$/m);
    expect((await registryGet('/extensions/alpha')).status).toBe(200);

    const fix = await installer(['doctor', '--fix', '--yes', '-o', 'json']);
    expect(fix.exitCode, fix.stderr).toBe(0);
    expect(report(fix).fixed).toEqual([
      { extension: 'alpha', action: 'deregister alpha', result: 'done' },
      { extension: 'alpha', action: 'mark the install record failed (steps app)', result: 'done' },
    ]);
    expect((await registryGet('/extensions/alpha')).status).toBe(404);
    expect((await registryGet('/extensions/charlie')).status).toBe(200);

    const after = await installer(['doctor', '-o', 'json']);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(report(after)).toMatchObject({ clean: true, findings: [] });
    expect(after.stderr).toMatch(/^note: alpha: status failed \(found by doctor: helm release alpha missing\): not checked/m);
    // The failed record tells install what to redo.
    const status = JSON.parse((await installer(['status', '-o', 'json'])).stdout) as { extension: string; status: string }[];
    expect(status.map((s) => `${s.extension}:${s.status}`)).toEqual(['alpha:failed', 'charlie:installed']);
  });

  it('a collected Secret changed: the stale credential is reported without its value; --fix --yes registers the new value', async () => {
    const again = await installAlpha();
    expect(again.exitCode, again.stderr).toBe(0);
    const before = (await registryGet('/extensions/alpha?reveal=true')).body as { services: { credentials: { configuration: Record<string, string> }[] }[] };
    expect(before.services[0]?.credentials[0]?.configuration.ALPHA_PASSWORD).toBe(PASSWORD);
    expect((await installer(['doctor'])).exitCode).toBe(0);

    // The new value goes through a 0600 file, never the command line.
    const patch = join(dir, 'patch.json');
    await writeFile(patch, JSON.stringify({ data: { password: Buffer.from(ROTATED).toString('base64') } }), { mode: 0o600 });
    await run(kubectl, ['--kubeconfig', kubeconfig, 'patch', 'secret', 'alpha-auth', '--namespace', NS.a, '--type', 'merge', '--patch-file', patch], { timeoutMs: 60_000 });

    const r = await installer(['doctor', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(report(r).findings).toEqual([
      { extension: 'alpha', kind: 'stale-outputs', detail: 'the record registered as alpha no longer matches: sensitive output(s) password changed (stale credential), or the registration manifest did', fix: 'register alpha again (fresh outputs)' },
    ]);

    const fix = await installer(['doctor', '--fix', '--yes']);
    expect(fix.exitCode, fix.stderr).toBe(0);
    expect(fix.stdout).toMatch(/^alpha\s+register alpha\s+done$/m);
    const now = (await registryGet('/extensions/alpha?reveal=true')).body as { services: { credentials: { configuration: Record<string, string> }[] }[] };
    expect(now.services[0]?.credentials[0]?.configuration.ALPHA_PASSWORD).toBe(ROTATED);
    const clean = await installer(['doctor']);
    expect(clean.exitCode, clean.stderr).toBe(0);
  });

  it('an object install waited for is gone (its release still deployed): not-ready, which --fix cannot repair; install --force-reinstall does', async () => {
    await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'deployment', 'alpha', '--namespace', NS.a, '--wait'], { timeoutMs: 60_000 });
    const r = await installer(['doctor', '--extensions', 'alpha', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(report(r).checked).toEqual(['alpha']);
    expect(report(r).findings).toMatchObject([{ extension: 'alpha', kind: 'not-ready' }]);
    expect(report(r).findings[0]?.detail).toMatch(new RegExp(`^Deployment alpha in ${NS.a} \\(Available\\): not ready \\(not found yet\\)`));
    expect(report(r).findings[0]?.fix).toBeUndefined();

    const fix = await installer(['doctor', '--fix', '--yes']);
    expect(fix.exitCode).toBe(1);
    expect(fix.stderr).toMatch(/^Error: drift found: alpha not-ready$/m);

    const again = await installer(['install', '--extensions', 'alpha', '--set', `alpha.namespace=${NS.a}`, '--values', join(dir, 'secrets.yaml'), '--force-reinstall']);
    expect(again.exitCode, again.stderr).toBe(0);
    const clean = await installer(['doctor']);
    expect(clean.exitCode, clean.stderr).toBe(0);
  });
});
