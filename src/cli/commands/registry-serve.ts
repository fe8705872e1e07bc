/** `fuseml-registry serve`: starts the registry over the embedded SQLite store or the Kubernetes store. */
import { FusemlError, type ErrorCode } from '../../core/errors.js';

export interface ServeOptions {
  port: string;
  host: string;
  db?: string;
  config?: string;
  keyFile?: string;
  anonymous?: string;
  /** Needed for an --anonymous role that can read credential values (admin, resolver). */
  anonymousReveal?: boolean;
  bodyLimit?: string;
  /** Per-request limits (see src/registry/server/limits.ts), by option name: parsedLimit, maxKeys, … */
  [limit: string]: string | boolean | undefined;
  log?: boolean;
  /** `sqlite` (default) or `kubernetes`. */
  store?: string;
  kubeconfig?: string;
  storeNamespace?: string;
  installCrd?: boolean;
  /** Endpoint probes (docs/registry.md): a duration, 0 or absent = off. */
  probeInterval?: string;
  probeTimeout?: string;
  probeConcurrency?: string;
}

/** The probe flags with their environment variables (the flag wins), for --help and the docs. */
export const PROBE_FLAGS = [
  { flag: 'probe-interval', key: 'probeInterval', env: 'FUSEML_REGISTRY_PROBE_INTERVAL', help: 'probe every registered endpoint this often, e.g. 30s (default 0: off)' },
  { flag: 'probe-timeout', key: 'probeTimeout', env: 'FUSEML_REGISTRY_PROBE_TIMEOUT', help: 'time one endpoint probe may take (default 5s)' },
  { flag: 'probe-concurrency', key: 'probeConcurrency', env: 'FUSEML_REGISTRY_PROBE_CONCURRENCY', help: 'endpoint probes in flight at most (default 8)' },
] as const;

export interface ProbeSettings {
  intervalMs: number;
  timeoutMs: number;
  concurrency: number;
}

/** The probe settings from flags, then the environment; undefined when probes are off. USAGE errors name the flag or variable. */
export async function probeSettings(opts: ServeOptions, env: NodeJS.ProcessEnv = process.env): Promise<ProbeSettings | undefined> {
  const { parseDuration } = await import('../../core/duration.js');
  const raw = (i: number): [string, string] | undefined => {
    const f = PROBE_FLAGS[i] as (typeof PROBE_FLAGS)[number];
    const v = opts[f.key];
    if (typeof v === 'string') return [v, `--${f.flag}`];
    const e = env[f.env];
    return e !== undefined && e !== '' ? [e, f.env] : undefined;
  };
  const duration = (i: number, min: number, max: number): number | undefined => {
    const r = raw(i);
    if (r === undefined) return undefined;
    const ms = parseDuration(r[0], r[1]);
    if (ms !== 0 && (ms < min || ms > max)) throw new FusemlError('USAGE', `${r[1]} ${r[0]}: must be 0 (off) or from ${min} ms to ${max / 3_600_000} h`);
    return ms;
  };
  const intervalMs = duration(0, 100, 24 * 3_600_000) ?? 0;
  const timeoutMs = duration(1, 10, 600_000);
  const c = raw(2);
  const concurrency = c === undefined ? undefined : Number(c[0].trim());
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000)) {
    throw new FusemlError('USAGE', `${c?.[1]} ${c?.[0]}: must be an integer from 1 to 1000`);
  }
  if (timeoutMs === 0) throw new FusemlError('USAGE', `${raw(1)?.[1]} 0: the probe timeout must be positive`);
  if (intervalMs === 0) return undefined;
  return { intervalMs, timeoutMs: timeoutMs ?? 5_000, concurrency: concurrency ?? 8 };
}

export const STORE_KINDS = ['sqlite', 'kubernetes'] as const;

/** Flags of one store given with the other: a usage error rather than silently ignored. */
function checkStoreFlags(opts: ServeOptions): 'sqlite' | 'kubernetes' {
  const kind = opts.store ?? 'sqlite';
  if (!(STORE_KINDS as readonly string[]).includes(kind)) {
    throw new FusemlError('USAGE', `--store ${kind}: not a store`, { hint: `use one of ${STORE_KINDS.join(', ')}` });
  }
  if (kind === 'sqlite') {
    for (const [flag, v] of [['--kubeconfig', opts.kubeconfig], ['--store-namespace', opts.storeNamespace], ['--install-crd', opts.installCrd]] as const) {
      if (v !== undefined && v !== false) throw new FusemlError('USAGE', `${flag} needs --store kubernetes`);
    }
  } else if (opts.db !== undefined) {
    throw new FusemlError('USAGE', '--db is for --store sqlite');
  }
  return kind as 'sqlite' | 'kubernetes';
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new FusemlError('USAGE', `--port ${v}: not a port number`);
  return n;
}

/** How the serving code talks to whoever started it (this thread, or the main thread when run in a worker). */
export interface ServeHooks {
  onListening(line: string): void;
  /** Resolves with the signal name when the server should stop. */
  stopRequested(): Promise<string>;
}

