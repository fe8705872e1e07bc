/**
 * Endpoint probes of a running registry (`fuseml-registry serve --probe-interval`, docs/registry.md,
 * "Endpoint probes"). Every interval, each registered endpoint URL is checked once:
 *   - http:// and https:// URLs: a GET of the URL as registered; any HTTP answer below 500 is ok (an S3 or
 *     Kubernetes API answers 403/401 to an anonymous GET: that is reachable), 5xx, a refused or reset
 *     connection, a DNS failure, a TLS failure or no answer within the timeout is not;
 *   - other schemes with an explicit port (grpc://host:9000, postgres://host:5432): a TCP connect;
 *   - anything else is not probed (no status).
 * No credentials are ever sent, to any host: the user and password of a URL are dropped, the only header is
 * User-Agent, redirects are not followed, and credential records are never read (the listing is masked).
 *
 * Statuses live in this process's memory only: never written to the store, lost on restart, and each replica
 * of a registry keeps its own (a replica started later shows none until its first round). Reads overlay them
 * as `status.last_probe {ok, at, error}` on the endpoints (see Registry's `probes`), and the resolver uses them
 * as a tie-breaker (src/core/health.ts).
 *
 * Bounds: at most `concurrency` checks run at once, each within `timeoutMs` (the whole exchange); rounds never
 * overlap (a round that outlasts the interval delays the next one).
 */
import type { EndpointRecord, ExtensionRecord, ProbeStatus, ServiceRecord } from '../core/records.js';
import { httpStatus, tcpConnect, unreachableReason, type ReachOptions } from '../net/reach.js';
import type { Store } from './store/types.js';

export const PROBE_DEFAULTS = Object.freeze({ timeoutMs: 5_000, concurrency: 8 });

/** One check of one URL; resolves with `undefined` for a URL that is not probed. */
export type ProbeCheck = (url: string, options: ReachOptions) => Promise<Omit<ProbeStatus, 'at'> | undefined>;

export interface EndpointProberOptions {
  store: Pick<Store, 'list'>;
  /** Milliseconds between the starts of two rounds. */
  intervalMs: number;
  /** Milliseconds one check may take, connect to answer. */
  timeoutMs?: number | undefined;
  /** Checks in flight at most. */
  concurrency?: number | undefined;
  /** Default: checkUrl below. */
  check?: ProbeCheck | undefined;
  clock?: (() => Date) | undefined;
  /** Told when a round fails as a whole (e.g. the store cannot be listed). */
  onError?: ((err: unknown) => void) | undefined;
}

/** The default check (see the module comment). */
export const checkUrl: ProbeCheck = async (raw, options) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  try {
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      const status = await httpStatus(url, { ...options, userAgent: 'fuseml-registry-probe' });
      return status < 500 ? { ok: true } : { ok: false, error: `HTTP ${status}` };
    }
    if (url.port === '' || url.hostname === '') return undefined;
    await tcpConnect(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port), options);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: unreachableReason(err, options.timeoutMs) };
  }
};

/** `service id` NUL `url`: an endpoint's key within its extension. */
const endpointKey = (serviceId: string, url: string): string => `${serviceId}\u0000${url}`;

interface Target {
  extensionId: string;
  key: string;
  url: string;
}

export class EndpointProber {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly #store: Pick<Store, 'list'>;
  readonly #check: ProbeCheck;
  readonly #clock: () => Date;
  readonly #onError: (err: unknown) => void;
  /** extension id → endpoint key → last probe. */
  readonly #status = new Map<string, Map<string, ProbeStatus>>();
  readonly #listeners = new Set<(extensionId: string) => void>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #abort = new AbortController();
  #stopped = false;

  constructor(options: EndpointProberOptions) {
    this.intervalMs = options.intervalMs;
    this.timeoutMs = options.timeoutMs ?? PROBE_DEFAULTS.timeoutMs;
    this.concurrency = options.concurrency ?? PROBE_DEFAULTS.concurrency;
    if (!(this.intervalMs > 0) || !(this.timeoutMs > 0) || !Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new RangeError('probe interval and timeout must be positive, concurrency a positive integer');
    }
    this.#store = options.store;
    this.#check = options.check ?? checkUrl;
    this.#clock = options.clock ?? (() => new Date());
    this.#onError = options.onError ?? (() => {});
  }

