/**
 * The installer end to end: the built fuseml-installer as a process, the local
 * control plane (real API server, kwok nodes), real helm, a real registry
 * process. Fixture extensions: test/fixtures/installer/repo (alpha; bravo
 * requires alpha; charlie independent; faulty fails until broken=false).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { binPath, cli, type CliResult } from '../helpers/cli.js';
import { startChartRepo } from '../helpers/chart-repo.js';
import { e2eCluster } from '../helpers/namespace.js';
import { startRegistry, type RegistryProcess } from '../helpers/registry.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const rnd = randomBytes(3).toString('hex');
const NS = { a: `e2e-a-${rnd}`, b: `e2e-b-${rnd}`, c: `e2e-c-${rnd}`, d: `e2e-d-${rnd}`, f: `e2e-f-${rnd}`, g: `e2e-g-${rnd}`, inst: `e2e-inst-${rnd}` };
// Planted secrets: none of them may appear in any command's output.
const PASSWORD = `pw-PLANTED-${randomBytes(6).toString('hex')}`;
const TOKEN = `tok-PLANTED-${randomBytes(6).toString('hex')}`;
const PLANTED = [PASSWORD, TOKEN, `key-${TOKEN}`];

let kubeconfig: string;
let helm: string;
let kubectl: string;
let stateDir: string;
let registry: RegistryProcess;
let registryDir: string;
const outputs: { args: string[]; r: CliResult }[] = [];

async function clusterConfig(): Promise<void> {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
}

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    KUBECONFIG: kubeconfig,
    FUSEML_HELM: helm,
    FUSEML_STATE_DIR: stateDir,
    FUSEML_CONFIG_DIR: join(stateDir, 'config'),
    FUSEML_REGISTRY_URL: registry.url,
    FUSEML_REGISTRY_TOKEN: registry.adminToken,
    FUSEML_REGISTRY_RETRIES: '1',
    CI: '1',
    ...extra,
  };
}

const common = () => ['--installer-namespace', NS.inst];
const NAMESPACE_OF: Record<string, string> = { alpha: NS.a, bravo: NS.b, charlie: NS.c, delta: NS.d };
/** `--set EXT.namespace=…` for the given extensions (--set for an extension outside the plan is an error). */
const only = (...names: string[]) => names.flatMap((n) => ['--set', `${n}.namespace=${NAMESPACE_OF[n]}`]);
const params = only('alpha', 'bravo', 'charlie');

async function installer(args: string[], extraEnv: Record<string, string | undefined> = {}, repo = REPO): Promise<CliResult> {
  const full = ['--extensions-repository', repo, ...args];
  const r = await cli('fuseml-installer', full, { env: env(extraEnv), timeoutMs: 240_000 });
  outputs.push({ args: full, r });
  for (const s of PLANTED) {
    expect(r.stdout, `stdout of ${args.join(' ')}`).not.toContain(s);
    expect(r.stderr, `stderr of ${args.join(' ')}`).not.toContain(s);
  }
  return r;
}

/** A values file holding the secrets: they never appear on a command line. */
async function secretsFile(): Promise<string> {
  const f = join(stateDir, 'secrets.yaml');
  await writeFile(f, `alpha:\n  password: "${PASSWORD}"\nbravo:\n  token: "${TOKEN}"\n`, { mode: 0o600 });
  return f;
}

async function k(args: string[], allowFailure = false) {
  return run(kubectl, ['--kubeconfig', kubeconfig, ...args], { allowFailure, timeoutMs: 60_000 });
}

