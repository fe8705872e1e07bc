/**
 * Hostile request bodies from the registry hardening issue (#10) and a blocked-time probe, shared by
 * test/integration/registry-hardening.test.ts (which asserts each is refused while /healthz keeps answering) and
 * bench/registry-hardening.bench.mjs (which records the longest /healthz wait while each is in flight).
 * Plain ESM so the bench runs it without a build; types in hostile.d.mts.
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** `k0: v` … : 80 000 distinct keys, ~0.8 MB (quadratic duplicate-key check: minutes of blocking). */
export function manyKeysYaml(n = 80_000) {
  let s = '';
  for (let i = 0; i < n; i++) s += `k${i}: v\n`;
  return s;
}

/** One ~900 KB anchored string and 100 aliases of it: ~90 MB once expanded. */
export function aliasBombYaml(bytes = 900_000, aliases = 100) {
  let s = `id: bomb\nproduct: bomb\nversion: "1"\ndescription: &a ${'x'.repeat(bytes)}\nconfiguration:\n`;
  for (let i = 0; i < aliases; i++) s += `  k${i}: *a\n`;
  return s;
}

/** `[` repeated: a flow sequence nested `depth` levels deep (never closed). */
export function deepFlowYaml(depth = 500_000) {
  return '['.repeat(depth);
}

/** `- ` repeated: block sequences nested `depth` levels deep on one line. */
export function deepBlockYaml(depth = 400_000) {
  return '- '.repeat(depth) + 'x\n';
}

/** JSON nested `depth` arrays deep. */
export function deepJson(depth = 400_000) {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** A POST /workflows/resolve body with `steps` steps of `perStep` requirements each. */
export function resolveBody(steps, perStep, project = 'team-a') {
  return JSON.stringify({
    project,
    workflow: {
      name: 'big',
      steps: Array.from({ length: steps }, (_, i) => ({
        name: `step-${i}`,
        image: 'busybox',
        extensions: Array.from({ length: perStep }, (_, j) => ({ name: `req-${i}-${j}`, service_resource: `resource-${j}` })),
      })),
    },
  });
}

/** One HTTP request on its own connection; resolves { status, headers, body } (body as text). */
export function send(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }) }, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Polls GET /healthz back to back (one keep-alive connection) while `work()` runs; returns the work's result,
 * the number of polls that succeeded / failed while it was in flight, the longest single poll (ms: the time
 * the server was blocked for others) and every poll's time.
 */
export async function whilePolling(baseUrl, work) {
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  let ok = 0;
  let failed = 0;
  let maxMs = 0;
  let started = false;
  const samples = [];
  const poll = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const status = await new Promise((resolve, reject) => {
          const req = request(`${baseUrl}/healthz`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
          });
          req.setTimeout(30_000, () => req.destroy(new Error('healthz timed out')));
          req.on('error', reject);
          req.end();
        });
        if (!running) break;
        if (!started) continue;
        if (status === 200) ok++;
        else failed++;
      } catch {
        if (running && started) failed++;
      }
      if (started) {
        const ms = performance.now() - t;
        samples.push(ms);
        maxMs = Math.max(maxMs, ms);
      }
    }
  })();
  // Let the poller get going so the hostile request is measured against a warm connection.
  await new Promise((r) => setTimeout(r, 50));
  started = true;
  let result;
  try {
    result = await work();
  } finally {
    running = false;
    await poll;
    agent.destroy();
  }
  return { result, ok, failed, maxBlockedMs: maxMs, samples };
}
