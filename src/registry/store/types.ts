/**
 * The storage behind the registry. Async so that a distributed implementation
 * (e.g. Kubernetes CRDs + Secrets) can implement it later. A store keeps whole
 * extension documents (extension → services → endpoints → credentials) and
 * offers one write primitive, a compare-and-swap `put`, so every write is a
 * single transaction: nothing half-written on error. Revisions, timestamps and
 * the semantics of fuseml-core's routes live above, in ../registry.ts.
 */
import type { CredentialsRecord, ExtensionRecord, ServiceRecord } from '../../core/records.js';
import { grantAllows, type ScopeGrant } from '../../core/scope.js';

/** Exact-match filters a store applies itself (version ranges are applied above). */
export interface StoreFilter {
  extension_id?: string | undefined;
  product?: string | undefined;
  zone?: string | undefined;
  service_id?: string | undefined;
  service_resource?: string | undefined;
  service_category?: string | undefined;
}

/** Whose credential values a scoped read may return: a grant (projects × users), see src/core/scope.ts. */
export type CredentialScopeFilter = ScopeGrant;

export interface ReadOptions {
  /**
   * Which credential values to return in clear. false (default): none, every value reads as `<hidden>` and
   * nothing is decrypted; true: all; a function: those credentials it accepts (given the service they belong
   * to: its id, resource and category; nothing is decrypted for a credential set it refuses).
   */
  reveal?: boolean | ((credentials: CredentialsRecord, service: Pick<ServiceRecord, 'id' | 'resource' | 'category'>) => boolean);
  /**
   * Optional hint, the versions wanted (a version selector's matcher): a store may leave out the records whose
   * version it refuses without reading their documents. Callers still filter by version themselves (a store
   * without a cheap version column ignores it).
   */
  version?: (version: string | undefined) => boolean;
}

/** Readiness of a store (GET /healthz): not ready → 503 with `reason`. */
export interface StoreHealth {
  ready: boolean;
  reason?: string | undefined;
}

/** A stored document as JSON text, as readers see it (credential values `<hidden>`), with its version. */
export interface MaskedRow {
  version: string | null;
  json: string;
}

export interface Store {
  /** The extension document, or undefined. */
  get(id: string, options?: ReadOptions): Promise<ExtensionRecord | undefined>;
  /**
   * Extensions matching every given filter (a service filter matches when one service matches all service
   * filters), ordered by id. Documents come back whole: pruning services is the caller's business.
   */
  list(filter: StoreFilter, options?: ReadOptions): Promise<ExtensionRecord[]>;
  /**
   * For the workflow resolver: extensions matching `filter`, each service carrying only the credentials usable
   * in `scope` (the one rule of src/core/scope.ts), with their values in clear.
   */
  listForResolver(filter: StoreFilter, scope: CredentialScopeFilter): Promise<ExtensionRecord[]>;
  /**
   * Optional fast path for masked listings: the matching documents as JSON text (what `list(filter)` returns,
   * serialized), ordered by id, without parsing them. Stores that cannot do this cheaply leave it out.
   */
  listMasked?(filter: StoreFilter): Promise<MaskedRow[]>;
  /**
   * Writes the whole document in one transaction (compare-and-swap on the extension's revision):
   * `expectedRevision` null → the extension must not exist (CONFLICT otherwise); a number → it must exist
   * (NOT_FOUND) with exactly that revision (PreconditionFailedError otherwise). The record is stored as given,
   * revisions included.
   */
  put(record: ExtensionRecord, expectedRevision: number | null): Promise<ExtensionRecord>;
  /**
   * Optional: `put`, also giving the stored document as readers see it, serialized (the text `listMasked` returns
   * for it), for stores that build it while writing anyway: the registry answers the write with it.
   */
  putMasked?(record: ExtensionRecord, expectedRevision: number | null): Promise<{ record: ExtensionRecord; masked: string }>;
  /** Deletes the extension and everything under it; NOT_FOUND when absent; revision checked when given. */
  delete(id: string, expectedRevision?: number): Promise<void>;
  /** Number of extensions stored (health and benchmarks). */
  count(): Promise<number>;
  /**
   * Optional readiness from the store's own state, without a request (stores with a cache: ready while it may
   * answer). Absent: /healthz counts the extensions instead.
   */
  health?(): StoreHealth;
  /**
   * Optional: a value that changes whenever ANOTHER process (or another store object) committed a change to the
   * stored data; this object's own writes need not change it. Offered only by stores that can tell cheaply
   * (SQLite: `PRAGMA data_version`); the registry's read cache (../read-cache.ts) is used only with such stores.
   */
  dataVersion?(): number;
  /**
   * Optional: the server hands the store a count of the requests it has in flight (admitted, not yet answered).
   * The SQLite store syncs a group on the event loop itself when every request in flight waits for that sync
   * (nothing else could run meanwhile), and on the thread pool otherwise.
   */
  observeLoad?(requestsInFlight: () => number): void;
  close(): Promise<void>;
}

/**
 * `listForResolver` in terms of `list`, for stores with nothing faster: values revealed and
 * credentials kept only where usable in `scope`.
 */
export async function listInScope(store: Pick<Store, 'list'>, filter: StoreFilter, scope: CredentialScopeFilter): Promise<ExtensionRecord[]> {
  const records = await store.list(filter, { reveal: (c) => grantAllows(c, scope) });
  for (const r of records) {
    for (const s of r.services ?? []) {
      if (s.credentials) s.credentials = s.credentials.filter((c) => grantAllows(c, scope));
    }
  }
  return records;
}
