/**
 * Endpoint probes of a real `fuseml-registry serve --probe-interval` process against real loopback HTTP
 * servers (docs/registry.md, "Endpoint probes"):
 *   - an endpoint that stops answering shows `status.last_probe.ok: false` after a probe interval;
 *   - the workflow resolver prefers the healthy one of two otherwise equal candidates, and still resolves
 *     when only an unhealthy one matches;
 *   - `fuseml extension list` shows a HEALTH column, `-o json` the statuses;
 *   - an endpoint on another host (127.0.0.2, with a user and password in its URL and credential records on
 *     its service) never receives an Authorization header, a cookie or any credential value;
 *   - probes are bounded: at most --probe-concurrency connections at once to endpoints that never answer,
 *     each given up (and its connection closed) after --probe-timeout.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ExtensionRecord, ProbeStatus } from '../../src/core/records.js';
import { randomToken, runFuseml, startRegistry, type RegistryProcess } from '../helpers/registry.js';

interface Endpoint {
  server: Server;
  url: string;
  requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A loopback HTTP server that answers 200 to anything and records the request headers. */
async function httpEndpoint(host = '127.0.0.1'): Promise<Endpoint> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function record(id: string, urls: string[], extra: Partial<ExtensionRecord> = {}): ExtensionRecord {
  return {
    id,
    product: 'mlflow',
    version: '2.0.0',
    services: [
      {
        id: 'tracking',
        resource: 'mlflow-tracking',
        category: 'experiment-tracking',
        endpoints: urls.map((url) => ({ url, type: 'external' as const, configuration: { MLFLOW_TRACKING_URI: url } })),
      },
    ],
    ...extra,
  };
}

