/**
 * Crash convergence: the installer is killed with SIGKILL at each point of an
 * `mlflow,seldon` install and uninstall, and the next run must converge: helm
 * releases, install records and registry records agree, nothing is registered
 * twice or left orphaned, and the dead installer's Lease expires (30 s).
 *
 * How each point is reached deterministically:
 * - helm is a wrapper (FUSEML_HELM) that, when CRASH_MODE is set and on its first
 *   `upgrade` / `uninstall`, writes its pid to CRASH_MARK and then
 *   `before`: sleeps (the installer waits on a helm that has not touched anything);
 *   `during`: starts the real helm in the background and, once helm has stored
 *   its own release as pending (`helm list --pending`), i.e. half-way, stops it
 *   (SIGSTOP: it cannot finish before the kill, however loaded the machine) and marks;
 *   `after`: runs the real helm, then marks (the installer is now in its waits).
 *   The test then SIGKILLs the installer AND the wrapper's process group (real
 *   helm included): the worst case, as when the machine or the pod running the
 *   installer dies. A `during` kill leaves the release `pending-install`.
 * - registration / deregistration: the installer talks to the registry through
 *   a loopback proxy that holds the `PUT /extensions/ID/record` (outputs read,
 *   record not yet written) or the `DELETE /extensions/ID` of the uninstall; the
 *   test kills the installer while the request is held, then the proxy lets the
 *   next requests through.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { RegistryClient } from '../../src/registry/client.js';
import { binPath, cli, type CliResult } from '../helpers/cli.js';
import type { ChartRepo } from '../helpers/chart-repo.js';
import { e2eCluster, waitNamespaceGone } from '../helpers/namespace.js';
import { createPersistentVolumes, startUpstreamChartRepo, upstreamMirrors } from '../helpers/shipped-extensions.js';
import { startRegistry, type RegistryProcess } from '../helpers/registry.js';

const INST = `e2e-crash-${randomBytes(3).toString('hex')}`;
const NAMESPACES: Record<string, string> = { mlflow: 'mlflow', 'seldon-core': 'seldon-system' };
const BOTH = ['mlflow', 'seldon-core'];

let kubeconfig: string;
let helm: string;
let kubectl: string;
let dir: string;
let wrapper: string;
let registry: RegistryProcess;
let client: RegistryClient;
let charts: ChartRepo;
let proxy: http.Server;
let proxyUrl: string;
/** When set, matching registry requests are held (never answered) and `onHold` is called. */
let hold: ((method: string, url: string) => boolean) | undefined;
let onHold: (() => void) | undefined;
const held: http.ServerResponse[] = [];

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    KUBECONFIG: kubeconfig,
    FUSEML_HELM: wrapper,
    REAL_HELM: helm,
    FUSEML_KUBECTL: kubectl,
    FUSEML_STATE_DIR: dir,
    FUSEML_CONFIG_DIR: join(dir, 'config'),
    FUSEML_SERVER_URL: proxyUrl,
    FUSEML_TOKEN: registry.adminToken,
    FUSEML_REGISTRY_RETRIES: '0',
    CI: '1',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    ...extra,
  };
}

const installArgs = (...more: string[]) => ['install', '--extensions', 'mlflow,seldon', ...upstreamMirrors(charts), '--installer-namespace', INST, ...more];
const uninstallArgs = (...more: string[]) => ['uninstall', '--extensions', 'mlflow,seldon', '--yes', '--installer-namespace', INST, ...more];
const installer = (args: string[]): Promise<CliResult> => cli('fuseml-installer', args, { env: env(), timeoutMs: 8 * 60_000 });

async function k(args: string[], allowFailure = false) {
  return run(kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args], { allowFailure, timeoutMs: 60_000 });
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs the installer and SIGKILLs it when `ready` says so (then the helm wrapper's process group, when it
 * marked). Returns the installer's output so far and the exit code the kill produced.
 */
