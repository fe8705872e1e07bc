/**
 * Generated-case check (issue 11) that `GET /extensions?version=X` and a workflow requirement `version: X`
 * (POST /workflows/resolve) select the same records, over a real registry server with whichever store it
 * runs on. Malformed selectors must be a 400 on both routes.
 */
import fc from 'fast-check';
import { expect } from 'vitest';

export const RECORD_VERSIONS = ['1.0.0', '1.0.5', '1.1.0', '1.19', '1.19.2', '1.20.0', '2.0.0-rc.1', '2.3.4', 'v3.0.0', 'latest', '2024-05'];

const OPS = ['', '=', '>', '>=', '<', '<=', '~', '^'];
const BASES = ['1', '1.0', '1.19', '1.19.2', '2', '2.0.0-rc.1', '3.0', 'v1.1', '1.x', '*'];

/** Selectors: record versions as they are, comparators joined by commas or `||`, and malformed ones. */
export const selectorArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...RECORD_VERSIONS, ...BASES),
  fc
    .array(fc.tuple(fc.constantFrom(...OPS), fc.constantFrom(...BASES.filter((b) => b !== '*'))), { minLength: 1, maxLength: 3 })
    .chain((cs) => fc.constantFrom(',', ', ', ' ').map((sep) => cs.map(([op, v]) => `${op}${v}`).join(sep))),
  fc.tuple(fc.constantFrom(...BASES), fc.constantFrom(...BASES)).map(([a, b]) => `${a} || >=${b}`),
  fc.constantFrom('>=1.0,<', '>=', '<', '1.0,,2.0', '>=1.0,', ',>=1', '>=1 ||', '>=x.y', '1.0 - ', '~>'),
);

interface Endpoint {
  url: string;
  token: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience: JSON bodies read by path
async function call(e: Endpoint, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${e.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${e.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

/** Registers one extension per record version under `product`, each with one service of resource `resource`. */
export async function registerVersions(e: Endpoint, product: string, resource: string): Promise<void> {
  for (const [i, version] of RECORD_VERSIONS.entries()) {
    const id = `${product}-${i}`;
    const r = await call(e, 'PUT', `/extensions/${id}/record`, {
      id,
      product,
      version,
      services: [{ id: 'svc', resource, endpoints: [{ url: `http://${id}.local`, type: 'internal' }] }],
    });
    expect([200, 201]).toContain(r.status);
  }
}

/** The ids each route selects for selector `x`, or 'invalid' when it answers 400. */
export async function selections(e: Endpoint, product: string, x: string): Promise<{ query: string[] | 'invalid'; requirement: string[] | 'invalid' }> {
  const q = await call(e, 'GET', `/extensions?product=${encodeURIComponent(product)}&version=${encodeURIComponent(x)}`);
  const query = q.status === 400 ? 'invalid' : (expect(q.status).toBe(200), (q.json as { id: string }[]).map((r) => r.id).sort());
  const r = await call(e, 'POST', '/workflows/resolve', {
    project: 'p',
    workflow: { name: 'w', steps: [{ name: 's', extensions: [{ name: 'x', product, version: x }] }] },
  });
  let requirement: string[] | 'invalid';
  if (r.status === 400) requirement = 'invalid';
  else if (r.status === 200) requirement = [r.json.steps[0].choices[0].extension_id];
  else {
    expect(r.status).toBe(422);
    const issue = r.json.error.issues[0];
    requirement = issue.kind === 'ambiguous' ? (issue.candidates as string[]).map((c) => c.split('/')[0] as string) : (expect(issue.kind).toBe('no-match'), []);
  }
  return { query, requirement: requirement === 'invalid' ? requirement : requirement.sort() };
}

/** The property: for generated selectors both routes agree (same ids, or both 400). Returns the number of cases. */
export async function checkAgreement(e: Endpoint, product: string, numRuns: number): Promise<{ cases: number; invalid: number; nonEmpty: number }> {
  let cases = 0;
  let invalid = 0;
  let nonEmpty = 0;
  await fc.assert(
    fc.asyncProperty(selectorArb, async (x) => {
      const s = await selections(e, product, x);
      expect({ x, ...s }).toEqual({ x, query: s.query, requirement: s.query });
      cases++;
      if (s.query === 'invalid') invalid++;
      else if (s.query.length > 0) nonEmpty++;
    }),
    { numRuns },
  );
  return { cases, invalid, nonEmpty };
}
