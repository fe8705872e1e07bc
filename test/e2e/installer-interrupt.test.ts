/**
 * Interrupting the installer: Ctrl-C on a real terminal (a pty made by
 * util-linux `script`), and SIGTERM without one. A slow helm (a wrapper that
 * sleeps before running the real helm) keeps the run inside its helm step when
 * the signal comes. Then: exit 130 / 143 with a "cancelled" message, the Lease
 * gone at once, the record `interrupted` with its step, the re-run completes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec/index.js';
import { resolveTool } from '../../src/exec/tools.js';
import { binPath, cli } from '../helpers/cli.js';
import { e2eCluster } from '../helpers/namespace.js';

const REPO = resolve(import.meta.dirname, '../fixtures/installer/repo');
const rnd = randomBytes(3).toString('hex');
const NS = { a: `e2e-ia-${rnd}`, inst: `e2e-iinst-${rnd}` };

let kubeconfig: string;
let helm: string;
let kubectl: string;
let dir: string;
let slowHelm: string;
let terminalScript: string;

const ARGS = ['--extensions-repository', REPO, 'install', '--extensions', 'alpha', '--set', `alpha.namespace=${NS.a}`, '--set', 'alpha.password=not-secret', '--no-register', '--installer-namespace', NS.inst];

beforeAll(async () => {
  ({ kubeconfig, helm } = e2eCluster());
  kubectl = await resolveTool('kubectl');
  dir = await mkdtemp(join(tmpdir(), 'fuseml-e2e-interrupt-'));
  // helm, but `upgrade` first marks a file and sleeps: the run is inside its helm step for a while.
  slowHelm = join(dir, 'slow-helm');
  await writeFile(slowHelm, '#!/bin/sh\ncase " $* " in *" upgrade "*) touch "$SLOW_HELM_MARK"; sleep 60;; esac\nexec "$REAL_HELM" "$@"\n');
  await chmod(slowHelm, 0o755);
  // What runs on the terminal: a fixed script reading its arguments from the environment (no command string is built).
  terminalScript = join(dir, 'on-terminal.sh');
  await writeFile(terminalScript, `#!/bin/sh\nexec "$T_NODE" "$T_BIN" ${ARGS.map((_, i) => `"$T_ARG${i}"`).join(' ')}\n`);
  await chmod(terminalScript, 0o755);
});

afterAll(async () => {
  await cli('fuseml-installer', ['--extensions-repository', REPO, 'uninstall', '--all', '--yes', '--no-register', '--installer-namespace', NS.inst], { env: env(), timeoutMs: 240_000 }).catch(() => undefined);
  await run(kubectl, ['--kubeconfig', kubeconfig, 'delete', 'namespace', '--ignore-not-found', '--wait=false', NS.a, NS.inst], { allowFailure: true });
  await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { KUBECONFIG: kubeconfig, FUSEML_HELM: helm, FUSEML_STATE_DIR: dir, FUSEML_CONFIG_DIR: join(dir, 'config'), REAL_HELM: helm, ...extra };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a process through src/exec (argument array), collecting its output; `done` resolves with the exit code. */
function start(file: string, args: string[], childEnv: Record<string, string | undefined>) {
  let out = '';
  let handle: { pid: number | undefined; write(data: string): void } | undefined;
  const done = run(file, args, {
    env: childEnv,
    allowFailure: true,
    timeoutMs: 240_000,
    onSpawn: (h) => (handle = h),
    onLine: (line) => (out += `${line}\n`),
  }).then((r) => r.exitCode);
  return {
    done,
    output: () => out,
    type: (keys: string) => handle?.write(keys),
    signal: (sig: NodeJS.Signals) => {
      if (handle?.pid) process.kill(handle.pid, sig);
    },
  };
}

const lease = async () => (await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'lease', 'fuseml-installer-lock', '-n', NS.inst], { allowFailure: true })).exitCode;
const record = async () => {
  const r = await cli('fuseml-installer', ['status', '-o', 'json', '--installer-namespace', NS.inst], { env: env() });
  return (JSON.parse(r.stdout) as { extension: string; status: string; message?: string; steps: Record<string, { state: string }> }[]).find((x) => x.extension === 'alpha');
};

describe('interrupting an install', () => {
  it('Ctrl-C on a terminal during a slow helm step: exit 130, "cancelled", Lease gone at once, record interrupted; the re-run completes', async () => {
    const mark = join(dir, 'tty.mark');
    const argEnv = Object.fromEntries(ARGS.map((a, i) => [`T_ARG${i}`, a]));
    // `script` gives the installer a pty; bytes written to script's stdin are typed on that terminal.
    const p = start('script', ['-qfec', terminalScript, '/dev/null'], env({ ...argEnv, T_NODE: process.execPath, T_BIN: binPath('fuseml-installer'), FUSEML_HELM: slowHelm, SLOW_HELM_MARK: mark, TERM: 'xterm', CI: undefined, GITHUB_ACTIONS: undefined }));
    await until(() => existsSync(mark), 120_000);
    expect(await lease()).toBe(0); // held while installing
    p.type('\x03'); // Ctrl-C
    const code = await p.done;
    const out = p.output();
    expect(code, out).toBe(130);
    expect(out).toMatch(/install cancelled \(SIGINT\): stopped in alpha \(install step helm alpha \(app\)\); the lock is released/);
    expect(out).not.toMatch(/fix the cause/);
    expect(await lease()).not.toBe(0); // released, not left to expire
    const rec = await record();
    expect(rec).toMatchObject({ status: 'interrupted', message: 'interrupted during install step helm alpha (app)', steps: { app: { state: 'interrupted' } } });

    const again = await cli('fuseml-installer', ARGS, { env: env({ CI: '1' }), timeoutMs: 240_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await record())?.status).toBe('installed');
    const st = await run(helm, ['status', 'alpha', '--namespace', NS.a, '-o', 'json'], { env: { KUBECONFIG: kubeconfig } });
    expect((JSON.parse(st.stdout) as { info: { status: string } }).info.status).toBe('deployed');
  });

  it('SIGTERM without a terminal: exit 143, cancelled, lock released; the uninstall re-run afterwards finishes', async () => {
    const mark = join(dir, 'term.mark');
    const p = start(process.execPath, [binPath('fuseml-installer'), ...ARGS, '--force-reinstall'], env({ FUSEML_HELM: slowHelm, SLOW_HELM_MARK: mark, CI: '1' }));
    await until(() => existsSync(mark), 120_000);
    p.signal('SIGTERM');
    const code = await p.done;
    expect(code, p.output()).toBe(143);
    expect(p.output()).toMatch(/^Error: install cancelled \(SIGTERM\): stopped in alpha/m);
    expect(p.output()).toMatch(/^Hint: run the same command again to resume/m);
    expect(await lease()).not.toBe(0);
    expect((await record())?.status).toBe('interrupted');
    const un = await cli('fuseml-installer', ['--extensions-repository', REPO, 'uninstall', '--all', '--yes', '--no-register', '--installer-namespace', NS.inst], { env: env({ CI: '1' }), timeoutMs: 240_000 });
    expect(un.exitCode, un.stderr).toBe(0);
    expect(await record()).toBeUndefined();
  });
});
