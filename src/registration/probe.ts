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
import type { EndpointRecord, ExtensionRecord, ServiceRecord } from '../core/records.js';
import { displayUrl } from '../core/redact.js';
import { httpStatus, unreachableReason } from '../net/reach.js';

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
