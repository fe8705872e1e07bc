/**
 * Endpoint health as the resolver's tie-breaker (src/core/resolve.ts rule 5, src/core/health.ts), checked
 * against an oracle written from the documented rule (docs/workflows.md / docs/registry.md), not from the
 * implementation's rank numbers: earlier rules decide first; among candidates still equal, a healthy endpoint
 * (last probe ok) beats one never probed, which beats one whose last probe failed; health never removes a
 * candidate.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointHealthText, healthSummary } from '../../src/core/health.js';
import type { ExtensionRecord, ProbeStatus } from '../../src/core/records.js';
import { ResolutionError, resolveWorkflow, type ResolveContext } from '../../src/core/resolve.js';
import type { Workflow } from '../../src/core/workflow.js';

type H = 'ok' | 'failed' | 'unknown';
const AT = '2026-11-28T03:00:00.000Z';

function probe(h: H): ProbeStatus | undefined {
  if (h === 'ok') return { ok: true, at: AT };
  if (h === 'failed') return { ok: false, at: AT, error: 'connection refused (nothing listens on that port)' };
  return undefined;
}

/** One mlflow-tracking extension with one internal endpoint, in zone z1 unless told otherwise. */
function ext(id: string, h: H, extra: { default?: boolean; zone?: string } = {}): ExtensionRecord {
  const url = `http://${id}.example:5000`;
  const p = probe(h);
  return {
    id,
    product: 'mlflow',
    zone: extra.zone ?? 'z1',
    services: [
      {
        id: 'tracking',
        resource: 'mlflow-tracking',
        ...(extra.default === undefined ? {} : { default: extra.default }),
        endpoints: [
          { url, type: 'internal', configuration: { MLFLOW_TRACKING_URI: url }, ...(p ? { status: { last_probe: p } } : {}) },
          { url: `https://${id}.public.example`, type: 'external', configuration: { MLFLOW_TRACKING_URI: `https://${id}.public.example` } },
        ],
      },
    ],
  };
}

const wf: Workflow = { name: 'w', steps: [{ name: 's', extensions: [{ name: 'tracker', service_resource: 'mlflow-tracking' }] }] };
const ctx: ResolveContext = { project: 'p', zone: 'z1' };

function chosen(records: ExtensionRecord[], c: ResolveContext = ctx): { id: string; reasons: string[] } | 'ambiguous' {
  try {
    const ch = resolveWorkflow(wf, c, records).steps[0]?.choices[0];
    return { id: ch?.extension_id ?? '', reasons: ch?.reasons ?? [] };
  } catch (err) {
    if (err instanceof ResolutionError && err.problems.every((p) => p.kind === 'ambiguous')) return 'ambiguous';
    throw err;
  }
}

describe('health as a tie-breaker', () => {
  it('prefers the healthy one of two otherwise equal candidates, and says why', () => {
    const r = chosen([ext('a', 'failed'), ext('b', 'ok')]);
    expect(r).toMatchObject({ id: 'b' });
    expect(r !== 'ambiguous' && r.reasons).toContain('endpoint healthy (last probe ok)');
  });

  it('ranks a never-probed endpoint between a healthy and a failed one', () => {
    expect(chosen([ext('a', 'unknown'), ext('b', 'ok')])).toMatchObject({ id: 'b' });
    expect(chosen([ext('a', 'unknown'), ext('b', 'failed')])).toMatchObject({ id: 'a' });
  });

  it('leaves equally healthy candidates ambiguous', () => {
    expect(chosen([ext('a', 'ok'), ext('b', 'ok')])).toBe('ambiguous');
    expect(chosen([ext('a', 'failed'), ext('b', 'failed')])).toBe('ambiguous');
    expect(chosen([ext('a', 'unknown'), ext('b', 'unknown')])).toBe('ambiguous');
  });

  it('is never a filter: an unhealthy-only match still resolves, named as unhealthy', () => {
    const r = chosen([ext('a', 'failed')]);
    expect(r).toMatchObject({ id: 'a' });
    expect(r !== 'ambiguous' && r.reasons.some((x) => x.startsWith('endpoint unhealthy (last probe failed: connection refused'))).toBe(true);
  });

  it('never overrides an earlier rule: the default instance and the same zone win even when unhealthy', () => {
    expect(chosen([ext('a', 'failed', { default: true }), ext('b', 'ok')])).toMatchObject({ id: 'a' });
    expect(chosen([ext('a', 'failed'), ext('b', 'ok', { zone: 'z2' })])).toMatchObject({ id: 'a' });
  });

  it('judges the endpoint the zone rule picked (the internal one in the same zone), not any endpoint', () => {
    // b's internal endpoint failed; its external one was never probed: in zone z1 the internal one counts.
    expect(chosen([ext('a', 'unknown'), ext('b', 'failed')])).toMatchObject({ id: 'a' });
  });

  it('agrees with the documented rule on any mix of health and default marks (oracle)', () => {
    const ORDER: H[] = ['ok', 'unknown', 'failed'];
    const oracle = (cands: Array<{ id: string; h: H; def: boolean }>): string => {
      // Rule 3 first: default instances, if any, are the only contenders.
      const contenders = cands.some((c) => c.def) ? cands.filter((c) => c.def) : cands;
      // Rule 5: the best health class present among them.
      for (const h of ORDER) {
        const best = contenders.filter((c) => c.h === h);
        if (best.length === 0) continue;
        return best.length === 1 ? (best[0] as { id: string }).id : 'ambiguous';
      }
      return 'none';
    };
    fc.assert(
      fc.property(
        fc.array(fc.record({ h: fc.constantFrom<H>('ok', 'failed', 'unknown'), def: fc.boolean() }), { minLength: 1, maxLength: 5 }),
        (specs) => {
          const cands = specs.map((s, i) => ({ id: `e${i}`, ...s }));
          const got = chosen(cands.map((c) => ext(c.id, c.h, { default: c.def })));
          expect(got === 'ambiguous' ? got : got.id).toBe(oracle(cands));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('health for listings', () => {
  it('summarizes an extension: ok, down, N/M ok, or - when nothing was probed', () => {
    const two = (a: H, b: H): ExtensionRecord => {
      const e = ext('x', a);
      const p = probe(b);
      const ep = e.services?.[0]?.endpoints?.[1];
      if (ep && p) ep.status = { last_probe: p };
      return e;
    };
    expect(healthSummary(two('ok', 'ok'))).toBe('ok');
    expect(healthSummary(two('failed', 'failed'))).toBe('down');
    expect(healthSummary(two('ok', 'failed'))).toBe('1/2 ok');
    expect(healthSummary(two('ok', 'unknown'))).toBe('ok');
    expect(healthSummary(two('unknown', 'unknown'))).toBe('-');
  });

  it('shows an endpoint as ok, failed with the reason, or -', () => {
    const eps = ['ok', 'failed', 'unknown'].map((h) => ext('x', h as H).services?.[0]?.endpoints?.[0]);
    expect(eps.map((e) => (e ? endpointHealthText(e) : ''))).toEqual(['ok', 'failed: connection refused (nothing listens on that port)', '-']);
  });
});
