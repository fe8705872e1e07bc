/**
 * Extension sources on the local control plane: one extension installed from a local bare git
 * repository URL at a tag, one from a .tgz URL served on loopback; both reach Ready, their install
 * records pin the commit and the digest, and uninstall finds their steps through the pinned source
 * (no --extensions-repository).
 */
import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { e2eCluster } from '../helpers/namespace.js';
import { gitFixture, serveFiles, tgz, type FileServer, type GitFixture } from '../helpers/sources.js';

const FIX = resolve(import.meta.dirname, '../fixtures/installer/repo');
const rnd = randomBytes(3).toString('hex');
const NS = { a: `e2e-sa-${rnd}`, c: `e2e-sc-${rnd}`, inst: `e2e-sinst-${rnd}` };

let kubeconfig: string;
let helm: string;
let kubectl: string;
let dir: string;
let repo: GitFixture;
let server: FileServer;
let digest: string;

beforeAll(async () => {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-sources-'));
  repo = await gitFixture(join(dir, 'git'), join(FIX, 'charlie'), 'v0.3.0', 'extensions/charlie');
  const archive = await tgz(join(FIX, 'alpha'), join(dir, 'out', 'alpha.tgz'));
  digest = createHash('sha256').update(archive).digest('hex');
  server = await serveFiles({ '/releases/alpha-1.0.0.tgz': archive });
});

afterAll(async () => {
  await installer(['uninstall', '--all', '--yes']).catch(() => undefined);
  await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', '--ignore-not-found', '--wait=false', NS.a, NS.c, NS.inst], { allowFailure: true });
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function env(): Record<string, string | undefined> {
  return { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_STATE_DIR: dir, FUSEML_CONFIG_DIR: join(dir, 'config'), FUSEML_CACHE_DIR: join(dir, 'cache'), CI: '1' };
}

const installer = (args: string[]): Promise<CliResult> =>
  cli('fuseml-installer', [...args, '--installer-namespace', NS.inst, ...(args[0] === 'status' ? [] : ['--no-register'])], { env: env(), timeoutMs: 240_000 });

interface StatusRow {
  extension: string;
  version: string;
  status: string;
  source?: { kind: string; url: string; ref?: string; subdir?: string; commit?: string; digest?: string };
}

describe('install -e from a git URL and from a .tgz URL', () => {
  it('git+file:// bare repository at a tag: installed, the commit pinned in the record', async () => {
    const r = await installer(['install', '-e', `${repo.url}#v0.3.0:extensions/charlie`, '--set', `charlie.namespace=${NS.c}`, '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { extensions: { name: string; state: string }[] }).extensions).toMatchObject([{ name: 'charlie', state: 'installed' }]);
    const cm = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmap', 'charlie', '-n', NS.c, '-o', 'jsonpath={.data.greeting}']);
    expect(cm.stdout).toBe('hello');
  });

  it('https .tgz on loopback: installed (Deployment available), the digest pinned in the record', async () => {
    const r = await installer(['install', '-e', `${server.url}/releases/alpha-1.0.0.tgz`, '--set', `alpha.namespace=${NS.a}`, '--set', 'alpha.password=not-a-secret', '-o', 'json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { extensions: { name: string; state: string }[] }).extensions).toMatchObject([{ name: 'alpha', state: 'installed' }]);
    expect(server.requests).toEqual(['/releases/alpha-1.0.0.tgz']);
    const ready = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'deployment', 'alpha', '-n', NS.a, '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
    expect(ready.stdout).toBe('True');
  });

  it('status shows both records with their pinned sources; uninstall uses them', async () => {
    const s = await installer(['status', '-o', 'json']);
    expect(s.exitCode, s.stderr).toBe(0);
    const rows = (JSON.parse(s.stdout) as StatusRow[]).sort((x, y) => x.extension.localeCompare(y.extension));
    expect(rows).toMatchObject([
      { extension: 'alpha', status: 'installed', source: { kind: 'archive', url: `${server.url}/releases/alpha-1.0.0.tgz`, digest: `sha256:${digest}` } },
      { extension: 'charlie', status: 'installed', source: { kind: 'git', url: `file://${repo.bare}`, ref: 'v0.3.0', subdir: 'extensions/charlie', commit: repo.commits['v0.3.0'] } },
    ]);

    // Re-running the same git install is a no-op (the cached checkout, the same commit).
    const again = await installer(['install', '-e', `${repo.url}#v0.3.0:extensions/charlie`, '--set', `charlie.namespace=${NS.c}`, '-o', 'json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { extensions: { state: string }[] }).extensions[0]?.state).toBe('unchanged');

    // Neither is in any repository folder: uninstall reads the steps from the pinned sources.
    await server.close();
    const un = await installer(['uninstall', '--all', '--yes', '-o', 'json']);
    expect(un.exitCode, un.stderr).toBe(0);
    const after = await installer(['status', '-o', 'json']);
    expect(JSON.parse(after.stdout)).toEqual([]);
    const cm = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'configmap', 'charlie', '-n', NS.c, '--ignore-not-found', '-o', 'name'], { allowFailure: true });
    expect(cm.stdout.trim()).toBe('');
  });
});
