/**
 * The Store contract (src/registry/store/types.ts), one suite run against every
 * store: SQLite in test/integration/registry-store-contract.test.ts, the
 * Kubernetes store in test/e2e/registry-kubernetes-store.test.ts.
 *
 *   storeContract('sqlite', { open: async () => new SqliteStore(…), atRest: async (id) => … });
 *
 * Every test uses ids and products of its own, so the suite runs on a shared,
 * non-empty store.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import type { ExtensionRecord } from '../../src/core/records.js';
import { PreconditionFailedError } from '../../src/registry/errors.js';
import type { Store } from '../../src/registry/store/types.js';

export interface StoreContractOptions {
  /** A store over the shared state; called more than once (two handles stand for two replicas). */
  open(): Promise<Store>;
  /** Everything stored at rest about extension `id`, as text (raw file bytes, raw API objects…). */
  atRest(id: string): Promise<string>;
}

function tag(): string {
  return randomBytes(4).toString('hex');
}

/** A document as the registry would store it: revisions set, one service with global, project and user credentials. */
export function sampleRecord(id: string, o: { product?: string; zone?: string; revision?: number; secret?: string } = {}): ExtensionRecord {
  const revision = o.revision ?? 1;
  return {
    id,
    product: o.product ?? 'mlflow',
    version: '1.20.2',
    ...(o.zone === undefined ? {} : { zone: o.zone }),
    description: 'contract test',
    revision,
    status: { registered: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' },
    services: [
      {
        id: 'mlflow-store',
        resource: 's3',
        category: 'model-store',
        revision,
        endpoints: [{ url: 'http://minio:9000', type: 'internal', configuration: { MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000' }, revision }],
        credentials: [
          { id: 'global', scope: 'global', default: true, configuration: { AWS_ACCESS_KEY_ID: 'admin', AWS_SECRET_ACCESS_KEY: o.secret ?? 'plain' }, revision },
          { id: 'team-a', scope: 'project', projects: ['team-a'], configuration: { TOKEN: `${o.secret ?? 'plain'}-project` }, revision },
          { id: 'alice', scope: 'user', users: ['alice'], configuration: { TOKEN: `${o.secret ?? 'plain'}-user` }, revision },
        ],
      },
      { id: 'mlflow-tracking', resource: 'mlflow-tracking', category: 'experiment-tracking', revision },
    ],
  };
}

function masked(r: ExtensionRecord): ExtensionRecord {
  const m = structuredClone(r);
  for (const s of m.services ?? []) {
    for (const c of s.credentials ?? []) {
      if (c.configuration) c.configuration = Object.fromEntries(Object.keys(c.configuration).map((k) => [k, '<hidden>']));
    }
  }
  return m;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof PreconditionFailedError ? 'PRECONDITION_FAILED' : String((e as { code?: unknown }).code);
  }
}

export function storeContract(name: string, options: StoreContractOptions): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    let shared: Store | undefined;
    const store = async (): Promise<Store> => (shared ??= await open());
    const open = async (): Promise<Store> => {
      const s = await options.open();
      opened.push(s);
      return s;
    };
    afterAll(async () => {
      for (const s of opened) await s.close();
    });

    test('put then get: masked by default, revealed on request, with a predicate per credential', async () => {
      const s = await store();
      const id = `get-${tag()}`;
      const rec = sampleRecord(id, { secret: `planted-${tag()}` });
      expect(await s.put(rec, null)).toEqual(rec);
      expect(await s.get(id)).toEqual(masked(rec));
      expect(await s.get(id, { reveal: false })).toEqual(masked(rec));
      expect(await s.get(id, { reveal: true })).toEqual(rec);
      const some = await s.get(id, { reveal: (c) => c.scope === 'global' });
      const creds = some?.services?.[0]?.credentials ?? [];
      expect(creds.map((c) => [c.id, c.configuration])).toEqual([
        ['global', rec.services?.[0]?.credentials?.[0]?.configuration],
        ['team-a', { TOKEN: '<hidden>' }],
        ['alice', { TOKEN: '<hidden>' }],
      ]);
      expect(await s.get(`absent-${tag()}`)).toBeUndefined();
    });

    test('ids that differ only in case or _ / - are different extensions', async () => {
      const s = await store();
      const t = tag();
      const ids = [`Case_${t}`, `case_${t}`, `case-${t}`, `CASE-${t}`];
      for (const [i, id] of ids.entries()) await s.put({ ...sampleRecord(id, { product: `p-${t}` }), description: String(i) }, null);
      for (const [i, id] of ids.entries()) expect((await s.get(id))?.description).toBe(String(i));
      expect((await s.list({ product: `p-${t}` })).map((r) => r.id)).toEqual([...ids].sort());
      const long = `L${'_'.repeat(98)}${t.slice(0, 1)}`;
      await s.put(sampleRecord(long), null);
      expect((await s.get(long))?.id).toBe(long);
    });

    test('compare-and-swap: null on an existing id → CONFLICT; stale revision → PreconditionFailed; absent → NOT_FOUND', async () => {
      const s = await store();
      const id = `cas-${tag()}`;
      await s.put(sampleRecord(id), null);
      expect(await codeOf(s.put(sampleRecord(id), null))).toBe('CONFLICT');
      expect(await codeOf(s.put(sampleRecord(id, { revision: 3 }), 2))).toBe('PRECONDITION_FAILED');
      expect(await codeOf(s.put(sampleRecord(`absent-${tag()}`, { revision: 2 }), 1))).toBe('NOT_FOUND');
      const next = { ...sampleRecord(id, { revision: 2, secret: 'second' }), description: 'second' };
      await s.put(next, 1);
      expect(await s.get(id, { reveal: true })).toEqual(next);
      expect(await codeOf(s.put(sampleRecord(id, { revision: 2 }), 1))).toBe('PRECONDITION_FAILED');
      // Credentials removed by an update are gone.
      const bare = { ...sampleRecord(id, { revision: 3 }), services: [{ id: 'only', revision: 3 }] };
      await s.put(bare, 2);
      expect(await s.get(id, { reveal: true })).toEqual(bare);
    });

    test('two handles (replicas) writing the same revision at once: exactly one wins, no lost update', async () => {
      const [a, b] = [await open(), await open()];
      const id = `race-${tag()}`;
      await a.put(sampleRecord(id), null);
      for (let round = 1; round <= 3; round++) {
        const fromA = { ...sampleRecord(id, { revision: round + 1, secret: `a${round}` }), description: `a${round}` };
        const fromB = { ...sampleRecord(id, { revision: round + 1, secret: `b${round}` }), description: `b${round}` };
        const results = await Promise.all([codeOf(a.put(fromA, round)), codeOf(b.put(fromB, round))]);
        expect(results.filter((r) => r === 'resolved')).toHaveLength(1);
        expect(results.filter((r) => r === 'PRECONDITION_FAILED')).toHaveLength(1);
        const winner = results[0] === 'resolved' ? fromA : fromB;
        // Document and credentials of the same write, read through either handle.
        expect(await a.get(id, { reveal: true })).toEqual(winner);
        expect(await b.get(id, { reveal: true })).toEqual(winner);
      }
      const creates = await Promise.all([codeOf(a.put(sampleRecord(`${id}-new`), null)), codeOf(b.put(sampleRecord(`${id}-new`), null))]);
      expect(creates.sort()).toEqual(['CONFLICT', 'resolved']);
    });

    test('three replicas incrementing with retries lose no update; readers never see credentials of another revision', async () => {
      const handles = [await open(), await open(), await open()];
      const id = `stress-${tag()}`;
      const make = (revision: number, n: number): ExtensionRecord => ({ ...sampleRecord(id, { revision, secret: `n${n}` }), description: `n${n}` });
      await handles[0]!.put(make(1, 0), null);
      // Other replicas may see a write after a delay (the Kubernetes store's watch): wait until all do.
      for (const h of handles) for (let i = 0; !(await h.get(id)) && i < 200; i++) await new Promise((res) => setTimeout(res, 50));
      const secretOf = (r: ExtensionRecord | undefined) => r?.services?.[0]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY;
      let stop = false;
      const mismatches: string[] = [];
      let reads = 0;
      const reader = async (h: Store): Promise<void> => {
        while (!stop) {
          const r = await h.get(id, { reveal: true });
          reads++;
          if (secretOf(r) !== r?.description) mismatches.push(`${r?.description} with ${secretOf(r)}`);
          await new Promise((res) => setImmediate(res));
        }
      };
      const writer = async (h: Store, times: number): Promise<void> => {
        for (let i = 0; i < times; i++) {
          for (;;) {
            const cur = (await h.get(id, { reveal: true }))!;
            try {
              await h.put(make((cur.revision ?? 1) + 1, Number(cur.description?.slice(1)) + 1), cur.revision ?? 1);
              break;
            } catch (e) {
              if (!(e instanceof PreconditionFailedError)) throw e;
            }
          }
        }
      };
      const readers = [reader(handles[0]!), reader(handles[1]!)];
      await Promise.all(handles.map((h) => writer(h, 4)));
      stop = true;
      await Promise.all(readers);
      expect(mismatches).toEqual([]);
      expect(reads).toBeGreaterThan(0);
      const final = await handles[2]!.get(id, { reveal: true });
      expect(final).toEqual(make(13, 12));
    });

    test('list: ordered by id, filters on extension, product, zone and services', async () => {
      const s = await store();
      const t = tag();
      const product = `prod-${t}`;
      const odd = `odd product / ${t}`;
      await s.put(sampleRecord(`b-${t}`, { product, zone: 'eu' }), null);
      await s.put(sampleRecord(`a-${t}`, { product, zone: 'us' }), null);
      await s.put({ ...sampleRecord(`c-${t}`, { product }), services: [{ id: 'x', resource: 's3', category: 'other', revision: 1 }] }, null);
      await s.put(sampleRecord(`d-${t}`, { product: odd, zone: 'a zone, with commas=and!' }), null);
      const ids = async (f: Parameters<Store['list']>[0]) => (await s.list(f)).map((r) => r.id);
      expect(await ids({ product })).toEqual([`a-${t}`, `b-${t}`, `c-${t}`]);
      expect(await ids({ product, zone: 'eu' })).toEqual([`b-${t}`]);
      expect(await ids({ extension_id: `c-${t}` })).toEqual([`c-${t}`]);
      expect(await ids({ extension_id: `c-${t}`, product: 'other' })).toEqual([]);
      expect(await ids({ product, service_resource: 's3' })).toEqual([`a-${t}`, `b-${t}`, `c-${t}`]);
      // A service filter matches when ONE service matches all service filters.
      expect(await ids({ product, service_resource: 's3', service_category: 'model-store' })).toEqual([`a-${t}`, `b-${t}`]);
      expect(await ids({ product, service_id: 'mlflow-tracking', service_category: 'model-store' })).toEqual([]);
      expect(await ids({ product, service_id: 'x' })).toEqual([`c-${t}`]);
      expect(await ids({ product: odd })).toEqual([`d-${t}`]);
      expect(await ids({ product: odd, zone: 'a zone, with commas=and!' })).toEqual([`d-${t}`]);
      expect(await ids({ product: odd, zone: 'eu' })).toEqual([]);
      const all = await s.list({});
      expect(all.map((r) => r.id)).toEqual(all.map((r) => r.id).sort());
      expect(all.length).toBe(await s.count());
      // Listings are masked unless asked.
      const listed = await s.list({ product, zone: 'eu' });
      expect(listed).toEqual([masked(sampleRecord(`b-${t}`, { product, zone: 'eu' }))]);
      expect(await s.list({ product, zone: 'eu' }, { reveal: true })).toEqual([sampleRecord(`b-${t}`, { product, zone: 'eu' })]);
    });

    test('listForResolver: only credentials usable in the scope, in clear', async () => {
      const s = await store();
      const t = tag();
      const product = `res-${t}`;
      await s.put(sampleRecord(`r-${t}`, { product, secret: 'v' }), null);
      const credIds = async (scope: { projects: string[]; users: string[] }) =>
        (await s.listForResolver({ product }, scope)).flatMap((r) => (r.services ?? []).flatMap((sv) => (sv.credentials ?? []).map((c) => `${c.id}=${Object.values(c.configuration ?? {}).join(',')}`)));
      expect(await credIds({ projects: [], users: [] })).toEqual(['global=admin,v']);
      expect(await credIds({ projects: ['team-a'], users: [] })).toEqual(['global=admin,v', 'team-a=v-project']);
      expect(await credIds({ projects: ['team-b'], users: ['alice'] })).toEqual(['global=admin,v', 'alice=v-user']);
      expect(await s.listForResolver({ product, service_resource: 'nothing' }, { projects: [], users: [] })).toEqual([]);
    });

    test('delete: NOT_FOUND when absent, revision checked when given, everything under it gone', async () => {
      const s = await store();
      const id = `del-${tag()}`;
      const before = await s.count();
      await s.put(sampleRecord(id, { secret: `gone-${tag()}` }), null);
      expect(await s.count()).toBe(before + 1);
      expect(await codeOf(s.delete(id, 7))).toBe('PRECONDITION_FAILED');
      await s.delete(id, 1);
      expect(await s.get(id)).toBeUndefined();
      expect(await s.count()).toBe(before);
      expect(await codeOf(s.delete(id))).toBe('NOT_FOUND');
      expect(await options.atRest(id)).not.toMatch(/gone-/);
      // The id can be used again.
      await s.put(sampleRecord(id, { secret: 'again' }), null);
      expect((await s.get(id, { reveal: true }))?.services?.[0]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY).toBe('again');
      await s.delete(id);
    });

    test('credential values are encrypted at rest (old revisions included)', async () => {
      const s = await store();
      const id = `rest-${tag()}`;
      const first = `first-${tag()}`;
      const second = `second-${tag()}`;
      await s.put(sampleRecord(id, { secret: first }), null);
      await s.put(sampleRecord(id, { revision: 2, secret: second }), 1);
      const raw = await options.atRest(id);
      expect(raw.length).toBeGreaterThan(0);
      expect(raw).toContain(id);
      for (const planted of [first, second]) {
        expect(raw).not.toContain(planted);
        expect(raw).not.toContain(Buffer.from(planted).toString('base64').slice(0, 16));
      }
      expect((await s.get(id, { reveal: true }))?.services?.[0]?.credentials?.[0]?.configuration?.AWS_SECRET_ACCESS_KEY).toBe(second);
    });
  });
}

