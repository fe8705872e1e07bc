/**
 * Values that persist, diff, upgrade, rollback, history — end to end: the built fuseml-installer and
 * fuseml as processes, the local control plane, real helm (release values and revisions read with
 * helm itself), a real registry process. Fixture: test/fixtures/installer/lifecycle/echo (a helm
 * chart whose values and registration use the `host` and sensitive `apiKey` parameters).
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

const REPO = resolve(import.meta.dirname, '../fixtures/installer/lifecycle');
const rnd = randomBytes(3).toString('hex');
const NS = `e2e-life-${rnd}`;
const INST = `e2e-life-inst-${rnd}`;
// A planted secret: it may appear in no command's output and not in the install record.
const API_KEY = `key-PLANTED-${randomBytes(6).toString('hex')}`;

let kubeconfig: string;
let helm: string;
let kubectl: string;
let stateDir: string;
let registry: RegistryProcess;
let registryDir: string;

function env(): Record<string, string | undefined> {
  return {
    KUBECONFIG: kubeconfig,
    FUSEML_HELM: helm,
    FUSEML_STATE_DIR: stateDir,
    FUSEML_CONFIG_DIR: join(stateDir, 'config'),
    FUSEML_REGISTRY_URL: registry.url,
    FUSEML_REGISTRY_TOKEN: registry.adminToken,
    FUSEML_SERVER_URL: registry.url,
    FUSEML_TOKEN: registry.adminToken,
    FUSEML_REGISTRY_RETRIES: '1',
    CI: '1',
  };
}

function scan(what: string, r: CliResult): void {
  expect(r.stdout, `stdout of ${what}`).not.toContain(API_KEY);
  expect(r.stderr, `stderr of ${what}`).not.toContain(API_KEY);
}

async function installer(args: string[]): Promise<CliResult> {
  const r = await cli('fuseml-installer', ['--extensions-repository', REPO, ...args, '--installer-namespace', INST], { env: env(), timeoutMs: 240_000 });
  scan(args.join(' '), r);
  return r;
}

async function h(args: string[]) {
  return run(helm, ['--kubeconfig', kubeconfig, ...args], { timeoutMs: 60_000, secrets: [API_KEY] });
}
async function k(args: string[], allowFailure = false) {
  return run(kubectl, ['--kubeconfig', kubeconfig, ...args], { allowFailure, timeoutMs: 60_000 });
}

/** The release's user values and revision, read with helm. */
async function release(): Promise<{ values: Record<string, unknown>; revision: number }> {
  const values = JSON.parse((await h(['get', 'values', 'echo', '-n', NS, '-o', 'json'])).stdout) as Record<string, unknown>;
  const revision = (JSON.parse((await h(['status', 'echo', '-n', NS, '-o', 'json'])).stdout) as { version: number }).version;
  return { values, revision };
}

