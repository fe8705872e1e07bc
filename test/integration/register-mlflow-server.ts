/**
 * A real MLflow tracking server for the manual-registration tests: MLflow from
 * PyPI in a virtualenv under the cache dir (outside the repository), built once
 * and reused ($FUSEML_CACHE_DIR/mlflow/venv-<version>, marked complete only
 * when pip succeeded). The server runs on a free loopback port with a temp
 * SQLite store. Processes go through src/exec.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec/index.js';

export const MLFLOW_VERSION = process.env.FUSEML_MLFLOW_VERSION ?? '3.17.2';
const CACHE = process.env.FUSEML_CACHE_DIR ?? join(homedir(), '.cache', 'fuseml');

/** The venv's python, building the venv first when missing (minutes the first time). */
export async function mlflowPython(): Promise<string> {
  const venv = join(CACHE, 'mlflow', `venv-${MLFLOW_VERSION}`);
  const python = join(venv, 'bin', 'python');
  if (existsSync(join(venv, '.complete')) && existsSync(python)) return python;
  await mkdir(join(CACHE, 'mlflow'), { recursive: true });
  const tmp = await mkdtemp(join(CACHE, 'mlflow', '.build-'));
  try {
    await run('python3', ['-m', 'venv', tmp], { timeoutMs: 120_000 });
    await run(join(tmp, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `mlflow==${MLFLOW_VERSION}`], { timeoutMs: 20 * 60_000 });
    await rm(venv, { recursive: true, force: true });
    // bin/python is a link to the base interpreter, so `python -m mlflow` works from the renamed venv.
    await rename(tmp, venv);
    await writeFile(join(venv, '.complete'), new Date().toISOString());
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return python;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface MlflowServer {
  url: string;
  stop(): Promise<void>;
}

export async function startMlflow(): Promise<MlflowServer> {
  const python = await mlflowPython();
  const dir = await mkdtemp(join(tmpdir(), 'fuseml-mlflow-'));
  const port = await freePort();
  const abort = new AbortController();
  const output: string[] = [];
  const exited = run(
    python,
    ['-m', 'mlflow', 'server', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`, '--default-artifact-root', join(dir, 'artifacts')],
    {
      cwd: dir,
      // No background job runner: it would outlive the server process.
      env: { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false', PYTHONUNBUFFERED: '1' },
      timeoutMs: 60 * 60_000,
      signal: abort.signal,
      allowFailure: true,
      onLine: (line) => output.push(line),
    },
  ).catch(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let up = false;
  let ended = false;
  void exited.then(() => (ended = true));
  while (!up && !ended && Date.now() < deadline) {
    try {
      up = (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) })).status === 200;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const stop = async (): Promise<void> => {
    abort.abort();
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  if (!up) {
    await stop();
    throw new Error(`mlflow server did not answer /health within 90 s:\n${output.slice(-20).join('\n')}`);
  }
  return { url, stop };
}