type Loose = Record<string, unknown>;
const records = (doc: ExtensionRecord): { kind: 'extension' | 'service' | 'endpoint' | 'credentials'; r: Loose }[] => [
  { kind: 'extension', r: doc as unknown as Loose },
  ...(doc.services ?? []).flatMap((s) => [
    { kind: 'service' as const, r: s as unknown as Loose },
    ...(s.endpoints ?? []).map((e) => ({ kind: 'endpoint' as const, r: e as unknown as Loose })),
    ...(s.credentials ?? []).map((c) => ({ kind: 'credentials' as const, r: c as unknown as Loose })),
  ]),
];

/**
 * `doc` (a copy) as the previous fuseml-registry stored it: every record with top-level `created` / `updated`
 * (`t0`, `t1`), mirrored in the status of extensions, services and credentials, except for the credential sets
 * named in `bareStatus` (their status lacks the times: an earlier migration must move them there).
 */
export function inPreviousForm(doc: ExtensionRecord, t0: string, t1: string, bareStatus: string[] = []): ExtensionRecord {
  const old = structuredClone(doc);
  for (const { kind, r } of records(old)) {
    r.created = t0;
    r.updated = t1;
    const status = { ...(r.status as Loose | undefined) };
    delete status.registered;
    delete status.created;
    delete status.updated;
    if (kind === 'endpoint') r.status = {};
    else if (kind === 'credentials' && bareStatus.includes(String(r.id))) r.status = status;
    else r.status = { ...status, [kind === 'credentials' ? 'created' : 'registered']: t0, updated: t1 };
  }
  return old;
}

/** Where `doc` still has top-level record times (`created` / `updated` outside a status): none in today's form. */
export function legacyTimes(doc: ExtensionRecord): string[] {
  return records(doc).flatMap(({ kind, r }) => ['created', 'updated'].filter((k) => k in r).map((k) => `${kind} ${String(r.id ?? r.url)}: ${k}`));
}

/** Each record's status times, by kind and id (endpoints: their whole status). */
export function statusTimes(doc: ExtensionRecord): Record<string, unknown> {
  return Object.fromEntries(records(doc).map(({ kind, r }) => [`${kind} ${String(r.id ?? r.url)}`, r.status]));
}

/** statusTimes of sampleRecord(id) once its times are `t0` (registered / created) and `t1` (updated) everywhere. */
export function sampleStatusTimes(id: string, t0: string, t1: string): Record<string, unknown> {
  const times = { registered: t0, updated: t1 };
  const creds = { created: t0, updated: t1 };
  return {
    [`extension ${id}`]: times,
    'service mlflow-store': times,
    'endpoint http://minio:9000': {},
    'credentials global': creds,
    'credentials team-a': creds,
    'credentials alice': creds,
    'service mlflow-tracking': times,
  };
}