type Reg = { zone?: string; services: { id: string; default?: boolean; endpoints: { configuration: Record<string, string> }[]; credentials: { configuration: Record<string, string> }[] }[] };
async function registered(): Promise<Reg> {
  const res = await fetch(`${registry.url}/extensions/echo?reveal=true`, { headers: { authorization: `Bearer ${registry.adminToken}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Reg;
}

/** The install record Secret: its JSON, and its resourceVersion (unchanged = not written). */
async function recordSecret(): Promise<{ text: string; resourceVersion: string }> {
  const s = JSON.parse((await k(['get', 'secret', 'fuseml-ext-echo', '-n', INST, '-o', 'json'])).stdout) as { data: Record<string, string>; metadata: { resourceVersion: string } };
  return { text: Buffer.from(s.data['record.json'] as string, 'base64').toString('utf8'), resourceVersion: s.metadata.resourceVersion };
}

beforeAll(async () => {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  stateDir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-life-'));
  registryDir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-life-registry-'));
  registry = await startRegistry({ dir: registryDir });
});

afterAll(async () => {
  if (registry && kubeconfig) {
    await cli('fuseml-installer', ['--extensions-repository', REPO, 'uninstall', '--all', '--yes', '--installer-namespace', INST, '--no-register'], { env: env(), timeoutMs: 240_000 }).catch(() => undefined);
    await k(['delete', 'namespace', '--ignore-not-found', '--wait=false', NS, INST], true).catch(() => undefined);
  }
  await registry?.stop().catch(() => undefined);
  await rm(registryDir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

describe('fuseml-installer lifecycle: values that persist, diff, upgrade, rollback', () => {
  it('install with --set; a re-run without it keeps the values (sensitive one from its Secret, never in the record)', async () => {
    const secrets = join(stateDir, 'secrets.yaml');
    await writeFile(secrets, `echo:\n  apiKey: "${API_KEY}"\n`, { mode: 0o600 });
    const first = await installer(['install', '-e', 'echo', '--set', `echo.namespace=${NS}`, '--set', 'echo.host=a.example', '--values', secrets, '-o', 'json']);
    expect(first.stderr).not.toMatch(/Error/);
    expect(first.exitCode).toBe(0);
    expect((await release()).values).toMatchObject({ host: 'a.example', password: API_KEY });

    // A re-run with nothing set: the required apiKey and the host come from the record; nothing to do.
    const again = await installer(['install', '-e', 'echo', '-o', 'json']);
    expect(again.exitCode).toBe(0);
    expect((JSON.parse(again.stdout) as { extensions: { state: string }[] }).extensions[0]?.state).toBe('unchanged');
    const rel = await release();
    expect(rel.values).toMatchObject({ host: 'a.example', password: API_KEY });
    expect(rel.revision).toBe(1);

    const rec = await recordSecret();
    expect(rec.text).not.toContain(API_KEY);
    expect(JSON.parse(rec.text)).toMatchObject({ values: { set: { namespace: NS, host: 'a.example' }, sensitive: ['apiKey'] } });

    // --reset-values drops them: the required apiKey is missing again (exit 3, nothing changed).
    const reset = await installer(['install', '-e', 'echo', '--reset-values']);
    expect(reset.exitCode).toBe(3);
    expect(reset.stderr).toMatch(/apiKey is required/);
    expect((await release()).revision).toBe(1);
  });

  it('a hand-set default: true (and zone) survives re-registration', async () => {
    const set = await cli('fuseml', ['extension', 'service', 'update', 'echo', 'echo-api', '--default', 'true'], { env: env() });
    expect(set.exitCode, set.stderr).toBe(0);
    const zone = await cli('fuseml', ['extension', 'update', 'echo', '--zone', 'eu-west'], { env: env() });
    expect(zone.exitCode, zone.stderr).toBe(0);
    const forced = await installer(['install', '-e', 'echo', '--force-reinstall', '-o', 'json']);
    expect(forced.exitCode).toBe(0);
    expect((JSON.parse(forced.stdout) as { extensions: { registration: string }[] }).extensions[0]?.registration).toBe('registered');
    const reg = await registered();
    expect(reg.services.find((s) => s.id === 'echo-api')?.default).toBe(true);
    expect(reg.zone).toBe('eu-west');
  });

  it('diff shows a --set change (sensitive values hidden) and touches nothing', async () => {
    const before = { rel: await release(), rec: await recordSecret() };
    const d = await installer(['diff', '-e', 'echo', '--set', 'echo.host=b.example', '-o', 'json']);
    expect(d.exitCode, d.stderr).toBe(0);
    const out = JSON.parse(d.stdout) as { changed: boolean; extensions: { name: string; changes: { kind: string; path: string; from?: unknown; to?: unknown }[] }[] };
    expect(out.changed).toBe(true);
    const changes = out.extensions[0]?.changes ?? [];
    expect(changes).toContainEqual({ kind: 'parameter', path: 'host', from: 'a.example', to: 'b.example' });
    expect(changes).toContainEqual({ kind: 'values', path: 'echo:host', from: 'a.example', to: 'b.example' });
    expect(changes).toContainEqual({ kind: 'registration', path: 'services[0].endpoints[0].configuration.ECHO_HOST', from: 'a.example', to: 'b.example' });
    expect(changes.map((c) => c.kind)).not.toContain('version');
    expect(changes.every((c) => c.path !== 'apiKey')).toBe(true);

    const text = await installer(['diff', '-e', 'echo', '--set', 'echo.host=b.example', '--exit-code']);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain('~ parameter host: a.example -> b.example');
    const none = await installer(['diff', '-e', 'echo', '--exit-code']);
    expect(none.exitCode, none.stdout).toBe(0);
    expect(none.stdout).toContain('echo (installed, revision 2): no changes');

    // Nothing touched: same helm revision, install record not rewritten.
    expect(await release()).toEqual(before.rel);
    expect((await recordSecret()).resourceVersion).toBe(before.rec.resourceVersion);
  });

  it('upgrade applies it (helm revision +1), status --history lists the revisions', async () => {
    const before = await release();
    const up = await installer(['upgrade', '-e', 'echo', '--set', 'echo.host=b.example', '-o', 'json']);
    expect(up.exitCode, up.stderr).toBe(0);
    const after = await release();
    expect(after.revision).toBe(before.revision + 1);
    expect(after.values).toMatchObject({ host: 'b.example', password: API_KEY });
    expect((await registered()).services[0]?.endpoints[0]?.configuration.ECHO_HOST).toBe('b.example');

    const hist = await installer(['status', '-e', 'echo', '--history', '-o', 'json']);
    expect(hist.exitCode).toBe(0);
    const revs = JSON.parse(hist.stdout) as { revision: number; action: string; values: { set: Record<string, unknown>; sensitive: string[] }; helm: { revision: number }[] }[];
    expect(revs.map((r) => [r.revision, r.action])).toEqual([[1, 'install'], [2, 'upgrade'], [3, 'upgrade']]);
    expect(revs[2]?.values).toEqual({ set: { namespace: NS, host: 'b.example' }, sensitive: ['apiKey'] });
    expect(revs[2]?.helm[0]?.revision).toBe(after.revision);
    const table = await installer(['status', '-e', 'echo', '--history']);
    expect(table.stdout).toMatch(/apiKey=\*\*\*/);

    const notInstalled = await cli('fuseml-installer', ['--extensions-repository', resolve(import.meta.dirname, '../fixtures/installer/repo'), 'upgrade', '-e', 'charlie', '--installer-namespace', INST], { env: env() });
    expect(notInstalled.exitCode).toBe(4);
    expect(notInstalled.stderr).toMatch(/not installed by this installer: charlie/);
  });

  it('rollback returns to the previous revision: helm release and registry record both; the hand-set default stays', async () => {
    const before = await release();
    const rb = await installer(['rollback', '-e', 'echo', '-o', 'json']);
    expect(rb.exitCode, rb.stderr).toBe(0);
    expect(JSON.parse(rb.stdout)).toMatchObject({ extension: 'echo', from: 3, to: 2, revision: 4, registration: 'registered' });
    const after = await release();
    // helm records a rollback as a new revision with the old values.
    expect(after.revision).toBe(before.revision + 1);
    expect(after.values).toMatchObject({ host: 'a.example', password: API_KEY });
    const helmHistory = JSON.parse((await h(['history', 'echo', '-n', NS, '-o', 'json'])).stdout) as { revision: number; description: string }[];
    expect(helmHistory.at(-1)?.description).toMatch(/Rollback to 2/);
    const reg = await registered();
    expect(reg.services[0]?.endpoints[0]?.configuration.ECHO_HOST).toBe('a.example');
    expect(reg.services[0]?.credentials[0]?.configuration.ECHO_KEY).toBe(API_KEY);
    expect(reg.services.find((s) => s.id === 'echo-api')?.default).toBe(true);
    const rec = await recordSecret();
    expect(rec.text).not.toContain(API_KEY);
    expect(JSON.parse(rec.text)).toMatchObject({ values: { set: { host: 'a.example' } }, history: expect.arrayContaining([expect.objectContaining({ revision: 4, action: 'rollback', description: 'rollback to 2' })]) });

    // The restored values are the recorded ones: a re-run changes nothing.
    const again = await installer(['install', '-e', 'echo', '-o', 'json']);
    expect(again.exitCode).toBe(0);
    expect((JSON.parse(again.stdout) as { extensions: { state: string }[] }).extensions[0]?.state).toBe('unchanged');
    expect((await release()).revision).toBe(after.revision);

    const missing = await installer(['rollback', '-e', 'echo', '99']);
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toMatch(/no revision 99/);
  });

  it('uninstall removes the record and its private data', async () => {
    const r = await installer(['uninstall', '-e', 'echo', '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await k(['get', 'secret', 'fuseml-ext-echo', 'fuseml-ext-echo-private', '-n', INST], true)).stdout.trim()).toBe('');
  });
});
