import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/descriptor/repository.js';
import { InstallerEngine, installedDependents, schedule } from '../../src/installer/engine.js';
import type { InstallerEvent } from '../../src/installer/events.js';
import { Journal } from '../../src/installer/journal.js';
import { MemoryCluster } from '../helpers/memory-cluster.js';
import { parseSetFlags } from '../../src/installer/params.js';
import { createPlan } from '../../src/installer/plan.js';
import { RegistrySink } from '../../src/installer/registry-sink.js';
import { summaryError } from '../../src/cli/commands/install-common.js';
import { FakeRegistry, makeFakes, seedFixtureCluster, type Fakes } from './installer-fakes.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const PW = 'pw-PLANTED-engine-1';
const TOKEN = 'tok-PLANTED-engine-2';
const SECRET_OUT = 'from-a-secret-PLANTED-3';

let fakes: Fakes;
let stateDir: string;
let cluster: MemoryCluster;
let registry: FakeRegistry;
let events: InstallerEvent[];

beforeEach(async () => {
  fakes = await makeFakes(0.3);
  stateDir = await mkdtemp(join(tmpdir(), 'fuseml-state-'));
  cluster = new MemoryCluster();
  seedFixtureCluster(cluster, SECRET_OUT);
  registry = new FakeRegistry();
  events = [];
});
afterEach(async () => {
  await fakes.cleanup();
  await rm(stateDir, { recursive: true, force: true });
});

const sink = () => new RegistrySink('http://fake:8000', async () => registry, new Journal(join(stateDir, 'journal'), join(stateDir, 'config', 'journal.key')));

function engine(opts: { force?: boolean; fail?: string; adopt?: boolean } = {}, s = sink()) {
  return new InstallerEngine({
    cluster,
    tools: { helm: fakes.helm, kubectl: fakes.kubectl },
    env: { ...fakes.env, ...(opts.fail ? { FAKE_FAIL_ON: opts.fail } : {}) },
    sink: s,
    reporter: { event: (e) => events.push(e) },
    forceReinstall: opts.force,
    adopt: opts.adopt,
  });
}

async function plan(names = ['bravo', 'charlie'], extra: string[] = []) {
  const repo = await loadRepository(REPO);
  const closure = names.includes('bravo') ? [...names, 'alpha'] : names;
  const sets = [`alpha.password=${PW}`, `bravo.token=${TOKEN}`].filter((x) => closure.some((n) => x.startsWith(`${n}.`)));
  return createPlan(repo, { extensions: names, assignments: parseSetFlags([...sets, ...extra]).assignments });
}

describe('schedule', () => {
  it('runs independent nodes in parallel, dependents after, at most `limit` at once, and skips dependents of a failure', async () => {
    const running = new Set<string>();
    let peak = 0;
    const log: string[] = [];
    const deps: Record<string, string[]> = { a: [], b: ['a'], c: [], d: [], e: ['c'] };
    const r = await schedule(['a', 'c', 'd', 'b', 'e'], (n) => deps[n] ?? [], 2, async (n) => {
      running.add(n);
      peak = Math.max(peak, running.size);
      log.push(`start ${n}`);
      await new Promise((res) => setTimeout(res, 20));
      running.delete(n);
      if (n === 'c') throw new Error('boom');
      return n;
    }, (n) => `skipped ${n}`);
    expect(peak).toBe(2);
    expect(r.get('b')).toEqual({ ok: true, value: 'b' });
    expect(r.get('c')?.ok).toBe(false);
    expect(r.get('e')).toEqual({ ok: false, value: 'skipped e' });
    expect(log.indexOf('start b')).toBeGreaterThan(log.indexOf('start a'));
  });
});

