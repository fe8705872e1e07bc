/**
 * The registry's endpoint prober (src/registry/probe.ts) with scripted checks, and its statuses on reads of
 * the in-memory app. The real network side (loopback servers, a real registry process) is in
 * test/integration/registry-probes.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { PROBE_FLAGS, probeSettings } from '../../src/cli/commands/registry-serve.js';
import type { ExtensionRecord } from '../../src/core/records.js';
import { tokenEntry } from '../../src/registry/auth.js';
import { EndpointProber, checkUrl, type ProbeCheck } from '../../src/registry/probe.js';
import { createRegistryApp } from '../../src/registry/server/app.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';

const TOKEN = 'admin-token-0123456789';
const H = { authorization: `Bearer ${TOKEN}` };

function record(id: string, urls: string[]): ExtensionRecord {
  return { id, product: 'p', services: [{ id: 'svc', resource: 'r', endpoints: urls.map((url) => ({ url, type: 'external' as const })) }] };
}

let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore({ path: ':memory:', key: randomBytes(32) });
});
afterEach(async () => {
  await store.close();
});

/** A check whose answers are scripted per URL; counts calls in flight. */
function scripted(answers: Record<string, boolean | undefined>, delayMs = 0): { check: ProbeCheck; maxInFlight: () => number; calls: string[] } {
  let inFlight = 0;
  let max = 0;
  const calls: string[] = [];
  const check: ProbeCheck = async (url) => {
    calls.push(url);
    inFlight++;
    max = Math.max(max, inFlight);
    await new Promise((r) => setTimeout(r, delayMs));
    inFlight--;
    const a = answers[url];
    return a === undefined ? undefined : a ? { ok: true } : { ok: false, error: 'connection refused (nothing listens on that port)' };
  };
  return { check, maxInFlight: () => max, calls };
}

describe('EndpointProber', () => {
  test('one round probes every endpoint once, at most `concurrency` at a time', async () => {
    const urls = Array.from({ length: 12 }, (_, i) => `http://h${i}.example`);
    await store.put(record('a', urls.slice(0, 6)), null);
    await store.put(record('b', urls.slice(6)), null);
    const s = scripted(Object.fromEntries(urls.map((u) => [u, true])), 20);
    const prober = new EndpointProber({ store, intervalMs: 60_000, concurrency: 3, check: s.check });
    await prober.probeOnce();
    expect([...s.calls].sort()).toEqual([...urls].sort());
    expect(s.maxInFlight()).toBe(3);
    expect(prober.statusOf('a', 'svc', urls[0] as string)).toEqual({ ok: true, at: expect.any(String) });
  });

  test('annotate copies: the record given keeps no status, the copy carries status.last_probe', async () => {
    await store.put(record('a', ['http://up.example', 'http://down.example', 'ftp://unprobed.example']), null);
    const prober = new EndpointProber({ store, intervalMs: 60_000, check: scripted({ 'http://up.example': true, 'http://down.example': false }).check });
    await prober.probeOnce();
    const r = (await store.get('a')) as ExtensionRecord;
    const shown = prober.annotate(r);
    // Written straight to the store: no status at all.
    expect(r.services?.[0]?.endpoints?.map((e) => e.status)).toEqual([undefined, undefined, undefined]);
    expect(shown.services?.[0]?.endpoints?.map((e) => e.status)).toEqual([
      { last_probe: { ok: true, at: expect.any(String) } },
      { last_probe: { ok: false, at: expect.any(String), error: 'connection refused (nothing listens on that port)' } },
      undefined,
    ]);
  });

  test('onChange names each extension whose statuses a round changed; deregistered endpoints are forgotten', async () => {
    await store.put(record('a', ['http://a.example']), null);
    await store.put(record('b', ['http://b.example']), null);
    const prober = new EndpointProber({ store, intervalMs: 60_000, check: scripted({ 'http://a.example': true, 'http://b.example': false }).check });
    const seen: string[] = [];
    const off = prober.onChange((id) => seen.push(id));
    await prober.probeOnce();
    expect(seen.sort()).toEqual(['a', 'b']);
    await store.delete('b');
    seen.length = 0;
    await prober.probeOnce();
    expect(seen).toEqual(['a']);
    expect(prober.statusOf('b', 'svc', 'http://b.example')).toBeUndefined();
    off();
    seen.length = 0;
    await prober.probeOnce();
    expect(seen).toEqual([]);
  });

  test('start probes at once and every interval; stop cancels the checks in flight', async () => {
    await store.put(record('a', ['http://a.example']), null);
    let calls = 0;
    let cancelled = false;
    const check: ProbeCheck = async (_url, o) => {
      calls++;
      if (calls < 3) return { ok: true };
      // The third check hangs until stop() aborts it.
      await new Promise<void>((r) => o.signal?.addEventListener('abort', () => ((cancelled = true), r())));
      return { ok: false, error: 'cancelled' };
    };
    const prober = new EndpointProber({ store, intervalMs: 100, check });
    prober.start();
    for (let i = 0; i < 100 && calls < 3; i++) await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(3);
    // Rounds never overlap: while the third check hangs, no fourth round starts.
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(3);
    await prober.stop();
    expect(cancelled).toBe(true);
    // The cancelled check left the previous (ok) status in place.
    expect(prober.statusOf('a', 'svc', 'http://a.example')?.ok).toBe(true);
  });

  test('the default check does not probe URLs of other schemes without a port', async () => {
    expect(await checkUrl('ftp://files.example/x', { timeoutMs: 100 })).toBeUndefined();
    expect(await checkUrl('not a url', { timeoutMs: 100 })).toBeUndefined();
  });
});

