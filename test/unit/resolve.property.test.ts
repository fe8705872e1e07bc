import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CredentialsRecord, ExtensionRecord } from '../../src/core/records.js';
import { prefixedEnvName, ResolutionError, resolveWorkflow, type Resolution, type ResolveContext } from '../../src/core/resolve.js';
import type { Workflow } from '../../src/core/workflow.js';

const PROJECTS = ['A', 'B', 'C'];
const USERS = ['alice', 'bob'];
const ZONES = ['z1', 'z2'];
const RESOURCES = ['s3', 'mlflow-tracking'];

let serial = 0;
const unique = (prefix: string): string => `${prefix}-${++serial}`;

const credentialsArb: fc.Arbitrary<CredentialsRecord> = fc
  .record({
    scope: fc.constantFrom('global', 'project', 'user') as fc.Arbitrary<CredentialsRecord['scope']>,
    projects: fc.subarray(PROJECTS),
    users: fc.subarray(USERS),
    default: fc.boolean(),
  })
  .map((c) => {
    const id = unique('cred');
    // Each credential has values nobody else has, so a leak is detectable in the env.
    return { id, ...c, configuration: { AWS_ACCESS_KEY_ID: `${id}-key`, AWS_SECRET_ACCESS_KEY: `${id}-secret` } };
  });

const extensionArb: fc.Arbitrary<ExtensionRecord> = fc
  .record({
    zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
    resource: fc.constantFrom(...RESOURCES),
    default: fc.boolean(),
    authRequired: fc.option(fc.boolean(), { nil: undefined }),
    internal: fc.boolean(),
    external: fc.boolean(),
    credentials: fc.array(credentialsArb, { maxLength: 4 }),
  })
  .map((e) => {
    const id = unique('ext');
    const endpoints = [
      ...(e.internal ? [{ url: `http://${id}.internal`, type: 'internal' as const, configuration: { [`${e.resource.toUpperCase()}_URL`]: `http://${id}.internal` } }] : []),
      ...(e.external ? [{ url: `https://${id}.example`, type: 'external' as const, configuration: { [`${e.resource.toUpperCase()}_URL`]: `https://${id}.example` } }] : []),
    ];
    return {
      id,
      product: 'p',
      zone: e.zone,
      services: [{ id: 'svc', resource: e.resource, default: e.default, auth_required: e.authRequired, endpoints, credentials: e.credentials }],
    };
  });

const contextArb: fc.Arbitrary<ResolveContext> = fc.record({
  project: fc.constantFrom(...PROJECTS),
  user: fc.option(fc.constantFrom(...USERS), { nil: undefined }),
  zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
});

const workflow: Workflow = {
  name: 'w',
  steps: [{ name: 's', extensions: [{ name: 'store', service_resource: 's3' }] }],
};

function attempt(exts: readonly ExtensionRecord[], ctx: ResolveContext): Resolution | ResolutionError {
  try {
    return resolveWorkflow(workflow, ctx, exts);
  } catch (err) {
    if (err instanceof ResolutionError) return err;
    throw err;
  }
}

/**
 * The oracle: who may use a credential set, written out from the table in docs/registry.md ("Credential
 * scope") as the set of (project, user) pairs of this test's universe it admits — independent of
 * src/core/scope.ts, which the resolver uses.
 */
function admittedPairs(c: CredentialsRecord): Set<string> {
  const out = new Set<string>();
  for (const project of PROJECTS) {
    for (const user of [...USERS, undefined]) {
      const inProjects = (c.projects ?? []).includes(project);
      const inUsers = user !== undefined && (c.users ?? []).includes(user);
      const noProjects = (c.projects ?? []).length === 0;
      const admitted =
        c.scope === 'global' ? true : c.scope === 'project' ? inProjects : c.scope === 'user' ? inUsers && (noProjects || inProjects) : false;
      if (admitted) out.add(`${project}|${user ?? ''}`);
    }
  }
  return out;
}

function oracleAllows(c: CredentialsRecord, ctx: ResolveContext): boolean {
  return admittedPairs(c).has(`${ctx.project}|${ctx.user ?? ''}`);
}

function allCredentials(exts: readonly ExtensionRecord[]): CredentialsRecord[] {
  return exts.flatMap((e) => (e.services ?? []).flatMap((s) => s.credentials ?? []));
}