async function killedRun(args: string[], extra: Record<string, string>, ready: () => boolean): Promise<{ code: number; out: string }> {
  let out = '';
  let pid: number | undefined;
  const done = run(process.execPath, [binPath('fuseml-installer'), ...args], {
    env: env(extra),
    allowFailure: true,
    timeoutMs: 8 * 60_000,
    onSpawn: (h) => (pid = h.pid),
    onLine: (line) => (out += `${line}\n`),
  }).then((r) => r.exitCode);
  let finished = false;
  void done.then(() => (finished = true));
  await until(() => ready() || finished, 5 * 60_000, `the crash point (${extra.CRASH_MODE ?? 'registry'})`);
  expect(finished, `the installer ended before the crash point:\n${out}`).toBe(false);
  process.kill(pid as number, 'SIGKILL');
  // Every helm (wrapper) this run started dies with it: the machine running the installer is gone.
  const pids = extra.CRASH_MARK && existsSync(`${extra.CRASH_MARK}.pids`) ? readFileSync(`${extra.CRASH_MARK}.pids`, 'utf8').trim().split(/\s+/).map(Number) : [];
  for (const helmPid of pids) {
    try {
      process.kill(-helmPid, 'SIGKILL');
    } catch {
      // already finished
    }
  }
  return { code: await done, out };
}

interface Status { extension: string; status: string; registration?: { state: string; id: string } }
async function records(): Promise<Status[]> {
  const r = await installer(['status', '-o', 'json', '--installer-namespace', INST]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Status[];
}

async function leaseHolder(): Promise<string | undefined> {
  const r = await k(['get', 'lease', 'fuseml-installer-lock', '-n', INST, '-o', 'jsonpath={.spec.holderIdentity}'], true);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** helm releases in the extensions' namespaces: name → status (every status, pending ones too). */
async function releases(): Promise<Record<string, string>> {
  const r = await run(helm, ['list', '--all-namespaces', '--all', '-o', 'json'], { env: { KUBECONFIG: kubeconfig } });
  const all = JSON.parse(r.stdout) as { name: string; namespace: string; status: string }[];
  return Object.fromEntries(all.filter((x) => Object.values(NAMESPACES).includes(x.namespace)).map((x) => [`${x.namespace}/${x.name}`, x.status]));
}

/** Namespaces the installer created (labelled) for extensions, that are not being deleted (its own namespace aside). */
async function ourNamespaces(): Promise<string[]> {
  const r = await k(['get', 'namespace', '-l', 'app.kubernetes.io/managed-by=fuseml-installer', '-o', 'json']);
  const items = (JSON.parse(r.stdout) as { items: { metadata: { name: string }; status?: { phase?: string } }[] }).items;
  return items.filter((n) => n.status?.phase !== 'Terminating' && n.metadata.name !== INST).map((n) => n.metadata.name).sort();
}

/** helm, install records and registry agree on `installed`; nothing else is left anywhere. */
async function expectConverged(installed: string[]): Promise<void> {
  const recs = await records();
  expect(recs.map((r) => r.extension).sort()).toEqual([...installed].sort());
  for (const r of recs) expect(r, r.extension).toMatchObject({ status: 'installed', registration: { state: 'registered', id: r.extension } });
  const rel = await releases();
  expect(Object.keys(rel).length, JSON.stringify(rel)).toBe(installed.length);
  for (const n of installed) expect(Object.entries(rel).find(([key]) => key.startsWith(`${NAMESPACES[n]}/`))?.[1], `release of ${n}: ${JSON.stringify(rel)}`).toBe('deployed');
  const regs = await client.listExtensions();
  const ids = regs.map((r) => r.id).sort();
  expect(ids).toEqual([...installed].sort()); // each once, nothing orphaned
  for (const id of installed) {
    const rec = await client.getExtension(id, { reveal: true });
    expect(rec.status?.message ?? '', id).not.toMatch(/manual/);
    expect(new Set((rec.services ?? []).map((s) => s.id)).size, `${id}: no service twice`).toBe((rec.services ?? []).length);
  }
  expect(await ourNamespaces()).toEqual(installed.map((n) => NAMESPACES[n] as string).sort());
  expect(await leaseHolder(), 'a finished run releases the lock').toBeUndefined();
}

/** After a kill: the dead installer's Lease is still there with its holder (it expires after 30 s). */
async function expectLeaseHeldByDead(): Promise<void> {
  expect(await leaseHolder()).toMatch(/pid \d+/);
}

beforeAll(async () => {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-crash-'));
  wrapper = join(dir, 'crash-helm');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      'case " $* " in *" upgrade "*|*" uninstall "*) ;; *) exec "$REAL_HELM" "$@";; esac',
      '[ -n "$CRASH_MARK" ] && echo $$ >> "$CRASH_MARK.pids"',
      '[ -n "$CRASH_MODE" ] && mkdir "$CRASH_MARK.d" 2>/dev/null || exec "$REAL_HELM" "$@"',
      'mark() { echo "$$ $1" > "$CRASH_MARK.tmp"; mv "$CRASH_MARK.tmp" "$CRASH_MARK"; }',
      'case "$CRASH_MODE" in',
      '  before) mark before; sleep 300; exit 1;;',
      '  during) rel=; prev=; for a in "$@"; do [ "$prev" = "--install" ] && rel=$a; prev=$a; done',
      '    "$REAL_HELM" "$@" & child=$!',
      '    while kill -0 $child 2>/dev/null; do',
      '      if [ -n "$("$REAL_HELM" list --all-namespaces --pending -q --filter "^$rel\\$")" ]; then kill -STOP $child; mark pending; break; fi',
      '    done',
      '    [ -e "$CRASH_MARK" ] || mark finished',
      '    wait $child; exit $?;;',
      '  after) "$REAL_HELM" "$@"; rc=$?; mark after; exit $rc;;',
      'esac',
      'exec "$REAL_HELM" "$@"',
      '',
    ].join('\n'),
  );
  await chmod(wrapper, 0o755);
  registry = await startRegistry({ dir: join(dir, 'registry') });
  client = new RegistryClient({ url: registry.url, token: registry.adminToken });
  charts = await startUpstreamChartRepo(helm);
  const upstream = new URL(registry.url);
  proxy = http.createServer((req, res) => {
    if (hold?.(req.method ?? '', req.url ?? '')) {
      req.resume();
      held.push(res);
      onHold?.();
      return;
    }
    const up = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  // No storage provisioner: PersistentVolumes for the claims of two fresh installs (Retain: a released one is not reused).
  await createPersistentVolumes(kubectl, kubeconfig, { prefix: 'fuseml-e2e-crash', label: 'crash', count: 8 });
}, 5 * 60_000);

// A test that failed before its re-run leaves the killed installer's Lease (30 s): drop it, so that the next test
// reports its own result rather than "another installer holds the lock".
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await k(['delete', 'lease', 'fuseml-installer-lock', '-n', INST], true);
});