describe('install', () => {
  it('installs A and C in parallel, then B; records, outputs and registry records; secrets only where they belong', async () => {
    const p = await plan();
    const summary = await engine().install(p);
    expect(summary.extensions.map((e) => [e.name, e.state, e.registration])).toEqual([
      ['alpha', 'installed', 'registered'],
      ['charlie', 'installed', 'registered'],
      ['bravo', 'installed', 'registered'],
    ]);
    const calls = await fakes.calls();
    const alpha = calls.find((c) => c.args.includes('install alpha')) as (typeof calls)[number];
    const charlie = calls.find((c) => c.tool === 'kubectl') as (typeof calls)[number];
    const bravo = calls.find((c) => c.args.includes('install bravo')) as (typeof calls)[number];
    expect(charlie.start).toBeLessThan(alpha.end); // parallel
    expect(bravo.start).toBeGreaterThanOrEqual(alpha.end); // after what it requires
    // registry records: collected URL and secret values
    const a = registry.records.get('alpha');
    expect(a?.services?.[0]?.endpoints?.[0]?.url).toBe('http://alpha.fx-alpha.svc.cluster.local:8080');
    expect(a?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ ALPHA_USER: 'admin-fx-alpha', ALPHA_PASSWORD: SECRET_OUT });
    expect(registry.records.get('bravo')?.services?.[0]?.credentials?.[0]?.configuration).toEqual({ BRAVO_API_KEY: `key-${TOKEN}` });
    expect(registry.records.get('bravo')?.services?.[0]?.configuration).toEqual({ BRAVO_TRACKING_URI: 'http://bravo.fx-bravo.svc.cluster.local:8080/api' });
    // install records: no sensitive parameter or output
    const recs = JSON.stringify([...cluster.records.values()]);
    for (const s of [PW, TOKEN, SECRET_OUT, `key-${TOKEN}`]) expect(recs).not.toContain(s);
    expect(cluster.records.get('alpha')).toMatchObject({ status: 'installed', params: { namespace: 'fx-alpha', replicas: 1 }, outputs: { user: 'admin-fx-alpha' }, namespaces: ['fx-alpha'] });
    expect(cluster.records.get('bravo')?.requires).toEqual(['alpha']);
    expect(cluster.waits.map((w) => `${w.kind}/${w.name ?? w.selector}@${w.namespace}`).sort()).toEqual(['Deployment/alpha@fx-alpha', 'Pod/app=bravo@fx-bravo']);
    expect([...cluster.namespaces.keys()].sort()).toEqual(['fx-alpha', 'fx-bravo', 'fx-charlie']);
    // Output sources are rendered with the extension's parameters.
    expect(cluster.outputReads.find((o) => o.name === 'password')?.spec).toEqual({ secret: { name: 'alpha-auth', key: 'password', namespace: 'fx-alpha' } });
    // events never carry secrets
    const ev = JSON.stringify(events);
    for (const s of [PW, TOKEN, SECRET_OUT]) expect(ev).not.toContain(s);
  });

  it('a re-run is a no-op: no step runs, nothing is re-registered, records are not rewritten', async () => {
    await engine().install(await plan());
    const before = (await fakes.calls()).length;
    const writes = cluster.writes;
    const upserts = registry.upserts;
    const summary = await engine().install(await plan());
    expect(summary.extensions.map((e) => e.state)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(summary.extensions.every((e) => e.steps.every((s) => s.state === 'skipped'))).toBe(true);
    expect((await fakes.calls()).length).toBe(before);
    expect(cluster.writes).toBe(writes);
    expect(registry.upserts).toBe(upserts);
  });

  it('--force-reinstall redoes every step; a changed parameter redoes only the affected step', async () => {
    await engine().install(await plan(['charlie']));
    const n0 = (await fakes.calls()).length;
    await engine({ force: true }).install(await plan(['charlie']));
    expect((await fakes.calls()).length).toBe(n0 + 1);
    const s = await engine().install(await plan(['charlie'], ['charlie.greeting=changed']));
    expect(s.extensions[0]?.steps).toEqual([{ id: 'install-0', type: 'manifest', state: 'done' }]);
  });

  it('a redone step is recorded `running` before it starts: a run killed in it redoes it instead of skipping it', async () => {
    await engine().install(await plan(['charlie']));
    const seen: string[] = [];
    const write = cluster.writeRecord.bind(cluster);
    cluster.writeRecord = async (r) => {
      seen.push(r.steps['install-0']?.state ?? 'none');
      await write(r);
    };
    await engine({ force: true }).install(await plan(['charlie']));
    expect(seen.slice(0, 3)).toEqual(['done', 'running', 'done']);
    // What a kill during the step leaves behind: the next plain run redoes the step.
    const killed = cluster.records.get('charlie');
    if (!killed) throw new Error('no record');
    killed.status = 'installing';
    (killed.steps['install-0'] as { state: string }).state = 'running';
    const n0 = (await fakes.calls()).length;
    const s = await engine().install(await plan(['charlie']));
    expect(s.extensions[0]?.steps).toEqual([{ id: 'install-0', type: 'manifest', state: 'done' }]);
    expect((await fakes.calls()).length).toBe(n0 + 1);
    expect(cluster.records.get('charlie')).toMatchObject({ status: 'installed', steps: { 'install-0': { state: 'done' } } });
  });

  it('a failed step fails its extension, skips what requires it, registers nothing for them, and the re-run resumes', async () => {
    const s1 = await engine({ fail: 'alpha' }).install(await plan());
    expect(s1.extensions.map((e) => [e.name, e.state])).toEqual([['alpha', 'failed'], ['charlie', 'installed'], ['bravo', 'skipped']]);
    expect(s1.extensions[0]?.code).toBe('EXEC');
    expect(s1.extensions[0]?.steps).toEqual([{ id: 'app', type: 'helm', state: 'failed' }]);
    expect(registry.records.has('alpha')).toBe(false);
    expect(registry.records.has('bravo')).toBe(false);
    expect(cluster.records.get('alpha')).toMatchObject({ status: 'failed', steps: { app: { state: 'failed' } } });
    const err = summaryError(s1, 'install', '/j');
    expect(err?.code).toBe('EXEC');
    expect(err?.message).toMatch(/^install of alpha failed: .*; not installed: bravo\n {2}Error: planted failure for alpha$/);
    // fixed: the re-run installs alpha and bravo, charlie stays as it is
    const s2 = await engine().install(await plan());
    expect(s2.extensions.map((e) => [e.name, e.state])).toEqual([['alpha', 'installed'], ['charlie', 'unchanged'], ['bravo', 'installed']]);
  });

  it('resumes a run killed half-way: finished steps are skipped', async () => {
    const p = await plan(['bravo']);
    // As if a previous run finished alpha and bravo's helm step, then died.
    await engine().install(await plan(['alpha']));
    const bravo = p.extensions.get('bravo');
    await cluster.writeRecord({ extension: 'bravo', product: 'p', version: 'v', namespace: 'fx-bravo', namespaces: ['fx-bravo'], requires: ['alpha'], params: {}, outputs: {}, steps: { app: { state: 'done', digest: bravo?.install[0]?.digest as string, at: '' } }, status: 'installing', updatedAt: '' });
    const s = await engine().install(p);
    expect(s.extensions.find((e) => e.name === 'bravo')?.steps).toEqual([{ id: 'app', type: 'helm', state: 'skipped' }, { id: 'configure', type: 'script', state: 'done' }]);
  });

  it('registry unreachable: the install completes, the registration is journaled (0600), the run ends with REGISTRY; sync delivers it', async () => {
    registry.up = false;
    const s = sink();
    const summary = await engine({}, s).install(await plan(['alpha']));
    expect(summary.extensions[0]).toMatchObject({ state: 'installed', registration: 'pending' });
    expect(cluster.records.get('alpha')?.registration?.state).toBe('pending');
    const err = summaryError(summary, 'install', s.journal.dir, s.url);
    expect(err?.code).toBe('REGISTRY');
    expect(err?.message).toMatch(/installed, but the registration of alpha could not be delivered to http:\/\/fake:8000 .*journaled in/);
    expect(err?.hint).toMatch(/extensions sync/);
    expect(err?.message).not.toContain(SECRET_OUT);
    const files = await readdir(s.journal.dir);
    expect(files).toHaveLength(1);
    expect(((await stat(join(s.journal.dir, files[0] as string))).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(s.journal.dir)).mode & 0o777).toString(8)).toBe('700');
    // Sealed: no credential value in clear in the journal file (the key lives in the config folder).
    expect(await readFile(join(s.journal.dir, files[0] as string), 'utf8')).not.toContain(SECRET_OUT);
    // still down: sync fails and keeps it
    expect((await s.sync()).failed).toHaveLength(1);
    registry.up = true;
    const r = await s.sync();
    expect(r.delivered.map((d) => d.id)).toEqual(['alpha']);
    expect(registry.records.get('alpha')?.services?.[0]?.credentials?.[0]?.configuration?.ALPHA_PASSWORD).toBe(SECRET_OUT);
    expect(await readdir(s.journal.dir)).toEqual([]);
    // the next install re-registers the pending one (its record said pending)
    const again = await engine({}, s).install(await plan(['alpha']));
    expect(again.extensions[0]?.registration).toBe('registered');
    expect(cluster.records.get('alpha')?.registration?.state).toBe('registered');
  });
});

