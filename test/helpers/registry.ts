/**
 * Starts and stops a real `fuseml-registry serve` process (the built dist) on a
 * free port with a temp SQLite file, for integration tests and benchmarks.
 *
 *   const reg = await startRegistry();          // admin token in reg.adminToken
 *   … fetch(`${reg.url}/extensions`, { headers: { authorization: `Bearer ${reg.adminToken}` } }) …
 *   await reg.stop();                            // SIGTERM, waits for exit; reg.cleanup() removes the temp dir
 *
 * Processes go through src/exec (argument arrays, cancellation, redaction).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type ExecResult } from '../../src/exec/index.js';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const REGISTRY_BIN = join(ROOT, 'dist/cli/bin/fuseml-registry.js');
export const FUSEML_BIN = join(ROOT, 'dist/cli/bin/fuseml.js');

export interface StartRegistryOptions {
  /** Directory for db, key and config; a new temp dir by default (removed by cleanup()). */
  dir?: string;
  /** Config file content (YAML text), written to <dir>/registry.yaml and passed with --config. */
  config?: string;
  /** Admin token given in FUSEML_REGISTRY_ADMIN_TOKEN; a random one by default; null for none. */
  adminToken?: string | null;
  /** Extra arguments to `serve`. */
  args?: string[];
  /** Serve from the Kubernetes store instead of a temp SQLite file (no --db then; the key file stays in dir). */
  kubernetes?: { kubeconfig: string; namespace: string; installCrd?: boolean };
  env?: Record<string, string | undefined>;
  /** Environment variables holding secrets (e.g. FUSEML_REGISTRY_KEY): masked in every message. */
  secretEnv?: Record<string, string>;
  /** Milliseconds to wait for the "listening" line. */
  startTimeoutMs?: number;
}

export interface RegistryProcess {
  url: string;
  pid: number;
  dir: string;
  dbPath: string;
  keyFile: string;
  adminToken: string | undefined;
  /** stderr lines so far (redacted). */
  stderr: string[];
  /** SIGTERM, then waits for the exit; resolves with the exit result. */
  stop(): Promise<ExecResult | undefined>;
  /** stop() then remove the temp dir (when the helper created it). */
  cleanup(): Promise<void>;
}

export function randomToken(): string {
  return randomBytes(24).toString('hex');
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryProcess> {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`${REGISTRY_BIN} missing: run npm run build first`);
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'fuseml-registry-')));
  const dbPath = join(dir, 'registry.db');
  const keyFile = join(dir, 'registry.key');
  const k = options.kubernetes;
  const storeArgs = k
    ? ['--store', 'kubernetes', '--kubeconfig', k.kubeconfig, '--store-namespace', k.namespace, ...(k.installCrd ? ['--install-crd'] : [])]
    : ['--db', dbPath];
  const args = [REGISTRY_BIN, 'serve', '--port', '0', ...storeArgs, '--key-file', keyFile, ...(options.args ?? [])];
  if (options.config !== undefined) {
    const cfg = join(dir, 'registry.yaml');
    await writeFile(cfg, options.config, { mode: 0o600 });
    args.push('--config', cfg);
  }
  const adminToken = options.adminToken === null ? undefined : (options.adminToken ?? randomToken());
  const secretEnv: Record<string, string> = { ...options.secretEnv, ...(adminToken ? { FUSEML_REGISTRY_ADMIN_TOKEN: adminToken } : {}) };

  const abort = new AbortController();
  const stderr: string[] = [];
  let onListening: (m: RegExpExecArray) => void = () => {};
  const listening = new Promise<RegExpExecArray>((res) => (onListening = res));
  const exited = run(process.execPath, args, {
    cwd: ROOT,
    env: { FUSEML_REGISTRY_ADMIN_TOKEN: undefined, ...options.env },
    secretEnv,
    timeoutMs: 6 * 60 * 60 * 1000,
    signal: abort.signal,
    allowFailure: true,
    onLine: (line, stream) => {
      if (stream === 'stderr') stderr.push(line);
      const m = /listening on (http:\/\/\S+) \(pid (\d+)/.exec(line);
      if (stream === 'stdout' && m) onListening(m);
    },
  }).then(
    (r) => r,
    (err: unknown) => {
      if ((err as { code?: string }).code === 'CANCELLED') return undefined;
      throw err;
    },
  );
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let timer: NodeJS.Timeout | undefined;
  const m = await Promise.race([
    listening,
    exited.then((r) => {
      throw new Error(`fuseml-registry exited before listening (code ${r?.exitCode}):\n${stderr.join('\n')}`);
    }),
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`fuseml-registry did not start within ${timeoutMs} ms:\n${stderr.join('\n')}`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));

  let stopped: Promise<ExecResult | undefined> | undefined;
  const stop = (): Promise<ExecResult | undefined> => {
    if (!stopped) {
      process.kill(Number(m[2]), 'SIGTERM');
      stopped = exited;
    }
    return stopped;
  };
  return {
    url: m[1] as string,
    pid: Number(m[2]),
    dir,
    dbPath,
    keyFile,
    adminToken,
    stderr,
    stop,
    async cleanup() {
      await stop().catch(() => undefined);
      abort.abort();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs the built `fuseml` CLI; never throws on a non-zero exit (inspect exitCode). */
export async function runFuseml(
  args: readonly string[],
  options: { url?: string; token?: string; env?: Record<string, string | undefined>; input?: string } = {},
): Promise<ExecResult> {
  const secretEnv: Record<string, string> = options.token ? { FUSEML_TOKEN: options.token } : {};
  return run(process.execPath, [FUSEML_BIN, ...args], {
    cwd: ROOT,
    env: { FUSEML_SERVER_URL: options.url, FUSEML_TOKEN: undefined, ...options.env },
    secretEnv,
    allowFailure: true,
    timeoutMs: 60_000,
    input: options.input,
  });
}

/**
 * Starts any command that serves the registry (an installed bin, an assembled image file set) and waits for
 * its "listening on URL" line. `stop()` cancels it and waits for the exit.
 */
export async function startServing(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; startTimeoutMs?: number } = {},
): Promise<{ url: string; stop(): Promise<void> }> {
  const abort = new AbortController();
  const lines: string[] = [];
  let onUrl: (u: string) => void = () => {};
  const listening = new Promise<string>((res) => (onUrl = res));
  const exited = run(command, args, {
    cwd: options.cwd,
    env: { FUSEML_REGISTRY_ADMIN_TOKEN: undefined, ...options.env },
    signal: abort.signal,
    allowFailure: true,
    timeoutMs: 10 * 60_000,
    onLine: (line) => {
      lines.push(line);
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) onUrl(m[1] as string);
    },
  }).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const stop = async (): Promise<void> => {
    abort.abort();
    await exited;
  };
  try {
    const url = await Promise.race([
      listening,
      exited.then(() => {
        throw new Error(`${command} exited before listening:\n${lines.join('\n')}`);
      }),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`${command} did not listen within ${options.startTimeoutMs ?? 30_000} ms:\n${lines.join('\n')}`)), options.startTimeoutMs ?? 30_000);
      }),
    ]);
    return { url, stop };
  } catch (e) {
    await stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** A response as sent: status, headers and the body bytes (no transparent decompression). */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request to `reg` over node:http as its admin (JSON body when given): the bytes as sent. */
export function rawRequest(reg: RegistryProcess, method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const u = new URL(reg.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${reg.adminToken}`, ...options.headers };
    const data = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (data !== undefined) headers['content-type'] = 'application/json';
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}