/**
 * Young-generation cap for the server's V8 heap. Node's default lets the young generation grow to 32 MiB and
 * more of resident memory under a steady request load; a few MiB cost a little more scavenging and keep the
 * server's RSS well under 150 MB with 10 000 extensions. Measured over 10 000 creates (8 in flight): 4 MiB, 365
 * scavenges holding the event loop 232 ms, peak RSS 134 MiB; 8 MiB, 186 and 172 ms, 136 MiB; 16 MiB, 98 and
 * 154 ms, 145 MiB. Set through a worker thread's resourceLimits, the only way to set it from inside the process.
 */
export const YOUNG_GENERATION_MB = 8;

/** The SQLite server's old generation grows to at most (1 + this / 100) × what the last full collection left. */
export const HEAP_GROWING_PERCENT = 100;

/**
 * Runs the server in a worker thread (so its heap limits can be set), relaying the listening line,
 * errors and SIGTERM/SIGINT. FUSEML_REGISTRY_IN_PROCESS=1 runs it on the main thread instead.
 */
export async function serve(opts: ServeOptions): Promise<void> {
  // V8 sizes a heap for speed by default: under a write load it lets the old generation grow to several times what
  // is live before collecting. --optimize-for-size trades CPU for a small, steady footprint, which only the
  // Kubernetes store needs: it holds every record in its watch-fed cache, and its writes are bound by the API
  // server (peak RSS with 10 000 extensions 251 -> 133 MiB). The SQLite store keeps its records on disk and its
  // writes are bound by this process's CPU: without the flag a create costs ~18 % less CPU, for a peak of
  // ~135 MiB instead of ~100 (docs/registry.md "Performance"). Set before the worker's isolate is created, so the
  // worker's heap is sized with it.
  if (checkStoreFlags(opts) === 'kubernetes') (await import('node:v8')).setFlagsFromString('--optimize-for-size');
  // The SQLite store: V8 picks how far the old generation may grow past what a full collection left live (up to 4×)
  // from how cheap collecting is, and under a fast read load it let ~24 MB live grow to ~97 MB before collecting
  // (the read cache's bodies, replaced as it turns over, are promoted first): peak RSS 160-190 MiB. At 2× the peak
  // stays under 150 MiB, for no CPU per create measurable (docs/registry.md "Performance").
  else (await import('node:v8')).setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  if (process.env.FUSEML_REGISTRY_IN_PROCESS === '1') return serveInProcess(opts, signalHooks());
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(new URL('./registry-serve-worker.js', import.meta.url), {
    workerData: opts,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const stop = (signal: NodeJS.Signals): void => {
      process.stderr.write(`fuseml-registry: ${signal}: shutting down\n`);
      worker.postMessage({ type: 'stop', signal });
    };
    const done = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      if (err === undefined) resolve();
      else reject(err);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    worker.on('message', (m: { type: string; line?: string; code?: ErrorCode; message?: string; hint?: string }) => {
      if (m.type === 'listening') process.stdout.write(m.line ?? '');
      else if (m.type === 'stopped') done();
      else if (m.type === 'error') done(new FusemlError(m.code ?? 'INTERNAL', m.message ?? 'registry failed', { hint: m.hint }));
    });
    worker.on('error', (err) => done(err));
    worker.on('exit', (code) => done(settled ? undefined : new FusemlError('INTERNAL', `the registry worker stopped unexpectedly (exit code ${code})`)));
  });
}

function signalHooks(): ServeHooks {
  return {
    onListening: (line) => process.stdout.write(line),
    stopRequested: () =>
      new Promise((resolve) => {
        const stop = (signal: NodeJS.Signals): void => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          process.stderr.write(`fuseml-registry: ${signal}: shutting down\n`);
          resolve(signal);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      }),
  };
}

