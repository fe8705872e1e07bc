/**
 * The registry's per-process cache of serialized read representations (GET /extensions/{id}, masked: no
 * credential value in clear ever enters it). An entry is keyed by extension id and holds the record's revision
 * (the ETag) and its bodies by variant — output format and content coding, e.g. `json`, `json+gzip`, `yaml+br` —
 * so a record is serialized (and compressed) once per revision and variant, not once per request.
 *
 * Invalidation, so that a read never returns a representation older than an acknowledged write:
 * - the Registry calls `invalidate(id)` after every store write of that extension (put or delete, committed or
 *   failed), before the write is answered;
 * - a store that other processes may write (two servers on one SQLite file) offers `dataVersion()`, which
 *   changes when another process committed: every lookup compares it and clears everything on a change; a store
 *   without it gets no cache at all (the Registry leaves `readCache` undefined);
 * - a read that raced a write cannot put back what it read before the write: `begin()` returns a generation,
 *   and `put` drops the body when anything was invalidated since.
 *
 * Other per-process state that changes what a GET returns must drop entries itself when it changes: e.g.
 * endpoint probe status overlaid on responses calls `invalidate(extensionId)` (one extension) or `clear()`
 * (everything). Bounded by `maxBytes` (oldest entries dropped first).
 */
export interface CachedBody {
  revision: number;
  body: string | Buffer;
}

interface Entry {
  revision: number;
  bodies: Map<string, string | Buffer>;
  bytes: number;
}

const UNSET = Symbol('unset');

export const READ_CACHE_MAX_BYTES = 16 * 1024 * 1024;

export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  readonly #dataVersion: () => unknown;
  readonly #maxBytes: number;
  /** The store's data version when last looked at (a fresh symbol: not looked at yet). */
  #version: unknown = UNSET;
  #generation = 0;
  #bytes = 0;
  /** Lookups answered from the cache and not (tests, benchmarks). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(dataVersion: () => unknown, maxBytes = READ_CACHE_MAX_BYTES) {
    this.#dataVersion = dataVersion;
    this.#maxBytes = maxBytes;
  }

  /** The current generation, taken before reading from the store; give it back to `put`. */
  begin(): number {
    this.#checkVersion();
    return this.#generation;
  }

  get(id: string, variant: string): CachedBody | undefined {
    this.#checkVersion();
    const e = this.#entries.get(id);
    const body = e?.bodies.get(variant);
    if (!e || body === undefined) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return { revision: e.revision, body };
  }

  /** Stores a body read at generation `generation` (dropped when an invalidation happened since). */
  put(id: string, revision: number, variant: string, body: string | Buffer, generation: number): void {
    if (generation !== this.#generation) return;
    this.#checkVersion();
    if (generation !== this.#generation) return;
    const size = typeof body === 'string' ? body.length * 2 : body.length;
    if (size > this.#maxBytes / 8) return;
    let e = this.#entries.get(id);
    if (e && e.revision !== revision) {
      this.#drop(id, e);
      e = undefined;
    }
    if (!e) {
      e = { revision, bodies: new Map(), bytes: 0 };
      this.#entries.set(id, e);
    }
    const old = e.bodies.get(variant);
    if (old !== undefined) {
      const oldSize = typeof old === 'string' ? old.length * 2 : old.length;
      e.bytes -= oldSize;
      this.#bytes -= oldSize;
    }
    e.bodies.set(variant, body);
    e.bytes += size;
    this.#bytes += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#drop(oldest, entry);
    }
  }

  /** Drops every representation of extension `id` (after a write, or a change of per-process state). */
  invalidate(id: string): void {
    this.#generation++;
    const e = this.#entries.get(id);
    if (e) this.#drop(id, e);
  }

  /** Drops everything. */
  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  #drop(id: string, e: Entry): void {
    this.#entries.delete(id);
    this.#bytes -= e.bytes;
  }

  #checkVersion(): void {
    const v = this.#dataVersion();
    if (v === this.#version) return;
    const first = this.#version === UNSET;
    this.#version = v;
    if (!first) this.clear();
  }
}
