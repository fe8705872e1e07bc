/**
 * A helm chart repository on loopback, for tests: each chart folder is packaged
 * with the real `helm package`, the index is built with `helm repo index --url`,
 * and a node:http server on a random 127.0.0.1 port serves index.yaml and the
 * .tgz files. Descriptors that name an upstream repository can be pointed at
 * `url` through a mirror setting.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { run } from '../../src/exec/index.js';

export interface ChartRepoOptions {
  /** Path of the helm binary. */
  helm: string;
  /** Chart folders to package (each holds a Chart.yaml). */
  charts: readonly string[];
  /** Where to put the packages; default: a temp dir removed by close(). */
  dir?: string;
  /** Environment for helm (e.g. HELM_CACHE_HOME in a temp dir). */
  env?: Record<string, string>;
}

export interface ChartRepo {
  /** http://127.0.0.1:<port> — the repository URL (index.yaml is at `${url}/index.yaml`). */
  url: string;
  /** The folder served. */
  dir: string;
  /** The packages, by file name (e.g. hello-0.1.0.tgz). */
  packages: readonly string[];
  /** Paths requested so far (e.g. ['/index.yaml', '/hello-0.1.0.tgz']). */
  requests: readonly string[];
  close(): Promise<void>;
}

const SAFE_FILE = /^[A-Za-z0-9][A-Za-z0-9._+-]*\.(tgz|yaml|prov)$/;

export async function startChartRepo(options: ChartRepoOptions): Promise<ChartRepo> {
  const owned = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'fuseml-chart-repo-')));
  await mkdir(dir, { recursive: true });
  let server: Server | undefined;
  try {
    for (const chart of options.charts) {
      await run(options.helm, ['package', chart, '--destination', dir], { env: options.env, timeoutMs: 120_000 });
    }
    const requests: string[] = [];
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      requests.push(path);
      const name = decodeURIComponent(path.slice(1));
      // Only plain file names of this folder: no sub-paths, no traversal.
      if ((req.method !== 'GET' && req.method !== 'HEAD') || name !== basename(name) || !SAFE_FILE.test(name)) {
        res.writeHead(404).end();
        return;
      }
      readFile(join(dir, name)).then(
        (body) => {
          res.writeHead(200, {
            'content-type': name.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip',
            'content-length': body.length,
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        () => res.writeHead(404).end(),
      );
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve());
    });
    const address = srv.address();
    if (address === null || typeof address === 'string') throw new Error('chart repository: no TCP address');
    const url = `http://127.0.0.1:${address.port}`;
    // The index names absolute URLs, so it is built once the port is known.
    await run(options.helm, ['repo', 'index', dir, '--url', url], { env: options.env, timeoutMs: 60_000 });
    const packages = (await readdir(dir)).filter((f) => f.endsWith('.tgz')).sort();
    return {
      url,
      dir,
      packages,
      requests,
      close: async () => {
        srv.closeAllConnections();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
        if (owned) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    server?.close();
    if (owned) await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
