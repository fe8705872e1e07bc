/**
 * The doctor's comparison with fakes (an in-memory cluster, a fake registry, helm release states from a
 * table): every drift kind found, named without values, and --fix's re-registration / deregistration.
 * test/e2e/installer-doctor.test.ts does the same on the local control plane with real helm and a registry.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FusemlError } from '../../src/core/errors.js';
import type { ExtensionRecord } from '../../src/core/records.js';
import { loadRepository } from '../../src/descriptor/repository.js';
import type { InstallRecord } from '../../src/installer/cluster.js';
import { applyFixes, checkDrift, type DoctorReport } from '../../src/installer/doctor.js';
import { InstallerEngine } from '../../src/installer/engine.js';
import { Journal } from '../../src/installer/journal.js';
import { MemoryCluster } from '../helpers/memory-cluster.js';
import { parseSetFlags } from '../../src/installer/params.js';
import { createPlan, type ExtensionPlan, type PlannedWait } from '../../src/installer/plan.js';
import { RegistrySink } from '../../src/installer/registry-sink.js';
import { FakeRegistry, makeFakes, seedFixtureCluster, type Fakes } from './installer-fakes.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const PW = 'pw-PLANTED-doctor-1';
const SECRET_OUT = 'from-a-secret-PLANTED-doctor-2';
const ROTATED = 'rotated-PLANTED-doctor-3';

/** Waits fail for the kinds listed in `notReady` (a real cluster checks the objects). */
class DriftingCluster extends MemoryCluster {
  notReady = new Set<string>();
  override async wait(w: PlannedWait): Promise<void> {
    if (this.notReady.has(w.kind)) throw new FusemlError('TIMEOUT', `waiting for ${w.kind} ${w.name ?? ''} in ${w.namespace} (Available): not ready after 0s (0/1 deployments ready)`);
    return super.wait(w);
  }
}

let fakes: Fakes;
let stateDir: string;
let cluster: DriftingCluster;
let registry: FakeRegistry;
/** helm release → state (absent: deployed). */
let releases: Map<string, string | null>;

beforeEach(async () => {
  fakes = await makeFakes();
  stateDir = await mkdtemp(join(tmpdir(), 'fuseml-doctor-'));
  cluster = new DriftingCluster();
  seedFixtureCluster(cluster, SECRET_OUT);
  registry = new FakeRegistry();
  releases = new Map();
});
afterEach(async () => {
  await fakes.cleanup();
  await rm(stateDir, { recursive: true, force: true });
});

const sink = () => new RegistrySink('http://fake:8000', async () => registry, new Journal(join(stateDir, 'journal'), join(stateDir, 'config', 'journal.key')));

async function install(names: string[], opts: { register?: boolean } = {}): Promise<void> {
  const repo = await loadRepository(REPO);
  const p = await createPlan(repo, { extensions: names, assignments: parseSetFlags(names.includes('alpha') ? [`alpha.password=${PW}`] : []).assignments });
  const engine = new InstallerEngine({ cluster, tools: { helm: fakes.helm, kubectl: fakes.kubectl }, env: fakes.env, sink: opts.register === false ? undefined : sink(), reporter: { event: () => undefined } });
  const s = await engine.install(p);
  expect(s.extensions.every((e) => e.state === 'installed'), JSON.stringify(s)).toBe(true);
}

/** What the doctor command does: plans from the records (recorded parameters), then the comparison. */
async function doctor(s: RegistrySink | undefined = sink()): Promise<DoctorReport> {
  const repo = await loadRepository(REPO);
  const records = await cluster.readRecords();
  const plan = await createPlan(repo, { extensions: records.map((r) => r.extension), withDependencies: false, forUninstall: true, recordedParams: new Map(records.map((r) => [r.extension, r.params])) });
  return checkDrift(records, {
    cluster,
    plans: plan.extensions as Map<string, ExtensionPlan>,
    sink: s,
    releaseStatus: async (release) => (releases.has(release) ? (releases.get(release) as string | null) : 'deployed'),
  });
}

const kinds = (r: DoctorReport): string[] => r.findings.map((f) => `${f.extension} ${f.kind}`);
const record = (n: string): InstallRecord => cluster.records.get(n) as InstallRecord;