export async function serveInProcess(opts: ServeOptions, hooks: ServeHooks): Promise<void> {
  const storeKind = checkStoreFlags(opts);
  const [{ loadConfig }, { ROLES, canReveal, tokenEntry }, { loadOrCreateKey, KEY_ENV }, paths, { SqliteStore }, { createRegistryApp }] = await Promise.all([
    import('../../registry/config.js'),
    import('../../registry/auth.js'),
    import('../../registry/crypto.js'),
    import('../../registry/paths.js'),
    import('../../registry/store/sqlite.js'),
    import('../../registry/server/app.js'),
  ]);
  const port = parsePort(opts.port);
  const config = opts.config ? await loadConfig(opts.config) : { tokens: [] as import('../../registry/auth.js').TokenEntry[], db: undefined, key_file: undefined, anonymous: undefined, anonymous_reveal: undefined, body_limit: undefined };
  const tokens = [...config.tokens];
  const adminToken = process.env.FUSEML_REGISTRY_ADMIN_TOKEN;
  if (adminToken) tokens.push(tokenEntry({ name: 'env-admin', role: 'admin' }, adminToken));

  const anonymous = opts.anonymous ?? config.anonymous ?? 'none';
  if (anonymous !== 'none' && !(ROLES as readonly string[]).includes(anonymous)) {
    throw new FusemlError('USAGE', `--anonymous ${anonymous}: not a role`, { hint: `use one of none, ${ROLES.join(', ')}` });
  }
  if (anonymous !== 'none' && canReveal(anonymous as (typeof ROLES)[number])) {
    if (opts.anonymousReveal !== true && config.anonymous_reveal !== true) {
      throw new FusemlError('USAGE', `--anonymous ${anonymous}: this role can read credential values, so anyone without a token could read them`, {
        hint: `add --anonymous-reveal if that is truly meant (e.g. a private test setup), or use --anonymous reader`,
      });
    }
    process.stderr.write(`fuseml-registry: warning: --anonymous ${anonymous} --anonymous-reveal: callers WITHOUT a token may read credential values${anonymous === 'admin' ? ' (all of them) and change everything' : ' (the global ones)'}\n`);
  } else if (opts.anonymousReveal === true || config.anonymous_reveal === true) {
    throw new FusemlError('USAGE', '--anonymous-reveal is for an --anonymous role that can read credential values (resolver, admin)');
  }
  const { resolveLimits } = await import('../../registry/server/limits.js');
  const limits = resolveLimits(opts, process.env, { bodyLimit: config.body_limit });
  const probing = await probeSettings(opts);

  const dbPath = opts.db ?? config.db ?? paths.defaultDbPath();
  const keyFile = opts.keyFile ?? config.key_file ?? paths.defaultKeyFile(dbPath);
  if (storeKind === 'kubernetes' && !process.env[KEY_ENV]) {
    // Replicas must share one key, and a key generated inside a pod would die with it: never generate one here.
    const { existsSync } = await import('node:fs');
    if (!existsSync(keyFile)) {
      throw new FusemlError('USAGE', `--store kubernetes: no encryption key (${KEY_ENV} is not set and ${keyFile} does not exist)`, {
        hint: `give every replica the same key: ${KEY_ENV} (e.g. from a Secret) or --key-file; create one with openssl rand -base64 32`,
      });
    }
  }
  const key = await loadOrCreateKey({ keyFile, database: storeKind === 'sqlite' ? dbPath : undefined });
  if (key.generated) process.stderr.write(`fuseml-registry: generated a new encryption key in ${keyFile} (keep it with the database)\n`);
  let store: import('../../registry/store/types.js').Store;
  let where: string;
  if (storeKind === 'kubernetes') {
    const { KubernetesStore } = await import('../../registry/store/kubernetes/store.js');
    const k = await KubernetesStore.open({ kubeconfig: opts.kubeconfig, namespace: opts.storeNamespace, key: key.key, installCrd: opts.installCrd === true });
    store = k;
    where = `store kubernetes ${k.api.server} namespace ${k.api.namespace}`;
  } else {
    try {
      store = new SqliteStore({ path: dbPath, key: key.key });
    } catch (err) {
      // A key generated for a database that could not be opened would be left behind for nothing.
      if (key.generated) (await import('node:fs')).rmSync(keyFile, { force: true });
      throw err;
    }
    where = `db ${dbPath}`;
  }
  if (tokens.length === 0 && anonymous === 'none') {
    process.stderr.write('fuseml-registry: warning: no tokens configured and --anonymous none: every request will be refused (401)\n');
  }

  let prober: import('../../registry/probe.js').EndpointProber | undefined;
  if (probing) {
    const { EndpointProber } = await import('../../registry/probe.js');
    prober = new EndpointProber({
      store,
      ...probing,
      onError: (err) => process.stderr.write(`fuseml-registry: endpoint probes: ${(err as Error)?.message ?? String(err)}\n`),
    });
  }
  const app = await createRegistryApp({
    store,
    probes: prober,
    auth: { tokens, anonymous: anonymous === 'none' ? undefined : (anonymous as (typeof ROLES)[number]) },
    limits,
    logger: opts.log === true,
    // Audit lines always go to stderr: who changed which credential set's scope (names only, never values).
    audit: (e) => process.stderr.write(`fuseml-registry: audit: ${JSON.stringify(e)}\n`),
  });
  try {
    await app.listen({ port, host: opts.host });
  } catch (err) {
    await store.close();
    throw new FusemlError('USAGE', `cannot listen on ${opts.host}:${port}: ${(err as Error).message}`, { cause: err });
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const stopping = hooks.stopRequested();
  prober?.start();
  const probeNote = probing ? `, endpoint probes every ${probing.intervalMs} ms` : '';
  hooks.onListening(`fuseml-registry listening on http://${host}:${actualPort} (pid ${process.pid}, ${where}${probeNote})\n`);
  await stopping;
  await prober?.stop();
  await app.close();
  await store.close();
}

/** `fuseml-registry hash-token`: reads a token on stdin, prints its SHA-256 for `token_sha256` in the config file. */
export async function hashToken(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const token = Buffer.concat(chunks).toString('utf8').split('\n')[0]?.trim() ?? '';
  const { digest, MIN_TOKEN_LENGTH } = await import('../../registry/auth.js');
  if (token.length < MIN_TOKEN_LENGTH) throw new FusemlError('USAGE', `the token on stdin is shorter than ${MIN_TOKEN_LENGTH} characters`);
  process.stdout.write(digest(token).toString('hex') + '\n');
}
