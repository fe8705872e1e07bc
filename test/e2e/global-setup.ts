/**
 * Global setup of the e2e project: builds/finds the tools (scripts/tools.sh),
 * brings the local control plane up (scripts/cluster.sh up; a healthy running
 * one is reused) and gives the tests its kubeconfig and helm through
 * provide/inject and FUSEML_E2E_KUBECONFIG / FUSEML_HELM. If the cluster cannot
 * be started the run fails: e2e tests never skip for a missing cluster.
 *
 * Teardown stops the cluster only if this run started it and no other e2e run
 * (another engineer's, on the same state dir) still uses it; set
 * FUSEML_E2E_KEEP_CLUSTER=1 to leave it running anyway.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { run } from '../../src/exec/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    fusemlKubeconfig: string;
    fusemlHelm: string;
  }
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOLS_TIMEOUT_MS = 60 * 60_000; // a first build from an empty cache takes ~10 min on 2 cores
const UP_TIMEOUT_MS = 5 * 60_000;

function log(line: string): void {
  console.log(`[e2e setup] ${line}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function script(name: string, args: string[], timeoutMs: number, quiet = false) {
  return run('bash', [join(ROOT, 'scripts', name), ...args], {
    cwd: ROOT,
    timeoutMs,
    // stdout is the scripts' machine-readable answer; stderr their progress.
    onLine: quiet ? undefined : (line, stream) => {
      if (stream === 'stderr') log(line);
    },
  });
}

/** Other live e2e runs using the cluster (pid files in <state>/users). */
async function otherUsers(usersDir: string): Promise<number[]> {
  const pids = (await readdir(usersDir).catch(() => [] as string[])).map(Number).filter((p) => Number.isInteger(p) && p > 0);
  const live: number[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    if (isAlive(pid)) live.push(pid);
    else await rm(join(usersDir, String(pid)), { force: true });
  }
  return live;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const tools = (await script('tools.sh', ['--print-env'], TOOLS_TIMEOUT_MS)).stdout;
  const helm = /^export FUSEML_HELM='([^']+)'$/m.exec(tools)?.[1];
  if (!helm) throw new Error(`scripts/tools.sh --print-env did not name helm:\n${tools}`);

  const wasRunning = (await run('bash', [join(ROOT, 'scripts/cluster.sh'), 'status'], { cwd: ROOT, allowFailure: true })).exitCode === 0;
  // Throws (so the run fails) when the cluster cannot be started.
  await script('cluster.sh', ['up'], UP_TIMEOUT_MS);
  const env = (await script('cluster.sh', ['env'], 30_000, true)).stdout;
  const kubeconfig = /^export KUBECONFIG='([^']+)'$/m.exec(env)?.[1];
  if (!kubeconfig) throw new Error(`scripts/cluster.sh env did not name a kubeconfig:\n${env}`);
  log(`cluster ${wasRunning ? 'reused' : 'started'} in ${((Date.now() - started) / 1000).toFixed(1)}s; KUBECONFIG=${kubeconfig}`);

  const usersDir = join(dirname(kubeconfig), 'users');
  await mkdir(usersDir, { recursive: true });
  await writeFile(join(usersDir, String(process.pid)), `${new Date().toISOString()}\n`);

  project.provide('fusemlKubeconfig', kubeconfig);
  project.provide('fusemlHelm', helm);
  process.env.FUSEML_E2E_KUBECONFIG = kubeconfig;
  process.env.FUSEML_HELM = helm;

  return async () => {
    await rm(join(usersDir, String(process.pid)), { force: true });
    if (wasRunning || process.env.FUSEML_E2E_KEEP_CLUSTER === '1') return;
    const others = await otherUsers(usersDir);
    if (others.length > 0) {
      log(`leaving the cluster running: still used by e2e run(s) ${others.join(', ')}`);
      return;
    }
    await script('cluster.sh', ['down'], 2 * 60_000);
  };
}
