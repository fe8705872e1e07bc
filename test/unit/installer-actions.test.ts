/**
 * The actions (src/installer/actions.ts) over the in-memory cluster and fake helm / kubectl: values that
 * persist (sensitive ones only in the private data), the history bound, rollback of values, diff
 * touching nothing. The real thing (helm revisions, helm rollback, the registry) is
 * test/e2e/installer-lifecycle.test.ts.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadRepository, type Repository } from '../../src/descriptor/repository.js';
import { diffAction, historyAction, installAction, rollbackAction, type ActionEnv, type InstallOptions } from '../../src/installer/actions.js';
import { HISTORY_LIMIT } from '../../src/installer/cluster.js';
import { MemoryCluster } from '../helpers/memory-cluster.js';
import { parseSetFlags } from '../../src/installer/params.js';
import { makeFakes, type Fakes } from './installer-fakes.js';

const KEY = 'k3y-PLANTED-unit';
let fakes: Fakes;
let repo: Repository;
let cluster: MemoryCluster;
const saved = { helm: process.env.FUSEML_HELM, kubectl: process.env.FUSEML_KUBECTL };

beforeAll(async () => {
  fakes = await makeFakes(0);
  process.env.FUSEML_HELM = fakes.helm;
  process.env.FUSEML_KUBECTL = fakes.kubectl;
  repo = await loadRepository(resolve(import.meta.dirname, '../fixtures/installer/lifecycle'));
});
afterAll(async () => {
  for (const [k, v] of [['FUSEML_HELM', saved.helm], ['FUSEML_KUBECTL', saved.kubectl]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await fakes.cleanup();
});
beforeEach(() => {
  cluster = new MemoryCluster();
  // the Service the fixture chart creates (a named port; the cluster gives its number)
  cluster.services.set('fx-echo/echo', [{ name: 'http', port: 8080 }]);
});

function env(): ActionEnv {
  return {
    connect: async () => ({ cluster, access: { env: fakes.env, helm: [], kubectl: [] }, where: 'memory', holder: 'unit', lockTimeoutMs: 0 }),
    reporter: async () => ({ event: () => undefined }),
    warn: () => undefined,
  };
}

function opts(set: string[], extra: Partial<InstallOptions> = {}): InstallOptions {
  const { assignments, issues } = parseSetFlags(set);
  return { repo, names: ['echo'], assignments, issues, ...extra };
}

const helmInstalls = async () => (await fakes.calls()).filter((c) => c.tool === 'helm' && c.args.startsWith('upgrade --install')).length;

describe('installer actions', () => {
  it('install records what the user set; sensitive values only in the private data; a re-run reuses them', async () => {
    const first = await installAction(env(), opts(['echo.host=a.example', `echo.apiKey=${KEY}`]));
    expect(first.summary.extensions[0]?.state).toBe('installed');
    const rec = cluster.records.get('echo');
    expect(rec?.values).toEqual({ set: { host: 'a.example' }, sensitive: ['apiKey'] });
    expect(JSON.stringify(rec)).not.toContain(KEY);
    expect(JSON.parse(cluster.private.get('echo')?.['values.json'] ?? '{}')).toEqual({ apiKey: KEY });
    expect(rec?.history?.map((h) => [h.revision, h.action])).toEqual([[1, 'install']]);

    const n = await helmInstalls();
    // Nothing given: the required apiKey and host come from the record; nothing runs.
    const again = await installAction(env(), opts([]));
    expect(again.summary.extensions[0]?.state).toBe('unchanged');
    expect(await helmInstalls()).toBe(n);
    expect(cluster.records.get('echo')?.history).toHaveLength(1);

    // One value changed, the others kept.
    const up = await installAction(env(), opts(['echo.replicas=2'], { upgrade: true }));
    expect(up.summary.extensions[0]?.state).toBe('installed');
    expect(await helmInstalls()).toBe(n + 1);
    expect(cluster.records.get('echo')?.values).toEqual({ set: { host: 'a.example', replicas: 2 }, sensitive: ['apiKey'] });
    expect(cluster.records.get('echo')?.history?.map((h) => h.action)).toEqual(['install', 'upgrade']);
  });

  it('--reset-values drops the recorded values (a required one is missing again)', async () => {
    await installAction(env(), opts(['echo.host=a.example', `echo.apiKey=${KEY}`]));
    await expect(installAction(env(), opts([], { resetValues: true }))).rejects.toMatchObject({ code: 'VALIDATION', issues: [expect.objectContaining({ message: expect.stringMatching(/apiKey is required/) })] });
    await installAction(env(), opts([`echo.apiKey=${KEY}`], { resetValues: true }));
    expect(cluster.records.get('echo')?.values).toEqual({ set: {}, sensitive: ['apiKey'] });
  });

  it('upgrade refuses what is not installed', async () => {
    await expect(installAction(env(), opts([`echo.apiKey=${KEY}`], { upgrade: true }))).rejects.toThrow(/not installed by this installer: echo/);
  });

  it(`keeps at most ${HISTORY_LIMIT} revisions, their private data pruned with them`, async () => {
    for (let i = 1; i <= HISTORY_LIMIT + 3; i++) await installAction(env(), opts([`echo.replicas=${i}`, `echo.apiKey=${KEY}`]));
    const history = await historyAction(env(), 'echo');
    expect(history.map((h) => h.revision)).toEqual(Array.from({ length: HISTORY_LIMIT }, (_, i) => i + 4));
    expect(Object.keys(cluster.private.get('echo') ?? {}).filter((k) => k.startsWith('rev-')).sort()).toEqual(history.map((h) => `rev-${h.revision}.json`).sort());
  });

  it('rollback restores the values of the revision (sensitive ones too) and records itself', async () => {
    await installAction(env(), opts(['echo.host=a.example', `echo.apiKey=${KEY}`]));
    await installAction(env(), opts(['echo.host=b.example', 'echo.apiKey=other-key']));
    const r = await rollbackAction(env(), { name: 'echo' });
    expect(r).toMatchObject({ from: 2, to: 1, revision: 3 });
    expect(cluster.records.get('echo')?.values?.set).toEqual({ host: 'a.example' });
    expect(JSON.parse(cluster.private.get('echo')?.['values.json'] ?? '{}')).toEqual({ apiKey: KEY });
    await expect(rollbackAction(env(), { name: 'echo', revision: 42 })).rejects.toThrow(/no revision 42/);
  });

  it('diff reports a --set change with the sensitive one hidden, and writes nothing', async () => {
    await installAction(env(), opts(['echo.host=a.example', `echo.apiKey=${KEY}`]));
    const writes = cluster.writes;
    const d = await diffAction(env(), opts(['echo.host=b.example', 'echo.apiKey=new-key']));
    expect(d.changed).toBe(true);
    const changes = d.extensions[0]?.changes ?? [];
    expect(changes).toContainEqual({ kind: 'parameter', path: 'host', from: 'a.example', to: 'b.example' });
    expect(changes).toContainEqual({ kind: 'parameter', path: 'apiKey', from: '***', to: '***' });
    expect(JSON.stringify(d)).not.toContain(KEY);
    expect(JSON.stringify(d)).not.toContain('new-key');
    expect(cluster.writes).toBe(writes);
    const same = await diffAction(env(), opts([]));
    expect(same.extensions[0]?.changes.filter((c) => c.kind === 'parameter')).toEqual([]);
  });
});