describe('resolution properties', () => {
  it('never returns credentials the project/user may not use, nor their values', () => {
    fc.assert(
      fc.property(fc.array(extensionArb, { maxLength: 5 }), contextArb, (exts, ctx) => {
        const r = attempt(exts, ctx);
        const forbidden = allCredentials(exts).filter((c) => !oracleAllows(c, ctx));
        const text = JSON.stringify(r instanceof ResolutionError ? { m: r.message, p: r.problems } : r);
        for (const c of forbidden) {
          expect(text).not.toContain(`${c.id}-secret`);
          expect(text).not.toContain(`${c.id}-key`);
        }
        if (!(r instanceof ResolutionError)) {
          for (const choice of r.steps.flatMap((s) => s.choices)) {
            if (choice.credentials_id === undefined) continue;
            const c = allCredentials(exts).find((x) => x.id === choice.credentials_id) as CredentialsRecord;
            expect(oracleAllows(c, ctx)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a credential set the oracle admits and that is the only one of its service is used', () => {
    fc.assert(
      fc.property(credentialsArb, contextArb, (c, ctx) => {
        const ext: ExtensionRecord = { id: unique('ext'), services: [{ id: 'svc', resource: 's3', endpoints: [{ url: 'http://x', type: 'internal' }], credentials: [c] }] };
        const r = attempt([ext], { ...ctx, zone: undefined });
        expect(r instanceof ResolutionError ? undefined : r.steps[0]?.choices[0]?.credentials_id).toBe(oracleAllows(c, ctx) ? c.id : undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('error messages never contain any credential value', () => {
    fc.assert(
      fc.property(fc.array(extensionArb, { maxLength: 5 }), contextArb, (exts, ctx) => {
        const r = attempt(exts, ctx);
        if (!(r instanceof ResolutionError)) return;
        const text = JSON.stringify({ m: r.message, p: r.problems, i: r.issues, h: r.hint });
        expect(text).not.toMatch(/cred-\d+-(secret|key)/);
      }),
      { numRuns: 200 },
    );
  });

  it('the outcome does not depend on the order of the records', () => {
    fc.assert(
      fc.property(fc.array(extensionArb, { maxLength: 5 }), contextArb, fc.nat(), (exts, ctx, seed) => {
        const shuffled = [...exts].sort((a, b) => ((a.id.length * 31 + seed) % 7) - ((b.id.length * 31 + seed) % 7) || (seed % 2 ? a.id.localeCompare(b.id) : b.id.localeCompare(a.id)));
        const one = attempt(exts, ctx);
        const two = attempt(shuffled, ctx);
        if (one instanceof ResolutionError || two instanceof ResolutionError) {
          expect(one instanceof ResolutionError && two instanceof ResolutionError).toBe(true);
          const kinds = (e: ResolutionError) => e.problems.map((p) => [p.kind, [...(p.candidates ?? [])].sort()]);
          expect(kinds(one as ResolutionError)).toEqual(kinds(two as ResolutionError));
        } else {
          expect(one).toEqual(two);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('env holds each chosen configuration value under its native and its prefixed key', () => {
    fc.assert(
      fc.property(fc.array(extensionArb, { maxLength: 5 }), contextArb, (exts, ctx) => {
        const r = attempt(exts, ctx);
        if (r instanceof ResolutionError) return;
        for (const step of r.steps) {
          for (const ch of step.choices) {
            expect(step.env[prefixedEnvName(ch.requirement, 'URL')]).toBe(ch.url);
            for (const [k, v] of Object.entries(ch.configuration)) {
              expect(step.env[k]).toBe(v);
              expect(step.env[prefixedEnvName(ch.requirement, k)]).toBe(v);
              if (ch.secret_keys.includes(k)) expect(step.secret_env).toContain(k);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a unique in-zone default with usable access always wins', () => {
    fc.assert(
      fc.property(fc.array(extensionArb, { maxLength: 4 }), contextArb, (others, ctx) => {
        const winner: ExtensionRecord = {
          id: unique('winner'),
          zone: ctx.zone,
          services: [
            {
              id: 'svc',
              resource: 's3',
              default: true,
              endpoints: [{ url: 'http://winner', type: 'internal' }],
              credentials: [{ id: unique('cred'), scope: 'user', users: USERS, projects: [], default: true, configuration: { K: 'v' } }],
            },
          ],
        };
        // Others: not in the caller's zone, or not default (without a caller zone, every service is local).
        const local = (e: ExtensionRecord): boolean => ctx.zone === undefined || e.zone === ctx.zone;
        const rest = others.map((e) => ({ ...e, services: (e.services ?? []).map((s) => ({ ...s, default: local(e) ? false : s.default })) }));
        const ctxWithUser = { ...ctx, user: ctx.user ?? 'alice' };
        const r = attempt([...rest, winner], ctxWithUser);
        expect(r instanceof ResolutionError ? r.problems : r.steps[0]?.choices[0]?.extension_id).toBe(winner.id);
      }),
      { numRuns: 200 },
    );
  });
});
