/**
 * The installer acts on the cluster kubectl would pick — and so do the helm and
 * kubectl it runs: KUBECONFIG lists merged first-wins (duplicate user and
 * cluster names are fine), --context and --kubeconfig. A second kubeconfig
 * points at a dead API server (127.0.0.1:9) under the same names: any process
 * that picked it (the installer itself, helm or kubectl) would fail.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { e2eCluster } from '../helpers/namespace.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const rnd = randomBytes(3).toString('hex');
const NS = { a: `e2e-ta-${rnd}`, c: `e2e-tc-${rnd}`, inst: `e2e-tinst-${rnd}`, ctx: `e2e-tctx-${rnd}` };

let good: string;
let helm: string;
let kubectl: string;
let dir: string;
let dead: string;
let two: string;
let server: string;

interface Kc { clusters: { name: string; cluster: { server: string } }[]; users: { name: string; user: Record<string, unknown> }[]; contexts: { name: string; context: Record<string, string> }[]; 'current-context': string }

beforeAll(async () => {
  ({ kubeconfig: good, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-target-'));
  const g = parse(await readFile(good, 'utf8')) as Kc;
  server = g.clusters[0]?.cluster.server ?? '';
  const ctx = g.contexts[0] as Kc['contexts'][number];
  // Same cluster, user and context names as the good file; another current-context; a dead server.
  const d: Kc = {
    ...g,
    clusters: [{ name: ctx.context.cluster as string, cluster: { server: 'https://127.0.0.1:9' } }],
    users: [{ name: ctx.context.user as string, user: { token: 'dead-token' } }],
    contexts: [{ name: 'dead', context: { cluster: ctx.context.cluster as string, user: ctx.context.user as string } }, ctx],
    'current-context': 'dead',
  };
  dead = join(dir, 'dead.kubeconfig');
  await writeFile(dead, stringify(d), { mode: 0o600 });
  // One file, two contexts: the current one dead, `live` on the real API server with its own default namespace.
  const t: Kc = {
    ...g,
    clusters: [...g.clusters, { name: 'deadc', cluster: { server: 'https://127.0.0.1:9' } }],
    contexts: [{ name: 'dead', context: { cluster: 'deadc', user: ctx.context.user as string } }, { name: 'live', context: { ...ctx.context, namespace: NS.ctx } }],
    'current-context': 'dead',
  };
  two = join(dir, 'two.kubeconfig');
  await writeFile(two, stringify(t), { mode: 0o600 });
});

afterAll(async () => {
  await cli('fuseml-installer', ['--extensions-repository', REPO, 'uninstall', '--all', '--yes', '--installer-namespace', NS.inst, '--no-register', '--kubeconfig', good], { env: env(), timeoutMs: 240_000 }).catch(() => undefined);
  await run(kubectl, ['--kubeconfig', good, 'delete', 'namespace', '--ignore-not-found', '--wait=false', NS.a, NS.c, NS.inst], { allowFailure: true });
  await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { FUSEML_HELM: helm, FUSEML_STATE_DIR: dir, FUSEML_CONFIG_DIR: join(dir, 'config'), CI: '1', KUBECONFIG: undefined, ...extra };
}

const installer = (args: string[], extra: Record<string, string | undefined>): Promise<CliResult> =>
  cli('fuseml-installer', ['--extensions-repository', REPO, ...args, '--installer-namespace', NS.inst], { env: env(extra), timeoutMs: 240_000 });

const alpha = ['--extensions', 'alpha', '--set', `alpha.namespace=${NS.a}`, '--set', 'alpha.password=not-a-secret', '--no-register'];
const helmReleases = async (ns: string) => (await run(helm, ['list', '--kubeconfig', good, '--namespace', ns, '-q'])).stdout.trim();

describe('the cluster is the one kubectl would use, for the installer and its helm and kubectl', () => {
  it('KUBECONFIG=good:dead (same user/cluster names in both): install, status and uninstall act on good, helm too', async () => {
    const list = { KUBECONFIG: `${good}:${dead}` };
    const i = await installer(['install', ...alpha, '-o', 'json'], list);
    expect(i.stderr).toContain(`cluster: context fuseml-local (${server})`);
    expect(i.exitCode, i.stderr).toBe(0);
    expect(await helmReleases(NS.a)).toBe('alpha');
    const s = await installer(['status', '-o', 'json'], list);
    expect(s.exitCode, s.stderr).toBe(0);
    expect((JSON.parse(s.stdout) as { extension: string; status: string }[]).map((r) => `${r.extension}:${r.status}`)).toEqual(['alpha:installed']);
    const u = await installer(['uninstall', '--extensions', 'alpha', '--no-register', '--yes'], list);
    expect(u.exitCode, u.stderr).toBe(0);
    expect(await helmReleases(NS.a)).toBe('');
  });

  it('KUBECONFIG=dead:good: the dead file is first, so everything goes there and fails as unreachable', async () => {
    const r = await installer(['status'], { KUBECONFIG: `${dead}:${good}` });
    expect(r.exitCode).toBe(8);
    expect(r.stderr).toContain('cluster: context dead (https://127.0.0.1:9)');
  });

  it('--context picks the second context (its own default namespace) for the installer, helm and kubectl; --kubeconfig FILE --context too', async () => {
    const only = { KUBECONFIG: two };
    expect((await installer(['status'], only)).exitCode).toBe(8); // current-context: dead
    const i = await installer(['install', ...alpha, '--extensions', 'charlie', '--set', `charlie.namespace=${NS.c}`, '--context', 'live', '-o', 'json'], only);
    expect(i.stderr).toContain(`cluster: context live (${server})`);
    expect(i.exitCode, i.stderr).toBe(0);
    expect(await helmReleases(NS.a)).toBe('alpha');
    // charlie: kubectl apply (manifest) and a kubectl jsonpath output went to the live context too.
    const cm = await run(kubectl, ['--kubeconfig', good, 'get', 'configmap', 'charlie', '-n', NS.c, '-o', 'jsonpath={.data.greeting}']);
    expect(cm.stdout).toBe('hello');
    const s = await installer(['status', '--kubeconfig', two, '--context', 'live', '-o', 'json'], { KUBECONFIG: dead });
    expect((JSON.parse(s.stdout) as { extension: string }[]).map((r) => r.extension)).toEqual(['alpha', 'charlie']);
    const u = await installer(['uninstall', '--all', '--yes', '--no-register', '--kubeconfig', two, '--context', 'live'], { KUBECONFIG: dead });
    expect(u.exitCode, u.stderr).toBe(0);
    expect(await helmReleases(NS.a)).toBe('');
    expect(u.stderr).toContain(`cluster: context live (${server})`);
  });

  it('an unknown --context is a clear error listing the contexts', async () => {
    const r = await installer(['status', '--context', 'nope'], { KUBECONFIG: two });
    expect(r.exitCode).toBe(8);
    expect(r.stderr).toMatch(/^Error: the kubeconfig .*two\.kubeconfig has no context "nope" \(--context\)$/m);
    expect(r.stderr).toMatch(/^Hint: contexts: dead, live$/m);
  });
});