describe('uninstall', () => {
  it('goes in reverse dependency order, deregisters, deletes only our namespaces no one uses any more', async () => {
    cluster.namespaces.set('fx-charlie', false); // existed before: not ours
    await engine().install(await plan());
    expect(installedDependents(['alpha'], [...cluster.records.values()])).toEqual(['bravo']);
    const repo = await loadRepository(REPO);
    const targets = ['bravo', 'alpha', 'charlie'];
    const p = await createPlan(repo, { extensions: targets, withDependencies: false, forUninstall: true });
    const before = (await fakes.calls()).length;
    const s = await engine().uninstall(targets, p.extensions, [...cluster.records.values()]);
    expect(s.extensions.map((e) => [e.name, e.state, e.registration])).toEqual([
      ['bravo', 'uninstalled', 'deregistered'],
      ['charlie', 'uninstalled', 'deregistered'],
      ['alpha', 'uninstalled', 'deregistered'],
    ]);
    const calls = (await fakes.calls()).slice(before);
    const bravoOff = calls.find((c) => c.args.startsWith('uninstall bravo')) as (typeof calls)[number];
    const alphaOff = calls.find((c) => c.args.startsWith('uninstall alpha')) as (typeof calls)[number];
    expect(alphaOff.start).toBeGreaterThanOrEqual(bravoOff.end);
    expect(calls.find((c) => c.tool === 'kubectl')?.args).toMatch(/^delete --ignore-not-found --wait --timeout=300s --namespace fx-charlie -f /);
    expect(registry.records.size).toBe(0);
    expect(cluster.records.size).toBe(0);
    expect(s.namespacesDeleted.sort()).toEqual(['fx-alpha', 'fx-bravo']);
    expect(cluster.namespaces.has('fx-charlie')).toBe(true);
  });
});