describe('doctor', () => {
  it('reports nothing when records, releases, the cluster and the registry agree', async () => {
    await install(['alpha', 'charlie']);
    const r = await doctor();
    expect(r).toMatchObject({ clean: true, findings: [], notes: [], fixes: [], checked: ['alpha', 'charlie'], registry: 'http://fake:8000' });
  });

  it('release gone behind its back: release-missing and registered-but-gone; --fix deregisters and marks the record failed; then clean', async () => {
    await install(['alpha', 'charlie']);
    releases.set('alpha', null);
    const r = await doctor();
    expect(r.clean).toBe(false);
    expect(kinds(r)).toEqual(['alpha release-missing', 'alpha registered-but-gone']);
    expect(r.findings[0]?.detail).toBe(`helm release alpha in fx-alpha (step app) does not exist`);
    expect(r.findings[1]).toMatchObject({ detail: 'the registry holds alpha, but release alpha is missing', fix: 'deregister alpha' });
    // The waits of a missing release are not reported again.
    expect(cluster.waits).toHaveLength(1);
    const fixed = await applyFixes(r.fixes, { cluster, sink: sink() });
    expect(fixed).toEqual([
      { extension: 'alpha', action: 'deregister alpha', result: 'done', error: undefined },
      { extension: 'alpha', action: 'mark the install record failed (steps app)', result: 'done' },
    ]);
    expect(registry.records.has('alpha')).toBe(false);
    expect(registry.records.has('charlie')).toBe(true);
    expect(record('alpha')).toMatchObject({ status: 'failed', message: 'found by doctor: helm release alpha missing', registration: undefined });
    expect(record('alpha').steps.app?.state).toBe('failed');
    const after = await doctor();
    expect(after.clean).toBe(true);
    expect(after.notes).toEqual([{ extension: 'alpha', message: 'status failed (found by doctor: helm release alpha missing): not checked; fuseml-installer install (or uninstall) finishes it' }]);
  });

  it('a release that is not deployed: release-failed', async () => {
    await install(['alpha']);
    releases.set('alpha', 'pending-upgrade');
    const r = await doctor();
    expect(kinds(r)).toEqual(['alpha release-failed', 'alpha registered-but-gone']);
    expect(r.findings[0]?.detail).toBe('helm release alpha in fx-alpha (step app) is pending-upgrade');
  });

  it('an object install waited for is not ready: not-ready (no automatic fix)', async () => {
    await install(['alpha']);
    cluster.notReady.add('Deployment');
    const r = await doctor();
    expect(kinds(r)).toEqual(['alpha not-ready']);
    expect(r.findings[0]).toMatchObject({ detail: 'Deployment alpha in fx-alpha (Available): not ready (0/1 deployments ready)' });
    expect(r.findings[0]?.fix).toBeUndefined();
    expect(r.fixes).toEqual([]);
  });

  it('registered record gone from the registry: unregistered; --fix registers it again with fresh outputs', async () => {
    await install(['alpha']);
    registry.records.delete('alpha');
    const r = await doctor();
    expect(kinds(r)).toEqual(['alpha unregistered']);
    expect(r.findings[0]).toMatchObject({ detail: 'installed, but the registry has no record alpha', fix: 'register alpha (fresh outputs)' });
    await applyFixes(r.fixes, { cluster, sink: sink() });
    expect(registry.records.get('alpha')?.services?.[0]?.credentials?.[0]?.configuration?.ALPHA_PASSWORD).toBe(SECRET_OUT);
    expect((await doctor()).clean).toBe(true);
  });

  it('installed with --no-register: unregistered; a record this installer did not create is not overwritten', async () => {
    await install(['alpha'], { register: false });
    const r = await doctor();
    expect(r.findings).toMatchObject([{ extension: 'alpha', kind: 'unregistered', detail: 'installed without registering (--no-register): the registry has no record alpha', fix: 'register alpha (fresh outputs)' }]);
    registry.records.set('alpha', { id: 'alpha', product: 'x', version: '1', description: 'by hand', status: { installed: true, message: 'registered manually' }, services: [] } as unknown as ExtensionRecord);
    const foreign = await doctor();
    expect(foreign.findings).toMatchObject([{ kind: 'unregistered', hint: 'fuseml-installer install --extensions alpha --adopt takes it over' }]);
    expect(foreign.findings[0]?.fix).toBeUndefined();
    expect(foreign.fixes).toEqual([]);
  });

  it('a collected Secret changed: stale-outputs naming the output, never its value; --fix re-registers the new value', async () => {
    await install(['alpha', 'charlie']);
    cluster.values.set('password', ROTATED);
    const r = await doctor();
    expect(kinds(r)).toEqual(['alpha stale-outputs']);
    expect(r.findings[0]?.detail).toBe('the record registered as alpha no longer matches: sensitive output(s) password changed (stale credential), or the registration manifest did');
    const { fixes, ...shown } = r;
    expect(JSON.stringify(shown)).not.toContain(ROTATED);
    expect(JSON.stringify(shown)).not.toContain(SECRET_OUT);
    const digest = record('alpha').registration?.digest;
    const fixed = await applyFixes(fixes, { cluster, sink: sink() });
    expect(fixed).toEqual([{ extension: 'alpha', action: 'register alpha', result: 'done', error: undefined }]);
    expect(registry.records.get('alpha')?.services?.[0]?.credentials?.[0]?.configuration?.ALPHA_PASSWORD).toBe(ROTATED);
    expect(record('alpha').registration?.digest).not.toBe(digest);
    expect(JSON.stringify(record('alpha'))).not.toContain(ROTATED);
    expect((await doctor()).clean).toBe(true);
  });

  it('a non-sensitive output changed: stale-outputs naming it', async () => {
    await install(['charlie']);
    cluster.values.set('public_url', 'http://moved.example.test');
    const r = await doctor();
    expect(r.findings).toMatchObject([{ extension: 'charlie', kind: 'stale-outputs', detail: 'the record registered as charlie no longer matches: output(s) public_url changed' }]);
  });

  it('an output that cannot be read any more: stale-outputs without a fix', async () => {
    await install(['alpha']);
    cluster.values.delete('password');
    const r = await doctor();
    expect(r.findings).toMatchObject([{ extension: 'alpha', kind: 'stale-outputs', detail: 'outputs cannot be read now: output password: no value in the memory cluster' }]);
    expect(r.findings[0]?.fix).toBeUndefined();
  });

  it('a journaled registration is unregistered until delivered; --fix delivers it (or journals again when the registry is down)', async () => {
    registry.up = false;
    await install(['alpha']);
    expect(record('alpha').registration?.state).toBe('pending');
    const down = await doctor();
    expect(down).toMatchObject({ clean: true, registryUnreachable: true, findings: [] });
    registry.up = true;
    const r = await doctor();
    expect(r.findings).toMatchObject([{ kind: 'unregistered', detail: 'installed, but the registry has no record alpha (its registration is journaled, not delivered)' }]);
    registry.up = false;
    const journaled = await applyFixes(r.fixes, { cluster, sink: sink() });
    expect(journaled).toMatchObject([{ action: 'register alpha', result: 'journaled', error: 'registry http://fake: PUT /extensions: cannot connect (ECONNREFUSED)' }]);
    registry.up = true;
    await applyFixes(r.fixes, { cluster, sink: sink() });
    expect(record('alpha').registration?.state).toBe('registered');
    expect((await doctor()).clean).toBe(true);
  });

  it('records not installed, registered with another registry, or unknown to the repository: notes, not drift', async () => {
    await install(['alpha', 'charlie']);
    const other = new RegistrySink('http://elsewhere:8000', async () => registry, new Journal(join(stateDir, 'journal'), join(stateDir, 'config', 'journal.key')));
    const r = await doctor(other);
    expect(r.clean).toBe(true);
    expect(r.notes.map((n) => n.message)).toEqual([
      'registered with http://fake:8000, not the registry checked (http://elsewhere:8000): its record is not compared',
      'registered with http://fake:8000, not the registry checked (http://elsewhere:8000): its record is not compared',
    ]);
    const rec = record('charlie');
    cluster.records.set('charlie', { ...rec, status: 'interrupted', message: 'interrupted during x' });
    const ghost = { ...rec, extension: 'ghost' };
    const report = await checkDrift([...(await cluster.readRecords()), ghost], { cluster, plans: new Map(), sink: sink(), releaseStatus: async () => 'deployed' });
    expect(report.notes.map((n) => `${n.extension}: ${n.message.split(':')[0]}`)).toEqual(['alpha: not in the extension repository', 'charlie: status interrupted (interrupted during x)', 'ghost: not in the extension repository']);
  });
});
