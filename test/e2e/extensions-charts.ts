/**
 * Serves the stand-in upstream charts (test/fixtures/charts/upstream) as a helm
 * chart repository on loopback: `helm package` each, `helm repo index`, a
 * static file server on a free 127.0.0.1 port. Stand-in until the shared
 * loopback chart repository helper (test/helpers/chart-repo.ts) is available.
 */
import { readdir, readFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename, join } from 'node:path';
import { run } from '../../src/exec/index.js';

export interface ChartServer {
  url: string;
  stop(): Promise<void>;
}

export async function startChartServer(helm: string, chartsDir: string, work: string): Promise<ChartServer> {
  const out = join(work, 'charts');
  await mkdir(out, { recursive: true });
  for (const entry of await readdir(chartsDir, { withFileTypes: true })) {
    if (entry.isDirectory()) await run(helm, ['package', join(chartsDir, entry.name), '-d', out], { timeoutMs: 60_000 });
  }
  const server = createServer((req, res) => {
    const name = basename(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    readFile(join(out, name)).then(
      (body) => res.writeHead(200, { 'content-type': name.endsWith('.yaml') ? 'application/yaml' : 'application/gzip' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await run(helm, ['repo', 'index', out, '--url', url], { timeoutMs: 60_000 });
  return { url, stop: () => new Promise((r) => server.close(() => r())) };
}