describe('interruption', () => {
  it('an abort during a helm step stops it, marks the record interrupted with the step, and the re-run resumes', async () => {
    fakes.env.FAKE_SLEEP = '5';
    const ac = new AbortController();
    const e = new InstallerEngine({ cluster, tools: { helm: fakes.helm, kubectl: fakes.kubectl }, env: fakes.env, sink: sink(), reporter: { event: (x) => events.push(x) }, signal: ac.signal });
    const p = await plan(['alpha']);
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 300);
    const summary = await e.install(p);
    expect(Date.now() - t0).toBeLessThan(4000); // the fake helm (sleep 5) was stopped
    expect(summary.extensions[0]).toMatchObject({ name: 'alpha', state: 'interrupted', code: 'CANCELLED', stoppedIn: 'install step helm alpha (app)' });
    expect(cluster.records.get('alpha')).toMatchObject({ status: 'interrupted', message: 'interrupted during install step helm alpha (app)', steps: { app: { state: 'interrupted' } } });
    const err = summaryError(summary, 'install', '/j', undefined, 'SIGINT');
    expect(err?.message).toBe('install cancelled (SIGINT): stopped in alpha (install step helm alpha (app)); the lock is released');
    expect(err?.exitCode).toBe(130);
    expect(summaryError(summary, 'install', '/j', undefined, 'SIGTERM')?.exitCode).toBe(143);
    expect(registry.records.size).toBe(0);

    fakes.env.FAKE_SLEEP = '0';
    const again = await engine().install(p);
    expect(again.extensions[0]).toMatchObject({ name: 'alpha', state: 'installed', registration: 'registered' });
    expect(cluster.records.get('alpha')?.status).toBe('installed');
  });

  it('helm and kubectl get the target cluster flags before their sub-command', async () => {
    const e = new InstallerEngine({ cluster, tools: { helm: fakes.helm, kubectl: fakes.kubectl }, env: fakes.env, kube: { helm: ['--kube-context', 'ctx-b'], kubectl: ['--context', 'ctx-b'] }, sink: sink(), reporter: { event: () => undefined } });
    await e.install(await plan(['alpha', 'charlie']));
    const calls = await fakes.calls();
    expect(calls.find((c) => c.tool === 'helm')?.args).toMatch(/^--kube-context ctx-b upgrade --install alpha /);
    expect(calls.find((c) => c.tool === 'kubectl')?.args).toMatch(/^--context ctx-b apply /);
  });
});

