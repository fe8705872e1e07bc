/**
 * Starts the real `fuseml-registry serve` (built dist) on a free port, for the benches: by default on a temp SQLite
 * file with a random admin token. `options.token` shares one token between servers; `options.store: false` leaves
 * the store to `args` (e.g. --store kubernetes); `options.dir` keeps the database (and key) in that directory, which
 * stop() leaves in place (restarts on the same data). Resolves { url, pid, token, stop() }: the token goes through the
 * environment; stop() sends SIGTERM, waits for the exit and removes the temp directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function startServer(args = [], options = {}) {
  const { run } = await import(join(ROOT, 'dist/exec/index.js'));
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'fuseml-registry-bench-')));
  const token = options.token ?? randomBytes(24).toString('hex');
  const store = options.store === false ? [] : ['--db', join(dir, 'registry.db'), ...(options.dir ? ['--key-file', join(dir, 'registry.key')] : [])];
  const abort = new AbortController();
  let listening;
  const ready = new Promise((r) => (listening = r));
  const server = run(process.execPath, [join(ROOT, 'dist/cli/bin/fuseml-registry.js'), 'serve', '--port', '0', ...store, ...args], {
    secretEnv: { FUSEML_REGISTRY_ADMIN_TOKEN: token },
    timeoutMs: 60 * 60 * 1000,
    signal: abort.signal,
    allowFailure: true,
    onLine: (line) => {
      const m = /listening on (http:\/\/\S+) \(pid (\d+)/.exec(line);
      if (m) listening({ url: m[1], pid: Number(m[2]) });
    },
  }).catch(() => undefined);
  const { url, pid } = await Promise.race([ready, new Promise((_, rej) => setTimeout(() => rej(new Error('server did not start')), options.startTimeoutMs ?? 20_000).unref())]);
  return {
    url,
    pid,
    token,
    async stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await server;
      abort.abort();
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
