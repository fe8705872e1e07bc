/**
 * Endpoint health as the registry's probes last saw it (docs/registry.md, "Endpoint probes"). Pure rules:
 *  - an endpoint is `ok`, `failed`, or `unknown` (never probed: probes off, not probed yet, or a URL the
 *    registry does not probe);
 *  - resolution uses health only as the last tie-breaker (src/core/resolve.ts): ok ranks above unknown,
 *    unknown above failed. It never removes a candidate: an unhealthy-only match still resolves.
 */
import type { EndpointRecord, ExtensionRecord } from './records.js';

export type Health = 'ok' | 'failed' | 'unknown';

export function endpointHealth(e: EndpointRecord | undefined): Health {
  const p = e?.status?.last_probe;
  if (p === undefined) return 'unknown';
  return p.ok ? 'ok' : 'failed';
}

const RANK: Record<Health, number> = { failed: 0, unknown: 1, ok: 2 };

/** Higher is better: ok 2, unknown 1, failed 0. */
export function healthRank(e: EndpointRecord | undefined): number {
  return RANK[endpointHealth(e)];
}

/**
 * One word for a listing of an extension's endpoints: `ok` (every probed endpoint answered), `down`
 * (none did), `N/M ok` (some did), `-` (none probed).
 */
export function healthSummary(ext: ExtensionRecord): string {
  let probed = 0;
  let ok = 0;
  for (const s of ext.services ?? []) {
    for (const e of s.endpoints ?? []) {
      const h = endpointHealth(e);
      if (h === 'unknown') continue;
      probed++;
      if (h === 'ok') ok++;
    }
  }
  if (probed === 0) return '-';
  if (ok === probed) return 'ok';
  if (ok === 0) return 'down';
  return `${ok}/${probed} ok`;
}

/** An endpoint's health for a listing: `ok`, `failed: <why>`, or `-`. */
export function endpointHealthText(e: EndpointRecord): string {
  const p = e.status?.last_probe;
  if (p === undefined) return '-';
  return p.ok ? 'ok' : `failed: ${p.error ?? 'no answer'}`;
}