async function registryGet(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${registry.url}${path}`, { headers: { authorization: `Bearer ${registry.adminToken}` } });
  return { status: res.status, body: res.status === 200 ? await res.json() : undefined };
}

async function namespaceGone(ns: string): Promise<boolean> {
  const r = await k(['get', 'namespace', ns, '-o', 'jsonpath={.status.phase}'], true);
  return r.exitCode !== 0 || r.stdout.trim() === 'Terminating';
}

const json = (r: CliResult) => JSON.parse(r.stdout) as { extensions: { name: string; state: string; registration: string; steps: { id: string; state: string }[] }[]; pendingRegistrations: unknown[]; namespacesDeleted: string[] };

beforeAll(async () => {
  await clusterConfig();
  stateDir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-state-'));
  registryDir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-registry-'));
  registry = await startRegistry({ dir: registryDir });
  // A namespace that exists before the install: charlie installs into it, uninstall must leave it.
  await k(['create', 'namespace', NS.c]);
});

afterAll(async () => {
  // Leave nothing behind: uninstall whatever is left, then the namespaces of this file.
  if (registry && kubeconfig) {
    await cli('fuseml-installer', ['--extensions-repository', REPO, 'uninstall', '--all', '--yes', ...common(), '--no-register'], { env: env(), timeoutMs: 240_000 }).catch(() => undefined);
    await k(['delete', 'namespace', '--ignore-not-found', '--wait=false', NS.a, NS.b, NS.c, NS.d, NS.f, NS.g, NS.inst], true).catch(() => undefined);
  }
  await registry?.stop().catch(() => undefined);
  await rm(registryDir, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

describe('fuseml-installer on the local control plane', () => {
  it('dry run: prints the plan with secrets masked and touches nothing', async () => {
    const r = await installer(['install', '--extensions', 'bravo,charlie', ...params, '--values', await secretsFile(), '--dry-run', '-o', 'json', ...common()]);
    expect(r.exitCode).toBe(0);
    const plan = JSON.parse(r.stdout) as { levels: string[][] };
    expect(plan.levels).toEqual([['alpha', 'charlie'], ['bravo']]);
    expect((await k(['get', 'namespace', NS.a], true)).exitCode).not.toBe(0);
  });

  it('installs A and C in parallel, then B; the registry holds the collected URL and secret values', async () => {
    const r = await installer(['install', '--extensions', 'bravo,charlie', ...params, '--values', await secretsFile(), '-o', 'json', ...common()]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.exitCode).toBe(0);
    expect(json(r).extensions.map((e) => [e.name, e.state, e.registration])).toEqual([
      ['alpha', 'installed', 'registered'],
      ['charlie', 'installed', 'registered'],
      ['bravo', 'installed', 'registered'],
    ]);
    // Progress (plain lines on stderr): alpha and charlie both start before either finishes; bravo after alpha.
    const lines = r.stderr.split('\n');
    const at = (s: string) => lines.indexOf(s);
    expect(at('[alpha] running')).toBeGreaterThanOrEqual(0);
    expect(Math.max(at('[alpha] running'), at('[charlie] running'))).toBeLessThan(Math.min(at('[alpha] done'), at('[charlie] done')));
    expect(at('[bravo] running')).toBeGreaterThan(at('[alpha] done'));

    const alpha = (await registryGet('/extensions/alpha?reveal=true')).body as { services: { endpoints: { url: string }[]; credentials: { configuration: Record<string, string> }[] }[] };
    expect(alpha.services[0]?.endpoints[0]?.url).toBe(`http://alpha.${NS.a}.svc.cluster.local:8080`);
    expect(alpha.services[0]?.credentials[0]?.configuration).toEqual({ ALPHA_USER: `admin-${NS.a}`, ALPHA_PASSWORD: PASSWORD });
    const bravo = (await registryGet('/extensions/bravo?reveal=true')).body as { services: { configuration: Record<string, string>; credentials: { configuration: Record<string, string> }[] }[] };
    expect(bravo.services[0]?.configuration).toEqual({ BRAVO_TRACKING_URI: `http://bravo.${NS.b}.svc.cluster.local:8080/api` });
    expect(bravo.services[0]?.credentials[0]?.configuration).toEqual({ BRAVO_API_KEY: `key-${TOKEN}` });
    const charlie = (await registryGet('/extensions/charlie')).body as { services: { configuration: Record<string, string>; endpoints: { url: string; type: string }[] }[] };
    expect(charlie.services[0]?.configuration).toEqual({ GREETING: 'hello', GREETING_VIA_JSONPATH: 'hello' });
    expect(charlie.services[0]?.endpoints).toMatchObject([{ url: `http://charlie.${NS.c}.example.test`, type: 'external' }]);

    // The real objects: the chart's Secret got the password; namespaces we created carry our label, the other one not.
    const pw = await k(['get', 'secret', 'alpha-auth', '-n', NS.a, '-o', 'jsonpath={.data.password}']);
    expect(Buffer.from(pw.stdout, 'base64').toString()).toBe(PASSWORD);
    const label = async (ns: string) => (await k(['get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}'])).stdout;
    expect(await label(NS.a)).toBe('fuseml-installer');
    expect(await label(NS.c)).toBe('');
    // Install records hold no secret.
    const recs = await k(['get', 'secrets', '-n', NS.inst, '-l', 'fuseml.io/install-record=true', '-o', 'jsonpath={.items[*].data.record\\.json}']);
    const decoded = recs.stdout.split(' ').map((b) => Buffer.from(b, 'base64').toString()).join('\n');
    expect(decoded).toContain('"extension":"bravo"');
    for (const s of PLANTED) expect(decoded).not.toContain(s);
  });

  it('re-running is a no-op', async () => {
    const r = await installer(['install', '--extensions', 'bravo,charlie', ...params, '--values', await secretsFile(), '-o', 'json', ...common()]);
    expect(r.exitCode).toBe(0);
    const s = json(r);
    expect(s.extensions.map((e) => [e.name, e.state, e.registration])).toEqual([
      ['alpha', 'unchanged', 'unchanged'],
      ['charlie', 'unchanged', 'unchanged'],
      ['bravo', 'unchanged', 'unchanged'],
    ]);
    expect(s.extensions.flatMap((e) => e.steps.map((x) => x.state))).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
  });

  it('status lists what is installed', async () => {
    const r = await installer(['status', '-o', 'json', ...common()]);
    expect(r.exitCode).toBe(0);
    const recs = JSON.parse(r.stdout) as { extension: string; status: string }[];
    expect(recs.map((x) => `${x.extension}:${x.status}`)).toEqual(['alpha:installed', 'bravo:installed', 'charlie:installed']);
  });

  it('a second installer fails fast naming the lock holder, or waits with --lock-timeout and takes an expired lease over', async () => {
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const lease = `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: { name: fuseml-installer-lock, namespace: ${NS.inst} }\nspec: { holderIdentity: "someone@elsewhere pid 42", leaseDurationSeconds: 60, acquireTime: "${now}", renewTime: "${now}" }\n`;
    const f = join(stateDir, 'lease.yaml');
    await writeFile(f, lease);
    await k(['apply', '-f', f]);
    try {
      const r = await installer(['install', '--extensions', 'charlie', ...only('charlie'), ...common()]);
      expect(r.exitCode).toBe(10);
      expect(r.stderr).toMatch(/^Error: another installer holds the lock on this cluster: someone@elsewhere pid 42 since /m);
      expect(r.stderr).toMatch(/^Hint: .*--lock-timeout/m);
      // With --lock-timeout the second installer waits, and takes the lease over once it expires.
      const short = lease.replace('leaseDurationSeconds: 60', 'leaseDurationSeconds: 8').replace(/(acquireTime|renewTime): "[^"]+"/g, (_m, f: string) => `${f}: "${new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')}"`);
      await writeFile(f, short);
      await k(['apply', '-f', f]);
      const waited = await installer(['install', '--extensions', 'charlie', ...only('charlie'), '--lock-timeout', '60s', ...common()]);
      expect(waited.exitCode).toBe(0);
      expect(waited.stderr).toContain('waiting for the installer lock held by someone@elsewhere pid 42');
    } finally {
      await k(['delete', 'lease', 'fuseml-installer-lock', '-n', NS.inst], true);
    }
  });

  it('refuses to uninstall A while B requires it, naming B', async () => {
    const r = await installer(['uninstall', '--yes', '--extensions', 'alpha', ...common()]);
    expect(r.exitCode).toBe(5);
    expect(r.stderr.trim().split('\n')).toEqual([
      'Error: cannot uninstall alpha: still required by installed bravo',
      'Hint: uninstall bravo first, or pass --with-dependents to uninstall it too',
    ]);
  });

  it('uninstall B then A: deregistered, our namespaces deleted; C in its pre-existing namespace leaves it', async () => {
    const b = await installer(['uninstall', '--yes', '--extensions', 'bravo', '-o', 'json', ...common()]);
    expect(b.exitCode).toBe(0);
    expect(json(b).extensions.map((e) => [e.name, e.state, e.registration])).toEqual([['bravo', 'uninstalled', 'deregistered']]);
    expect(json(b).namespacesDeleted).toEqual([NS.b]);
    expect((await registryGet('/extensions/bravo')).status).toBe(404);
    expect(await namespaceGone(NS.b)).toBe(true);

    const a = await installer(['uninstall', '--yes', '--extensions', 'alpha', '-o', 'json', ...common()]);
    expect(a.exitCode).toBe(0);
    expect(json(a).namespacesDeleted).toEqual([NS.a]);
    expect((await registryGet('/extensions/alpha')).status).toBe(404);
    expect(await namespaceGone(NS.a)).toBe(true);
    expect((await k(['get', 'deployment', 'alpha', '-n', NS.a], true)).exitCode).not.toBe(0);

    const c = await installer(['uninstall', '--yes', '--extensions', 'chuck', '-o', 'json', ...common()]);
    expect(c.exitCode).toBe(0);
    expect(json(c).namespacesDeleted).toEqual([]);
    expect((await k(['get', 'namespace', NS.c, '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Active');
    expect((await k(['get', 'configmap', 'charlie', '-n', NS.c], true)).exitCode).not.toBe(0);
    expect((await registryGet('/extensions/charlie')).status).toBe(404);
  });

  it('a failing helm step rolls back and registers nothing; the re-run after the fix succeeds', async () => {
    const args = ['install', '--extensions', 'faulty', '--set', `faulty.namespace=${NS.f}`, ...common()];
    const r = await installer(args);
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toMatch(/^Error: install of faulty failed: .*helm --kube-context \S+ upgrade --install faulty/m);
    // helm's own reason (the tail of its stderr) is part of the error, not only of --verbose output.
    expect(r.stderr).toMatch(/^ {2}Error: release faulty failed/m);
    expect(r.stderr).toMatch(/^Hint: fix the cause and run the same command again/m);
    const releases = await run(helm, ['list', '--namespace', NS.f, '--all', '-q'], { env: { KUBECONFIG: kubeconfig } });
    expect(releases.stdout.trim()).toBe(''); // --atomic: the failed install was purged
    expect((await k(['get', 'deployment', 'faulty', '-n', NS.f], true)).exitCode).not.toBe(0);
    expect((await registryGet('/extensions/faulty')).status).toBe(404);

    const fixed = await installer([...args, '--set', 'faulty.broken=false', '-o', 'json']);
    expect(fixed.exitCode).toBe(0);
    expect(json(fixed).extensions[0]).toMatchObject({ name: 'faulty', state: 'installed', registration: 'registered' });
    expect((await registryGet('/extensions/faulty')).status).toBe(200);
    expect((await installer(['uninstall', '--yes', '--extensions', 'faulty', ...common()])).exitCode).toBe(0);
  });

  it('a run interrupted (SIGTERM) half-way stops, releases the lock, and the re-run resumes: finished extensions are skipped', async () => {
    const args = ['--extensions-repository', REPO, 'install', '--extensions', 'charlie,faulty', ...only('charlie'), '--set', `faulty.namespace=${NS.g}`, '--concurrency', '1', ...common()];
    let pid: number | undefined;
    const lines: string[] = [];
    // charlie first (concurrency 1), then faulty's helm step waits for pods that never schedule: SIGTERM it there
    // (by hand: run()'s own cancellation would force-kill the installer 2 s later, before it cleaned up).
    const first = await run(process.execPath, [binPath('fuseml-installer'), ...args], {
      env: env(),
      onSpawn: (h) => (pid = h.pid),
      allowFailure: true,
      timeoutMs: 120_000,
      onLine: (line) => {
        lines.push(line);
        if (line === '[faulty] running') setTimeout(() => pid && process.kill(pid, 'SIGTERM'), 4000);
      },
    });
    expect(first.exitCode).toBe(143);
    expect(lines.join('\n')).toMatch(/^Error: install cancelled \(SIGTERM\): stopped in faulty/m);
    expect(lines).toContain('[charlie] done');
    for (const l of lines) for (const x of PLANTED) expect(l).not.toContain(x);

    // SIGTERM cancelled helm and released the lock; the re-run skips charlie and finishes faulty.
    expect((await k(['get', 'lease', 'fuseml-installer-lock', '-n', NS.inst], true)).exitCode).not.toBe(0);
    const r = await installer(['install', '--extensions', 'charlie,faulty', ...only('charlie'), '--set', `faulty.namespace=${NS.g}`, '--set', 'faulty.broken=false', '--lock-timeout', '90s', '-o', 'json', ...common()]);
    expect(r.exitCode).toBe(0);
    expect(json(r).extensions.map((e) => [e.name, e.state])).toEqual([['charlie', 'unchanged'], ['faulty', 'installed']]);
    const status = await run(helm, ['status', 'faulty', '--namespace', NS.g, '-o', 'json'], { env: { KUBECONFIG: kubeconfig } });
    expect((JSON.parse(status.stdout) as { info: { status: string } }).info.status).toBe('deployed');
    expect((await installer(['uninstall', '--yes', '--extensions', 'charlie,faulty', ...common()])).exitCode).toBe(0);
  });

  it('registry stopped: install completes, exits 9 and journals; registry back + extensions sync: record present', async () => {
    const port = new URL(registry.url).port;
    await registry.stop();
    const r = await installer(['install', '--extensions', 'alpha', ...only('alpha'), '--values', await secretsFile(), ...common()]);
    expect(r.exitCode).toBe(9);
    expect(r.stderr).toMatch(/^Error: installed, but the registration of alpha could not be delivered to http:\/\/127\.0\.0\.1:\d+ .*journaled in /m);
    expect(r.stderr).toMatch(/^Hint: when the registry is reachable again run: fuseml-installer extensions sync$/m);
    const journal = join(stateDir, 'journal');
    expect((await readdir(journal)).length).toBe(1);

    registry = await startRegistry({ dir: registryDir, adminToken: registry.adminToken, args: ['--port', port] });
    expect(new URL(registry.url).port).toBe(port);
    const sync = await installer(['extensions', 'sync']);
    expect(sync.exitCode).toBe(0);
    expect(sync.stdout).toMatch(/alpha\s+upsert\s+alpha\s+delivered/);
    const rec = (await registryGet('/extensions/alpha?reveal=true')).body as { services: { credentials: { configuration: Record<string, string> }[] }[] };
    expect(rec.services[0]?.credentials[0]?.configuration.ALPHA_PASSWORD).toBe(PASSWORD);
    expect(await readdir(journal)).toEqual([]);
    const st = await installer(['status', '-o', 'json', ...common()]);
    expect((JSON.parse(st.stdout) as { registration: { state: string } }[])[0]?.registration.state).toBe('registered');
    expect((await installer(['uninstall', '--all', '--yes', ...common()])).exitCode).toBe(0);
    expect((await registryGet('/extensions/alpha')).status).toBe(404);
  });

  it('one-line errors with a hint and the documented exit code: cycle, unknown extension, missing helm, unreachable cluster', async () => {
    const oneLine = (r: CliResult, code: number, error: RegExp, hint: RegExp) => {
      expect(r.exitCode).toBe(code);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(error);
      expect(lines[1]).toMatch(hint);
    };
    const dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-cycle-'));
    try {
      for (const [n, req] of [['x', 'y'], ['y', 'x']] as const) {
        await mkdir(join(dir, n));
        await writeFile(join(dir, n, 'extension.yaml'), `name: ${n}\nproduct: p\nversion: "1"\nrequires: [${req}]\ninstall:\n  - { type: manifest, location: m.yaml }\n`);
        await writeFile(join(dir, n, 'm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: m }\n');
      }
      oneLine(await installer(['install', '--extensions', 'x', ...common()], {}, dir), 3, /^Error: dependency cycle: x -> y -> x$/, /^Hint: remove one of these "requires" entries$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    oneLine(await installer(['install', '--extensions', 'nope', ...common()]), 4, /^Error: unknown extension: "nope"$/, /^Hint: available in .*: alpha, bravo, charlie, delta, faulty/);
    oneLine(await installer(['install', '--extensions', 'alpha', ...only('alpha'), '--values', await secretsFile(), ...common()], { FUSEML_HELM: '/nonexistent/helm' }), 7, /^Error: FUSEML_HELM=\/nonexistent\/helm: not an executable file$/, /^Hint: /);
    const bad = join(stateDir, 'unreachable.kubeconfig');
    await writeFile(bad, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    oneLine(await installer(['install', '--extensions', 'charlie', '--kubeconfig', bad, ...common()]), 8, /^Error: list namespaces: cannot reach the Kubernetes API server/, /^Hint: check --kubeconfig/);
  });

  it('air-gapped: an upstream chart (repo + chart + version) installs through --chart-mirror', async () => {
    const charts = await startChartRepo({ helm, charts: [join(REPO, 'alpha/chart')] });
    try {
      const args = ['install', '--extensions', 'delta', ...only('delta'), '--chart-mirror', `https://charts.fixture.invalid/stable=${charts.url}`, ...common()];
      const dry = await installer([...args, '--dry-run']);
      expect(dry.stdout).toContain(`--repo ${charts.url} --version 0.1.0`);
      const r = await installer([...args, '-o', 'json']);
      expect(r.exitCode).toBe(0);
      expect(json(r).extensions[0]).toMatchObject({ name: 'delta', state: 'installed', registration: 'none' });
      expect(charts.requests).toEqual(expect.arrayContaining(['/index.yaml', '/fixture-app-0.1.0.tgz']));
      expect((await k(['get', 'deployment', 'delta', '-n', NS.d, '-o', 'jsonpath={.status.availableReplicas}'])).stdout).toBe('1');
      expect((await installer(['uninstall', '--yes', '--extensions', 'delta', ...common()])).exitCode).toBe(0);
    } finally {
      await charts.close();
    }
  });

  it("FuseML's form: extensions --add / --list / --remove", async () => {
    const add = await installer(['extensions', '--add', 'charlie', ...only('charlie'), '--list', ...common()]);
    expect(add.exitCode).toBe(0);
    expect(add.stdout).toMatch(/^charlie\s+installed\s+install-0:done\s+registered/m);
    expect(add.stdout).toMatch(/^charlie\s+0\.3\.0\s+e2e-c-\w+\s+installed/m);
    const remove = await installer(['extensions', '--remove', 'charlie', '--yes', ...common()]);
    expect(remove.exitCode).toBe(0);
    expect(remove.stdout).toMatch(/^charlie\s+uninstalled/m);
  });

  it('no command printed a planted secret', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const { r } of outputs) for (const s of PLANTED) expect(r.stdout + r.stderr).not.toContain(s);
  });
});