  /**
   * Calls `listener(extensionId)` after a round changed the probe status of any endpoint of that extension
   * (its ok, error or time): a cache of read responses drops that extension then. Returns the unsubscribe.
   */
  onChange(listener: (extensionId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts probing: a first round at once, then one every interval. */
  start(): void {
    if (this.#stopped || this.#timer !== undefined || this.#round !== undefined) return;
    const tick = (): void => {
      const started = Date.now();
      this.#round = this.probeOnce()
        .catch((err: unknown) => this.#onError(err))
        .finally(() => {
          this.#round = undefined;
          if (this.#stopped) return;
          this.#timer = setTimeout(tick, Math.max(0, this.intervalMs - (Date.now() - started)));
          this.#timer.unref();
        });
    };
    tick();
  }

  /** Stops the timer, cancels checks in flight and waits for the round to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#round;
  }

  /** One round over every registered endpoint (bounded by `concurrency` and `timeoutMs`). */
  async probeOnce(): Promise<void> {
    const records = await this.#store.list({});
    const targets: Target[] = [];
    const live = new Map<string, Set<string>>();
    for (const r of records) {
      const keys = new Set<string>();
      live.set(r.id, keys);
      for (const s of r.services ?? []) {
        for (const e of s.endpoints ?? []) {
          const key = endpointKey(s.id, e.url);
          if (keys.has(key)) continue;
          keys.add(key);
          targets.push({ extensionId: r.id, key, url: e.url });
        }
      }
    }
    const changed = new Set<string>();
    // Forget endpoints (and extensions) no longer registered.
    for (const [id, m] of this.#status) {
      const keys = live.get(id);
      for (const k of m.keys()) if (!keys?.has(k)) m.delete(k);
      if (m.size === 0) this.#status.delete(id);
    }
    let next = 0;
    const signal = this.#abort.signal;
    const worker = async (): Promise<void> => {
      while (next < targets.length && !signal.aborted) {
        const t = targets[next++] as Target;
        const outcome = await this.#check(t.url, { timeoutMs: this.timeoutMs, signal });
        if (signal.aborted) return;
        const m = this.#status.get(t.extensionId) ?? new Map<string, ProbeStatus>();
        if (outcome === undefined) {
          if (m.delete(t.key)) changed.add(t.extensionId);
        } else {
          m.set(t.key, { ok: outcome.ok, at: this.#clock().toISOString(), ...(outcome.ok || outcome.error === undefined ? {} : { error: outcome.error }) });
          changed.add(t.extensionId);
        }
        if (m.size > 0) this.#status.set(t.extensionId, m);
        else this.#status.delete(t.extensionId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, targets.length) }, worker));
    for (const id of changed) {
      for (const l of this.#listeners) {
        try {
          l(id);
        } catch (err) {
          this.#onError(err);
        }
      }
    }
  }

  /** The last probe of one endpoint, if any. */
  statusOf(extensionId: string, serviceId: string, url: string): ProbeStatus | undefined {
    return this.#status.get(extensionId)?.get(endpointKey(serviceId, url));
  }

  /** Whether any endpoint has a status (reads that serve stored text as-is must take the slow path then). */
  active(): boolean {
    return this.#status.size > 0;
  }

  /**
   * The record with `status.last_probe` on each probed endpoint. Copies what it changes (the record given is
   * left as it is, so a cached or stored object never takes a probe status into a write).
   */
  annotate(record: ExtensionRecord): ExtensionRecord {
    const m = this.#status.get(record.id);
    if (m === undefined) return record;
    let touched = false;
    const services = (record.services ?? []).map((s): ServiceRecord => {
      let sTouched = false;
      const endpoints = (s.endpoints ?? []).map((e): EndpointRecord => {
        const p = m.get(endpointKey(s.id, e.url));
        if (p === undefined) return e;
        sTouched = true;
        return { ...e, status: { ...e.status, last_probe: { ...p } } };
      });
      if (!sTouched) return s;
      touched = true;
      return { ...s, endpoints };
    });
    return touched ? { ...record, services } : record;
  }
}
