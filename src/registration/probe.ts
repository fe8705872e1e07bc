/**
 * Connectivity checks of a registration's endpoints, before it is stored:
 *   - resource mlflow-tracking: GET <url>/health must answer 200;
 *   - resource s3 (or any endpoint with an S3 endpoint key): the URL must answer
 *     HTTP at all (S3 answers 403/400 to an anonymous GET: that is reachable);
 *   - other http(s) endpoints: any HTTP answer.
 * Endpoints that cannot be reached from here by design are skipped with a
 * reason: in-cluster names (*.svc, *.svc.cluster.local, kubernetes.default*).
 * A closed port, a refused connection, a DNS failure or a timeout fails.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { EndpointRecord, ExtensionRecord, ServiceRecord } from '../core/records.js';
import { displayUrl } from '../core/redact.js';

export interface ProbeResult {
  service: string;
  url: string;
  /** `ok`, `failed`, or `skipped` (not reachable from here by design). */
  state: 'ok' | 'failed' | 'skipped';
  check: string;
  detail: string;
}

export interface ProbeOptions {
  timeoutMs?: number | undefined;

}

function inClusterHost(host: string): boolean {
  const h = host.toLowerCase();
  return h.endsWith('.svc') || h.endsWith('.svc.cluster.local') || h === 'kubernetes' || h.startsWith('kubernetes.default');
}

/** How a reachability check may run: a deadline for the whole exchange, and a cancellation signal. */
export interface ReachOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  userAgent?: string | undefined;
}

const timedOut = (): Error => Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' });

/**
 * GET url with node:http(s) (fetch refuses some ports, e.g. 6000) and resolves with the status as soon as the
 * response head arrives. Sends no credentials: user and password in the URL are dropped (node would turn
 * them into an Authorization header), and the only header is User-Agent. Redirects are not followed. A fresh
 * connection each time (no keep-alive pool), closed after the answer; the deadline covers the whole exchange.
 */
export function httpStatus(url: URL, options: ReachOptions): Promise<number> {
  const target = new URL(url.href);
  target.username = '';
  target.password = '';
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.request(
      target,
      { method: 'GET', agent: false, signal: options.signal, headers: { 'user-agent': options.userAgent ?? 'fuseml-installer-check', connection: 'close' } },
      (res) => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    const timer = setTimeout(() => req.destroy(timedOut()), options.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** Opens a TCP connection to host:port and closes it at once; the deadline covers the connect. */
export function tcpConnect(host: string, port: number, options: ReachOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    const sock = net.connect({ host, port, signal: options.signal });
    const timer = setTimeout(() => sock.destroy(timedOut()), options.timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Why a check failed, in a few words (never the URL: it may carry a user name). */
export function unreachableReason(err: unknown, timeoutMs: number): string {
  const code = (err as { code?: string }).code;
  if (code === 'ETIMEDOUT') return `no answer within ${timeoutMs} ms`;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens on that port)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name does not resolve';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset';
  if (code === 'ABORT_ERR') return 'cancelled';
  if (code !== undefined && /CERT|SSL|TLS|SELF_SIGNED/i.test(code)) return `TLS failed (${code})`;
  if (code) return `cannot connect (${code})`;
  return 'cannot connect';
}

type Get = (url: URL, timeoutMs: number) => Promise<number>;
const get: Get = (url, timeoutMs) => httpStatus(url, { timeoutMs });

async function probeEndpoint(service: ServiceRecord, endpoint: EndpointRecord, timeoutMs: number, doGet: Get): Promise<ProbeResult> {
  const shown = displayUrl(endpoint.url);
  const base = { service: service.id, url: shown };
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    return { ...base, state: 'failed', check: 'url', detail: 'not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ...base, state: 'skipped', check: 'none', detail: `${url.protocol} endpoints are not probed` };
  }
  if (inClusterHost(url.hostname)) {
    return { ...base, state: 'skipped', check: 'none', detail: 'in-cluster address, not reachable from here' };
  }
  const mlflow = service.resource === 'mlflow-tracking';
  const target = mlflow ? new URL(url.pathname.replace(/\/+$/, '') + '/health', url) : url;
  const check = mlflow ? 'GET /health = 200' : 'HTTP reachable';
  try {
    const status = await doGet(target, timeoutMs);
    if (mlflow && status !== 200) return { ...base, state: 'failed', check, detail: `GET ${target.pathname} answered ${status}, not 200 (is this an MLflow tracking server?)` };
    return { ...base, state: 'ok', check, detail: `HTTP ${status}` };
  } catch (err) {
    return { ...base, state: 'failed', check, detail: unreachableReason(err, timeoutMs) };
  }
}

/** Probes every endpoint of the record, in parallel. */
export async function probeRecord(record: ExtensionRecord, options: ProbeOptions = {}): Promise<ProbeResult[]> {
  const timeoutMs = options.timeoutMs ?? 5_000;

  const jobs: Promise<ProbeResult>[] = [];
  for (const s of record.services ?? []) for (const e of s.endpoints ?? []) jobs.push(probeEndpoint(s, e, timeoutMs, get));
  return Promise.all(jobs);
}
