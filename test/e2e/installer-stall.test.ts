/**
 * Failures that explain themselves, with the shipped s3 extension: an install whose
 * PersistentVolumeClaim cannot bind (no StorageClass, no PersistentVolume) says so
 * in its progress within 60 s; uninstall followed at once by install succeeds (the
 * install waits for the Terminating namespace instead of failing in helm).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { binPath, cli, type CliResult } from '../helpers/cli.js';
import { e2eCluster } from '../helpers/namespace.js';

const INST = `e2e-sinst-${randomBytes(3).toString('hex')}`;
let kubeconfig: string;
let helm: string;
let kubectl: string;
let dir: string;

beforeAll(async () => {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-stall-'));
});
afterAll(async () => {
  await installer(['uninstall', '--all', '--yes', '--no-register']).catch(() => undefined);
  await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', '--ignore-not-found', '--wait=false', INST], { allowFailure: true });
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_STATE_DIR: dir, FUSEML_CONFIG_DIR: join(dir, 'config'), CI: '1' });
const installer = (args: string[]): Promise<CliResult> => cli('fuseml-installer', [...args, '--installer-namespace', INST], { env: env(), timeoutMs: 300_000 });

describe('failures that explain themselves', () => {
  it('a PVC that cannot bind: "PersistentVolumeClaim … Pending (no StorageClass)" in the progress within 60 s', async () => {
    const sc = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'storageclass', '-o', 'name']);
    expect(sc.stdout.trim()).toBe(''); // the local control plane has no StorageClass
    // SIGTERM by hand (not run()'s cancellation, which force-kills after 2 s): the installer then cleans up at its pace.
    let pid: number | undefined;
    const lines: string[] = [];
    const t0 = Date.now();
    let seenAt: number | undefined;
    await run(process.execPath, [binPath('fuseml-installer'), 'install', '--extensions', 's3', '--no-register', '--installer-namespace', INST], {
      env: env(),
      onSpawn: (h) => (pid = h.pid),
      allowFailure: true,
      timeoutMs: 120_000,
      onLine: (line) => {
        lines.push(line);
        if (seenAt === undefined && /PersistentVolumeClaim s3\/s3-minio Pending \(no StorageClass/.test(line)) {
          seenAt = Date.now();
          if (pid) process.kill(pid, 'SIGTERM');
        }
      },
    }).catch((e: unknown) => e);
    expect(seenAt, lines.join('\n')).toBeDefined();
    expect((seenAt as number) - t0).toBeLessThan(60_000);
    expect(lines.join('\n')).toMatch(/^\[s3\] helm s3 \(install-0\): running - not progressing: PersistentVolumeClaim s3\/s3-minio Pending \(no StorageClass/m);
    const un = await installer(['uninstall', '--all', '--yes', '--no-register']);
    expect(un.exitCode, un.stderr).toBe(0);
  });

  it('uninstall -e s3 then at once install -e s3 succeeds (waits for the Terminating namespace)', async () => {
    const args = ['--extensions', 's3', '--set', 's3.persistence=false', '--no-register'];
    const first = await installer(['install', ...args]);
    expect(first.exitCode, first.stderr).toBe(0);
    const un = await installer(['uninstall', '--yes', ...args.filter((a) => a !== '--set' && a !== 's3.persistence=false')]);
    expect(un.exitCode, un.stderr).toBe(0);
    expect(un.stdout).toContain('namespaces deleted: s3');
    const again = await installer(['install', ...args]);
    expect(again.exitCode, again.stderr).toBe(0);
    // (When the namespace was still Terminating, stderr says "namespace s3 is being deleted (Terminating): waiting until it is gone".)
    const st = await run(helm, ['status', 's3', '--namespace', 's3', '-o', 'json'], { env: { KUBECONFIG: kubeconfig } });
    expect((JSON.parse(st.stdout) as { info: { status: string } }).info.status).toBe('deployed');
  });
});