async function call(reg: RegistryProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${reg.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${reg.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

async function lastProbe(reg: RegistryProcess, id: string, url: string): Promise<ProbeStatus | undefined> {
  const r = await call(reg, 'GET', `/extensions/${id}`);
  const ext = r.json as ExtensionRecord;
  return ext.services?.flatMap((s) => s.endpoints ?? []).find((e) => e.url === url)?.status?.last_probe;
}

/** Polls until `pred` holds for the endpoint's last probe; fails with what was seen after `ms`. */
async function waitProbe(reg: RegistryProcess, id: string, url: string, pred: (p: ProbeStatus | undefined) => boolean, ms: number): Promise<ProbeStatus | undefined> {
  const deadline = Date.now() + ms;
  let seen: ProbeStatus | undefined;
  while (Date.now() < deadline) {
    seen = await lastProbe(reg, id, url);
    if (pred(seen)) return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${id} ${url}: last_probe still ${JSON.stringify(seen)} after ${ms} ms`);
}

const INTERVAL_MS = 300;

describe('endpoint probes (serve --probe-interval)', () => {
  let reg: RegistryProcess;
  let a: Endpoint;
  let b: Endpoint;
  let other: Endpoint;

  beforeAll(async () => {
    [a, b, other] = await Promise.all([httpEndpoint(), httpEndpoint(), httpEndpoint('127.0.0.2')]);
    reg = await startRegistry({ args: ['--probe-interval', `${INTERVAL_MS}ms`, '--probe-timeout', '1s'] });
  }, 30_000);
  afterAll(async () => {
    await reg?.cleanup();
    await Promise.all([a, b, other].map((e) => e?.close()));
  });

  test('an endpoint that stops answering shows ok: false after a probe interval', async () => {
    expect((await call(reg, 'POST', '/extensions', record('stops', [a.url]))).status).toBe(201);
    const up = await waitProbe(reg, 'stops', a.url, (p) => p?.ok === true, 10 * INTERVAL_MS);
    expect(up).toEqual({ ok: true, at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    await a.close();
    const stoppedAt = Date.now();
    // The next round (at most one interval away) finds the port closed.
    const down = await waitProbe(reg, 'stops', a.url, (p) => p?.ok === false, 10 * INTERVAL_MS);
    expect(down).toEqual({ ok: false, at: expect.any(String), error: 'connection refused (nothing listens on that port)' });
    expect(Date.parse(down?.at ?? '')).toBeGreaterThanOrEqual(stoppedAt - 1000);

    // The CLI shows it: HEALTH column (down), and the status in -o json.
    const table = await runFuseml(['extension', 'list', '--id', 'stops'], { url: reg.url, token: reg.adminToken });
    expect(table.exitCode, table.stderr).toBe(0);
    const [head, row] = table.stdout.split('\n');
    expect(head).toMatch(/\bHEALTH\b/);
    expect(row).toMatch(/^stops\s.*\sdown\s/);
    const json = await runFuseml(['extension', 'list', '--id', 'stops', '-o', 'json'], { url: reg.url, token: reg.adminToken });
    expect((JSON.parse(json.stdout) as ExtensionRecord[])[0]?.services?.[0]?.endpoints?.[0]?.status?.last_probe).toMatchObject({ ok: false });
  });

  test('resolution prefers the healthy one of two otherwise equal candidates; an unhealthy-only match still resolves', async () => {
    const dead = await httpEndpoint();
    await dead.close(); // a port nothing listens on any more
    const workflow = { name: 'w', steps: [{ name: 'train', extensions: [{ name: 'tracker', service_resource: 'mlflow-tracking', product: 'tracking-pair' }] }] };
    expect((await call(reg, 'POST', '/extensions', record('pair-down', [dead.url], { product: 'tracking-pair' }))).status).toBe(201);
    expect((await call(reg, 'POST', '/extensions', record('pair-up', [b.url], { product: 'tracking-pair' }))).status).toBe(201);
    await waitProbe(reg, 'pair-down', dead.url, (p) => p?.ok === false, 10 * INTERVAL_MS);
    await waitProbe(reg, 'pair-up', b.url, (p) => p?.ok === true, 10 * INTERVAL_MS);

    const r = await call(reg, 'POST', '/workflows/resolve', { workflow, project: 'p' });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const choice = (r.json as { steps: Array<{ choices: Array<{ extension_id: string; reasons: string[] }> }> }).steps[0]?.choices[0];
    expect(choice?.extension_id).toBe('pair-up');
    expect(choice?.reasons).toContain('endpoint healthy (last probe ok)');

    // Without the healthy one, the unhealthy one is still chosen (never a silent filter), and named so.
    expect((await call(reg, 'DELETE', '/extensions/pair-up')).status).toBe(204);
    const alone = await call(reg, 'POST', '/workflows/resolve', { workflow, project: 'p' });
    expect(alone.status, JSON.stringify(alone.json)).toBe(200);
    const c2 = (alone.json as { steps: Array<{ choices: Array<{ extension_id: string; reasons: string[] }> }> }).steps[0]?.choices[0];
    expect(c2?.extension_id).toBe('pair-down');
    expect(c2?.reasons.some((x) => x.startsWith('endpoint unhealthy (last probe failed'))).toBe(true);
  });

  test('an endpoint on another host never receives an Authorization header, a cookie or a credential value', async () => {
    const password = `pw-${randomToken()}`;
    const secret = `secret-${randomToken()}`;
    const url = `http://probe-user:${password}@${new URL(other.url).host}/`;
    const rec = record('elsewhere', [url]);
    const svc = rec.services?.[0];
    if (svc) {
      svc.auth_required = true;
      svc.credentials = [{ id: 'c', scope: 'global', default: true, configuration: { AWS_ACCESS_KEY_ID: 'probe-user', AWS_SECRET_ACCESS_KEY: secret } }];
    }
    expect((await call(reg, 'POST', '/extensions', rec)).status).toBe(201);
    await waitProbe(reg, 'elsewhere', url, (p) => p?.ok === true, 10 * INTERVAL_MS);
    // A few rounds, so that every request the prober makes is looked at.
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    expect(other.requests.length).toBeGreaterThanOrEqual(2);
    for (const h of other.requests) {
      expect(h.authorization).toBeUndefined();
      expect(h['proxy-authorization']).toBeUndefined();
      expect(h.cookie).toBeUndefined();
      expect(h['user-agent']).toBe('fuseml-registry-probe');
      const all = JSON.stringify(h);
      for (const v of [password, secret, 'probe-user', reg.adminToken ?? 'no-token']) expect(all).not.toContain(v);
    }
  });
});

describe('endpoint probes are bounded in concurrency and time', () => {
  let reg: RegistryProcess;
  let hole: TcpServer;
  /** Open connections and when each opened. */
  const open = new Map<Socket, number>();
  let maxOpen = 0;
  const lifetimes: number[] = [];

  beforeAll(async () => {
    // Accepts connections and never answers.
    hole = createTcpServer((sock) => {
      const started = Date.now();
      // In flight: connections younger than most of the timeout (one the prober just gave up may still be
      // seen open here for a moment after its successor connected).
      const young = [...open.values()].filter((t) => started - t < 300).length;
      open.set(sock, started);
      maxOpen = Math.max(maxOpen, young + 1);
      sock.on('error', () => undefined);
      // Read (and drop) what comes, so that the prober's closing is seen ('end', then 'close').
      sock.resume();
      sock.on('close', () => {
        open.delete(sock);
        lifetimes.push(Date.now() - started);
      });
    });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    reg = await startRegistry({ args: ['--probe-interval', '200ms', '--probe-timeout', '400ms', '--probe-concurrency', '2'] });
  }, 30_000);
  afterAll(async () => {
    await reg?.cleanup();
    for (const s of open.keys()) s.destroy();
    await new Promise<void>((r) => hole.close(() => r()));
  });

  test('at most --probe-concurrency probes in flight; each given up after --probe-timeout', async () => {
    const port = (hole.address() as AddressInfo).port;
    // Six endpoints that never answer (distinct URLs, one host).
    const urls = Array.from({ length: 6 }, (_, i) => `http://127.0.0.1:${port}/p${i}`);
    expect((await call(reg, 'POST', '/extensions', record('holes', urls))).status).toBe(201);
    for (const u of urls) {
      const p = await waitProbe(reg, 'holes', u, (s) => s !== undefined, 20_000);
      expect(p).toEqual({ ok: false, at: expect.any(String), error: 'no answer within 400 ms' });
    }
    expect(maxOpen).toBeGreaterThanOrEqual(1);
    expect(maxOpen).toBeLessThanOrEqual(2);
    // Every connection the prober opened was closed by it: after its deadline, not left hanging.
    expect(lifetimes.length).toBeGreaterThanOrEqual(6);
    for (const ms of lifetimes) expect(ms).toBeGreaterThanOrEqual(350);
  }, 30_000);
});
