/**
 * The registry's candidate records for POST /workflows/resolve (candidatesFor: one store query per distinct
 * requirement, credential values decrypted only for in-scope sets of services a requirement's service selectors
 * accept) give the same resolution as the whole registry read with every in-scope set in clear and the others
 * hidden (what the route read before), on generated registries and workflows, over a real SQLite store.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { HIDDEN, type CredentialsRecord, type ExtensionRecord } from '../../src/core/records.js';
import { ResolutionError, resolveWorkflow, type ResolveContext } from '../../src/core/resolve.js';
import { grantAllows } from '../../src/core/scope.js';
import type { ExtensionRequirement, Workflow } from '../../src/core/workflow.js';
import { Registry } from '../../src/registry/registry.js';
import { candidatesFor } from '../../src/registry/server/routes/workflows.js';
import { SqliteStore } from '../../src/registry/store/sqlite.js';

const PROJECTS = ['A', 'B'];
const USERS = ['alice', 'bob'];
const SERVICES = ['api', 'store', 'tracking'];
const RESOURCES = ['s3', 'mlflow'];
const PRODUCTS = ['p1', 'p2'];
const VERSIONS = ['1.0.0', '1.1.0', '2.0.0'];

const credentialsArb: fc.Arbitrary<Omit<CredentialsRecord, 'id'>> = fc.record({
  scope: fc.constantFrom('global', 'project', 'user') as fc.Arbitrary<CredentialsRecord['scope']>,
  projects: fc.subarray(PROJECTS, { minLength: 1 }),
  users: fc.subarray(USERS, { minLength: 1 }),
  default: fc.boolean(),
});

interface GenService {
  id: string;
  resource: string;
  default: boolean;
  credentials: Omit<CredentialsRecord, 'id'>[];
}
interface GenExtension {
  product: string;
  version: string;
  services: GenService[];
}

const serviceArb: fc.Arbitrary<GenService> = fc.record({
  id: fc.constantFrom(...SERVICES),
  resource: fc.constantFrom(...RESOURCES),
  default: fc.boolean(),
  credentials: fc.array(credentialsArb, { maxLength: 3 }),
});

const extensionArb: fc.Arbitrary<GenExtension> = fc.record({
  product: fc.constantFrom(...PRODUCTS),
  version: fc.constantFrom(...VERSIONS),
  services: fc.uniqueArray(serviceArb, { selector: (s) => s.id, minLength: 1, maxLength: 3 }),
});

const requirementArb: fc.Arbitrary<Omit<ExtensionRequirement, 'name'>> = fc.record(
  {
    product: fc.constantFrom(...PRODUCTS),
    version: fc.constantFrom('1.0.0', '>=1.0.0 <2.0.0', '2.0.0'),
    service_id: fc.constantFrom(...SERVICES),
    service_resource: fc.constantFrom(...RESOURCES),
  },
  { requiredKeys: [] },
);

const contextArb: fc.Arbitrary<ResolveContext> = fc.record({
  project: fc.constantFrom(...PROJECTS),
  user: fc.option(fc.constantFrom(...USERS), { nil: undefined }),
});

function records(exts: GenExtension[]): ExtensionRecord[] {
  return exts.map((e, i) => {
    const id = `ext-${i}`;
    return {
      id,
      product: e.product,
      version: e.version,
      services: e.services.map((s) => ({
        id: s.id,
        resource: s.resource,
        default: s.default,
        endpoints: [{ url: `https://${id}-${s.id}.example`, type: 'external' as const }],
        credentials: s.credentials.map((c, k) => {
          const cid = `c${k}`;
          // Values unique to each set: a value in the wrong place shows in the resolution.
          return { id: cid, ...c, configuration: { [`${s.id.toUpperCase()}_KEY`]: `${id}/${s.id}/${cid}` } };
        }),
      })),
    };
  });
}

/** What the route read before: every record, the in-scope sets in clear first, then the others hidden. */
async function everything(store: SqliteStore, ctx: ResolveContext): Promise<ExtensionRecord[]> {
  const scope = { projects: [ctx.project], users: ctx.user === undefined ? [] : [ctx.user] };
  const all = await store.list({}, { reveal: (c) => grantAllows(c, scope) });
  for (const r of all) {
    for (const s of r.services ?? []) {
      const creds = s.credentials ?? [];
      s.credentials = [...creds.filter((c) => grantAllows(c, scope)), ...creds.filter((c) => !grantAllows(c, scope))];
    }
  }
  return all;
}

function outcome(workflow: Workflow, ctx: ResolveContext, recs: ExtensionRecord[]): unknown {
  try {
    return resolveWorkflow(workflow, ctx, recs);
  } catch (err) {
    if (err instanceof ResolutionError) return { problems: err.problems };
    throw err;
  }
}

let store: SqliteStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('resolve candidates (one query per requirement, scoped decryption)', () => {
  it('resolve gives the same result as over every record, on generated registries and workflows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(extensionArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.array(requirementArb, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 3 }),
        contextArb,
        async (exts, steps, ctx) => {
          const s = new SqliteStore({ path: ':memory:', key: randomBytes(32) });
          try {
            for (const r of records(exts)) await s.put(r, null);
            const workflow: Workflow = {
              name: 'w',
              steps: steps.map((reqs, i) => ({ name: `s${i}`, image: 'busybox', extensions: reqs.map((r, k) => ({ name: `r${i}x${k}`, ...r })) })),
            };
            const registry = new Registry(s);
            const candidates = await candidatesFor(registry, ctx, workflow);
            expect(outcome(workflow, ctx, candidates)).toEqual(outcome(workflow, ctx, await everything(s, ctx)));
          } finally {
            await s.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('decrypts only the in-scope credentials of services a requirement may pick', async () => {
    store = new SqliteStore({ path: ':memory:', key: randomBytes(32) });
    const cred = (id: string, scope: CredentialsRecord['scope'], projects: string[] = []): CredentialsRecord => ({ id, scope, projects, configuration: { KEY: `${id}-value` } });
    await store.put(
      {
        id: 'e1',
        product: 'p',
        services: [
          { id: 'api', resource: 'serving', endpoints: [{ url: 'https://api.example', type: 'external' }], credentials: [cred('api-g', 'global'), cred('api-other', 'project', ['B'])] },
          { id: 'store', resource: 's3', endpoints: [{ url: 'https://s3.example', type: 'external' }], credentials: [cred('store-g', 'global')] },
        ],
      },
      null,
    );
    const workflow: Workflow = { name: 'w', steps: [{ name: 's', image: 'busybox', extensions: [{ name: 'serving', product: 'p', service_id: 'api' }] }] };
    const [rec] = await candidatesFor(new Registry(store), { project: 'A' }, workflow);
    const values = Object.fromEntries((rec?.services ?? []).flatMap((s) => (s.credentials ?? []).map((c) => [`${s.id}/${c.id}`, c.configuration?.KEY])));
    // In scope and wanted: in clear; out of scope, or of a service no requirement selects: hidden.
    expect(values).toEqual({ 'api/api-g': 'api-g-value', 'api/api-other': HIDDEN, 'store/store-g': HIDDEN });
    const resolution = resolveWorkflow(workflow, { project: 'A' }, rec ? [rec] : []);
    expect(resolution.steps[0]?.choices[0]).toMatchObject({ service_id: 'api', credentials_id: 'api-g', configuration: { KEY: 'api-g-value' } });
  });
});