describe('ownership of registry records', () => {
  it('install refuses a record it did not create (nothing installed); --adopt takes it over; its own record is updated freely', async () => {
    registry.records.set('charlie', { id: 'charlie', status: { installed: false, message: 'registered by hand' } });
    await expect(engine().install(await plan(['charlie']))).rejects.toThrow(/already holds charlie \(for charlie: "registered by hand"\), not created by this installer; nothing was installed/);
    expect(cluster.records.size).toBe(0);
    expect((await fakes.calls()).length).toBe(0);
    expect(registry.records.get('charlie')?.status?.message).toBe('registered by hand');

    const adopted = await engine({ adopt: true }).install(await plan(['charlie']));
    expect(adopted.extensions[0]).toMatchObject({ state: 'installed', registration: 'registered' });
    expect(registry.records.get('charlie')?.status?.message).toMatch(/installed by fuseml-installer/);
    // Now ours (the install record names it): a plain re-install may update it.
    const again = await engine({ force: true }).install(await plan(['charlie']));
    expect(again.extensions[0]?.state).toBe('installed');
  });
});

describe('a step that is not progressing', () => {
  it('reports the cluster\'s diagnosis in the progress while it runs, and in the error when it fails', async () => {
    fakes.env.FAKE_SLEEP = '1';
    const diagnosed = Object.assign(cluster, { diagnose: async (ns: string) => [`PersistentVolumeClaim ${ns}/data Pending (no StorageClass)`] });
    const e = new InstallerEngine({ cluster: diagnosed, tools: { helm: fakes.helm, kubectl: fakes.kubectl }, env: { ...fakes.env, FAKE_FAIL_ON: 'alpha' }, reporter: { event: (x) => events.push(x) }, diagnoseAfterMs: 100 });
    const s = await e.install(await plan(['alpha']));
    expect(events).toContainEqual(expect.objectContaining({ type: 'step', state: 'running', message: 'not progressing: PersistentVolumeClaim fx-alpha/data Pending (no StorageClass)' }));
    expect(s.extensions[0]?.error).toMatch(/\n {2}not progressing: PersistentVolumeClaim fx-alpha\/data Pending \(no StorageClass\)$/);
  });
});