afterAll(async () => {
  hold = undefined;
  for (const r of held) r.destroy();
  if (kubeconfig) {
    await cli('fuseml-installer', ['uninstall', '--all', '--yes', '--installer-namespace', INST, '--lock-timeout', '90s'], { env: env(), timeoutMs: 5 * 60_000 }).catch(() => undefined);
    await k(['delete', 'pv', '-l', 'fuseml-e2e=crash', '--ignore-not-found', '--wait=false'], true);
    await k(['delete', 'namespace', INST, '--ignore-not-found', '--wait=false'], true);
  }
  await new Promise((r) => proxy?.close(r));
  await Promise.all([registry?.stop(), charts?.close()]);
  await rm(dir, { recursive: true, force: true });
}, 6 * 60_000);

describe('SIGKILL at each point of an mlflow,seldon install and uninstall; the next run converges', { timeout: 5 * 60_000 }, () => {
  it('before helm: the Lease stays until it expires (exit 10 at once, --lock-timeout waits it out); the re-run installs both', async () => {
    const mark = join(dir, 'before.mark');
    const k1 = await killedRun(installArgs(), { CRASH_MODE: 'before', CRASH_MARK: mark }, () => existsSync(mark));
    expect(k1.code, k1.out).not.toBe(0);
    await expectLeaseHeldByDead();
    const locked = await installer(installArgs());
    expect(locked.exitCode, locked.stderr).toBe(10);
    expect(locked.stderr).toMatch(/another installer holds the lock on this cluster: .*pid \d+/);
    const t0 = Date.now();
    const again = await installer(installArgs('--lock-timeout', '90s'));
    expect(again.exitCode, again.stderr).toBe(0);
    // The dead holder's lease expired (30 s after its last renewal) and was taken over.
    expect(Date.now() - t0).toBeLessThan(85_000);
    await expectConverged(BOTH);
  });

  it('during helm (release left pending by the kill): the re-run recovers it and converges', async () => {
    const mark = join(dir, 'during.mark');
    const k2 = await killedRun(installArgs('--force-reinstall'), { CRASH_MODE: 'during', CRASH_MARK: mark }, () => existsSync(mark));
    expect(k2.code, k2.out).not.toBe(0);
    // helm on fake nodes is quick: the wrapper may only see its release already deployed (then the kill lands
    // right after helm). When it saw it pending it stopped helm there, so the kill left it pending-upgrade for the
    // re-run to recover.
    const saw = readFileSync(mark, 'utf8');
    const states = Object.values(await releases());
    if (/pending/.test(saw)) expect(states).toContain('pending-upgrade');
    else expect(saw).toMatch(/finished/);
    await expectLeaseHeldByDead();
    const again = await installer(installArgs('--lock-timeout', '90s'));
    expect(again.exitCode, again.stderr).toBe(0);
    await expectConverged(BOTH);
  });

  it('during the waits after helm: the re-run converges', async () => {
    const mark = join(dir, 'after.mark');
    const k3 = await killedRun(installArgs('--force-reinstall'), { CRASH_MODE: 'after', CRASH_MARK: mark }, () => existsSync(mark));
    expect(k3.code, k3.out).not.toBe(0);
    // Normally the kill lands in the waits: a record is still `installing`. Waits on fake nodes are short, and on a
    // loaded machine this test may notice the mark only after they ended: then no record may be `installing`, but none
    // may have failed either, and the re-run must converge all the same.
    const statuses = (await records()).map((r) => r.status);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 'installing' && s !== 'installed'), statuses.join(', ')).toEqual([]);
    await expectLeaseHeldByDead();
    const again = await installer(installArgs('--lock-timeout', '90s'));
    expect(again.exitCode, again.stderr).toBe(0);
    await expectConverged(BOTH);
  });

  it('during deregistration (uninstall; registry delete held): the re-run finishes the uninstall, nothing left', async () => {
    let reached = false;
    hold = (method, url) => method === 'DELETE' && /^\/extensions\/(mlflow|seldon-core)(\?|$)/.test(url);
    onHold = () => (reached = true);
    const k5 = await killedRun(uninstallArgs(), { CRASH_MARK: join(dir, 'dereg.mark') }, () => reached);
    hold = undefined;
    for (const r of held.splice(0)) r.destroy();
    expect(k5.code, k5.out).not.toBe(0);
    await expectLeaseHeldByDead();
    const left = await records();
    expect(left.some((r) => r.status === 'uninstalling')).toBe(true);
    const again = await installer(uninstallArgs('--lock-timeout', '90s'));
    expect(again.exitCode, again.stderr).toBe(0);
    for (const ns of Object.values(NAMESPACES)) await waitNamespaceGone(kubectl, kubeconfig, ns, 180_000);
    await expectConverged([]);
  });

  it('between outputs and registration (registry write held): the re-run registers once, the records agree', async () => {
    // A fresh install (after the uninstall above): outputs read, the first registry write held, then the kill.
    let reached = false;
    hold = (method, url) => method === 'PUT' && /^\/extensions\/(mlflow|seldon-core)\/record/.test(url);
    onHold = () => (reached = true);
    const k4 = await killedRun(installArgs(), { CRASH_MARK: join(dir, 'reg.mark') }, () => reached);
    hold = undefined;
    for (const r of held.splice(0)) r.destroy();
    expect(k4.code, k4.out).not.toBe(0);
    expect((await records()).some((r) => r.status === 'installing')).toBe(true);
    await expectLeaseHeldByDead();
    const again = await installer(installArgs('--lock-timeout', '90s'));
    expect(again.exitCode, again.stderr).toBe(0);
    await expectConverged(BOTH);
  });
});