describe('statuses on the app', () => {
  test('reads show status.last_probe (list, get, service, endpoint); writes never take it from input', async () => {
    const url = 'http://tracking.example:5000';
    const prober = new EndpointProber({ store, intervalMs: 60_000, check: scripted({ [url]: false }).check });
    const app = await createRegistryApp({ store, auth: { tokens: [tokenEntry({ name: 'a', role: 'admin' }, TOKEN)] }, probes: prober });
    try {
      const forged = { ...record('a', [url]) };
      (forged.services?.[0]?.endpoints?.[0] as { status?: unknown }).status = { last_probe: { ok: true, at: '2020-01-01T00:00:00Z' } };
      expect((await app.inject({ method: 'POST', url: '/extensions', headers: H, payload: forged })).statusCode).toBe(201);
      // Not stored: the store holds an empty endpoint status, and no probe has run yet.
      expect((await store.get('a'))?.services?.[0]?.endpoints?.[0]?.status).toEqual({});
      expect((await app.inject({ method: 'GET', url: '/extensions/a', headers: H })).json().services[0].endpoints[0].status).toEqual({});

      await prober.probeOnce();
      const want = { last_probe: { ok: false, at: expect.any(String), error: 'connection refused (nothing listens on that port)' } };
      const list = (await app.inject({ method: 'GET', url: '/extensions', headers: H })).json();
      expect(list[0].services[0].endpoints[0].status).toEqual(want);
      expect((await app.inject({ method: 'GET', url: '/extensions/a', headers: H })).json().services[0].endpoints[0].status).toEqual(want);
      expect((await app.inject({ method: 'GET', url: '/extensions/a/services/svc', headers: H })).json().endpoints[0].status).toEqual(want);
      const ep = await app.inject({ method: 'GET', url: `/extensions/a/services/svc/endpoints/${encodeURIComponent(url)}`, headers: H });
      expect(ep.json().status).toEqual(want);

      // A record read back (with its probe status) can be written again; the status is dropped, not stored.
      const back = (await app.inject({ method: 'GET', url: '/extensions/a', headers: H })).json();
      expect((await app.inject({ method: 'PUT', url: '/extensions/a/record', headers: H, payload: back })).statusCode).toBe(200);
      expect((await store.get('a'))?.services?.[0]?.endpoints?.[0]?.status).toEqual({});
    } finally {
      await app.close();
    }
  });
});

describe('serve probe settings', () => {
  test('off unless an interval is given; the flag wins over the env variable; defaults 5 s and 8', async () => {
    expect(await probeSettings({ port: '0', host: '127.0.0.1' }, {})).toBeUndefined();
    expect(await probeSettings({ port: '0', host: '127.0.0.1', probeInterval: '0' }, { FUSEML_REGISTRY_PROBE_INTERVAL: '30s' })).toBeUndefined();
    expect(await probeSettings({ port: '0', host: '127.0.0.1' }, { FUSEML_REGISTRY_PROBE_INTERVAL: '2m' })).toEqual({ intervalMs: 120_000, timeoutMs: 5_000, concurrency: 8 });
    expect(
      await probeSettings({ port: '0', host: '127.0.0.1', probeInterval: '500ms', probeTimeout: '2s', probeConcurrency: '3' }, { FUSEML_REGISTRY_PROBE_TIMEOUT: '9s' }),
    ).toEqual({ intervalMs: 500, timeoutMs: 2_000, concurrency: 3 });
  });

  test('bad values are usage errors naming the flag or variable', async () => {
    const base = { port: '0', host: '127.0.0.1' };
    await expect(probeSettings({ ...base, probeInterval: 'soon' }, {})).rejects.toThrow(/--probe-interval: "soon" is not a duration/);
    await expect(probeSettings({ ...base, probeInterval: '10ms' }, {})).rejects.toThrow(/--probe-interval 10ms: must be 0 \(off\) or from 100 ms/);
    await expect(probeSettings(base, { FUSEML_REGISTRY_PROBE_INTERVAL: '1s', FUSEML_REGISTRY_PROBE_CONCURRENCY: '0' })).rejects.toThrow(/FUSEML_REGISTRY_PROBE_CONCURRENCY 0: must be an integer/);
    await expect(probeSettings({ ...base, probeInterval: '1s', probeTimeout: '0' }, {})).rejects.toThrow(/--probe-timeout 0: the probe timeout must be positive/);
  });

  test('every probe flag and its env variable is documented in docs/registry.md', () => {
    const doc = readFileSync(new URL('../../docs/registry.md', import.meta.url), 'utf8');
    for (const f of PROBE_FLAGS) {
      expect(doc).toContain(`--${f.flag}`);
      expect(doc).toContain(f.env);
    }
  });
});
