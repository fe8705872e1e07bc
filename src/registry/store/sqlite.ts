/**
 * The embedded default store: one SQLite file (better-sqlite3), WAL journal, schema migrations recorded in
 * `schema_migrations`. Each extension is one JSON document row; the fields used by queries are copied into
 * columns (extensions.product/version/zone, services.resource/category; product and service resource indexed). Credential values are sealed with
 * AES-256-GCM before they reach the document; their keys stay readable so masked reads never decrypt.
 *
 * Writes are group-committed (docs/registry.md, "Write path"): `put` and `delete` queue their work; the queue
 * is run at the end of the current turn of the event loop (setImmediate), or when the sync that runs returns,
 * as ONE transaction with one commit, each write inside its own savepoint. A write that fails (CONFLICT,
 * NOT_FOUND, a stale revision, a bad value) is rolled back to its savepoint and rejected alone; the others of
 * its group commit. Writes run in the order they were queued.
 *
 * Durability: a write is answered only once its commit is on disk (survives power loss, as synchronous=FULL),
 * but the fsync does not block the event loop while other requests are in flight. SQLite runs with
 * synchronous=NORMAL — its COMMIT writes the WAL frames without syncing them — and the store then syncs the WAL
 * file itself with fdatasync on libuv's thread pool, or on the event loop when every request in flight waits for
 * that sync anyway (observeLoad). Every write of a group settles (resolved or rejected) only after a sync that
 * started after its COMMIT returned; at most one sync runs at a time, and writes queued meanwhile commit together
 * when it returns, covered by the next sync. After a sync that answered several writers, the next group is held
 * until those writers' next writes are queued, or GATHER_MS (#gatherAnswered). Readers never see data that is not
 * yet durable: a read waits for the syncs of the commits before it. The WAL file stays the same inode while the database is open (SQLite only deletes it when the last
 * connection closes, and a checkpoint truncates it in place); frames a checkpoint copied into the database file
 * were synced by SQLite itself (WAL before the copy, database file after). A sync that fails (EIO) fails the
 * writes waiting for it and every later write: the store refuses writes until the server is restarted
 * (the state on disk is then whatever SQLite recovers, as after a crash).
 */
import { chmodSync, closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FusemlError } from '../../core/errors.js';
import { HIDDEN, withStatusTimes, withoutNestedRevisions, type Configuration, type CredentialsRecord, type ExtensionRecord } from '../../core/records.js';
import { Cipher, keyFingerprint } from '../crypto.js';
import { PreconditionFailedError } from '../errors.js';
import { listInScope, type CredentialScopeFilter, type MaskedRow, type ReadOptions, type Store, type StoreFilter } from './types.js';

interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Data changes after the DDL, in the same transaction. */
  run?: (store: SqliteStore, db: Database.Database) => void;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'extensions documents, services index, meta',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE extensions (
        id TEXT PRIMARY KEY,
        product TEXT,
        version TEXT,
        zone TEXT,
        revision INTEGER NOT NULL,
        doc TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX extensions_product ON extensions(product);
      CREATE INDEX extensions_zone ON extensions(zone);
      CREATE TABLE services (
        extension_id TEXT NOT NULL REFERENCES extensions(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        resource TEXT,
        category TEXT,
        PRIMARY KEY (extension_id, id)
      ) WITHOUT ROWID;
      CREATE INDEX services_id ON services(id);
      CREATE INDEX services_resource ON services(resource);
      CREATE INDEX services_category ON services(category);
    `,
  },
  {
    version: 2,
    description: 'extensions.masked: the document as readers see it (credential values hidden), for fast listing',
    sql: 'ALTER TABLE extensions ADD COLUMN masked TEXT',
    run: (store, db) => rewriteRows(store, db),
  },
  {
    version: 3,
    description: "record times once, in fuseml-core's status: top-level created/updated moved into status and dropped",
    sql: '',
    // Sealed credential values are untouched (their AAD is their location, not the document).
    run: (store, db) => rewriteRows(store, db, (doc) => JSON.stringify(withStatusTimes(JSON.parse(doc) as ExtensionRecord))),
  },
  {
    version: 4,
    // Each index costs every write a page of its own (these three together about a tenth of a create's CPU at
    // 10 000 extensions); they select a large share of the rows (a handful of zones, categories and service ids
    // are shared by most extensions), where SQLite reads the small rows as fast without them.
    description: 'drop the low-selectivity indexes (zone, service category, service id)',
    sql: `
      DROP INDEX IF EXISTS extensions_zone;
      DROP INDEX IF EXISTS services_category;
      DROP INDEX IF EXISTS services_id;
    `,
  },
  {
    version: 5,
    description: 'extensions.masked without the revisions of nested records (a representation carries its own record\'s revision only)',
    sql: '',
    // The document (doc) keeps every revision: only the masked column, what list routes send, is rewritten.
    run: (store, db) => rewriteRows(store, db),
  },
  {
    version: 6,
    // A WITHOUT ROWID table keeps its rows in the primary key's b-tree: with rows of 2-4 KB (the document and its
    // masked form) every cell spills to an overflow page, and SQLite reads a cell's whole payload to compare keys
    // on the way down — each lookup or insert by id read several overflow pages (~6 preads per create at 10 000
    // extensions). A rowid table keeps such rows in one leaf page, and the id's index holds only the ids.
    // Runs with foreign keys off (the constructor turns them on after the migrations): dropping the old table
    // must not cascade into services; the services index is counted before and after.
    description: 'extensions as a rowid table (rows no longer spill to overflow pages; the id index holds only ids)',
    sql: '',
    run: (store, db) => {
      // better-sqlite3 enforces foreign keys by default: with them on, dropping the old table would delete every
      // services row (ON DELETE CASCADE). The constructor turns them off for the migrations; checked here too.
      if (db.pragma('foreign_keys', { simple: true }) !== 0) throw new FusemlError('INTERNAL', 'migration 6 needs foreign keys off');
      const count = (): number => (db.prepare('SELECT count(*) AS n FROM services').get() as { n: number }).n;
      const services = count();
      db.exec(`
        CREATE TABLE extensions_new (
          id TEXT PRIMARY KEY,
          product TEXT,
          version TEXT,
          zone TEXT,
          revision INTEGER NOT NULL,
          doc TEXT NOT NULL,
          masked TEXT
        );
        INSERT INTO extensions_new (id, product, version, zone, revision, doc, masked)
          SELECT id, product, version, zone, revision, doc, masked FROM extensions ORDER BY id;
        DROP TABLE extensions;
        ALTER TABLE extensions_new RENAME TO extensions;
        CREATE INDEX extensions_product ON extensions(product);
      `);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (count() !== services || broken.length > 0) {
        throw new FusemlError('REGISTRY', `the registry database ${store.path}: rebuilding the extensions table would change the services index (${services} rows before, ${count()} after, ${broken.length} without their extension); nothing was changed`);
      }
    },
  },
];

/**
 * For data migrations: each stored row's document converted by `convert` (when given), and its masked column made
 * what the store writes today for that document (`masked` of #seal); a row is written only when either changed.
 */
function rewriteRows(store: SqliteStore, db: Database.Database, convert?: (doc: string) => string): void {
  const update = db.prepare('UPDATE extensions SET doc = ?, masked = ? WHERE id = ?');
  for (const row of db.prepare('SELECT * FROM extensions').all() as { id: string; doc: string; masked?: string | null }[]) {
    const doc = convert ? convert(row.doc) : row.doc;
    const masked = JSON.stringify(store.unsealForMigration(doc));
    if (doc !== row.doc || masked !== row.masked) update.run(doc, masked, row.id);
  }
}

/** How credentials sit inside a stored document. */
interface SealedCredentials extends Omit<CredentialsRecord, 'configuration'> {
  sealed?: { keys: string[]; value: string };
}

const KEY_CHECK = 'fuseml-registry key check';

/** The longest a group is held for the writers the last sync answered (#gatherAnswered); timers fire after ≥ 1 ms. */
export const GATHER_MS = 1;

/** A credential set whose stored values fail to decrypt. */
export interface UndecryptableRecord {
  extension_id: string;
  service_id: string;
  credentials_id: string;
}

export interface SqliteStoreOptions {
  /** Database file; ':memory:' for tests. */
  path: string;
  key: Buffer;
  /**
   * Makes the commits so far durable (tests hold it to observe what waits for it). Default: fdatasync of the
   * WAL file on the thread pool; none without a WAL (':memory:'), where synchronous=FULL stays.
   */
  sync?: (inline: boolean) => Promise<void>;
}

interface QueuedWrite {
  run(): void;
  resolve(): void;
  reject(err: unknown): void;
}

export class SqliteStore implements Store {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #cipher: Cipher;
  readonly #key: Buffer;
  /** The key check row as this process found it: a write refuses when another process re-keyed the database. */
  #keyCheck = '';
  readonly #statements = new Map<string, Database.Statement>();
  /** Writes waiting for the next group commit (see the file comment). */
  #queue: QueuedWrite[] = [];
  #flushScheduled = false;
  /**
   * After a sync that answered several writers: the next group is held until as many writes are queued as that
   * sync answered (those writers sent their next one), or GATHER_MS passed (see #gatherAnswered).
   */
  #gather: { want: number; timer: NodeJS.Timeout } | undefined;
  /** Group commits done and writes in them, and WAL syncs, since the store was opened (benchmarks, tests). */
  readonly groupStats = { groups: 0, writes: 0, largest: 0, syncs: 0, inlineSyncs: 0 };
  readonly #sync: (inline: boolean) => Promise<void>;
  /**
   * The server's count of requests in flight (observeLoad); absent: every sync goes to the thread pool. A plain
   * property, not #private: a store wrapped by Object.create (tests) may be handed one too.
   */
  private requestsInFlight: (() => number) | undefined;
  /** The WAL file's descriptor, opened at the first sync. */
  #walFd: number | undefined;
  /** Writes committed and waiting for the next sync; callbacks (readers) waiting for it too. */
  #committed: QueuedWrite[] = [];
  #afterSync: (() => void)[] = [];
  /** Readers waiting for the sync that runs (no commit since it started). */
  #inFlight: (() => void)[] = [];
  #syncing = false;
  /** Set when a sync failed: every later write is refused. */
  #syncError: FusemlError | undefined;

  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.#cipher = new Cipher(options.key);
    this.#key = Buffer.from(options.key);
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    try {
      this.#db = new Database(options.path);
    } catch (err) {
      throw new FusemlError('USAGE', `cannot open the registry database ${options.path}: ${(err as Error).message}`, { cause: err });
    }
    if (options.path !== ':memory:') chmodSync(options.path, 0o600);
    // WAL, unless the file system cannot hold its shared index (SQLite keeps the old journal then).
    const wal = this.#db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
    // FULL for the migrations and the key check below (synchronous, before the server takes requests)...
    this.#db.pragma('synchronous = FULL');
    this.#sync = options.sync ?? (wal ? (inline) => this.#syncWal(inline) : () => Promise.resolve());
    this.#db.pragma('busy_timeout = 5000');
    // 8 MiB page cache (better-sqlite3's default is 16): the OS page cache serves the rest, and the registry's
    // resident memory stays low.
    this.#db.pragma('cache_size = -8000');
    // A checkpoint every ~4 000 log pages (16 MiB) instead of SQLite's 1 000: it runs inside a COMMIT, on the event
    // loop, and copies each page once however often the log holds it, so 4 times fewer checkpoints copy far fewer
    // pages (10 000 creates: 127 ms of checkpoints in 39 commits → 80 ms in 9). 4 000 frames still fit the log
    // index's first hash table, which every read of a page looks up.
    this.#db.pragma('wal_autocheckpoint = 4000');
    // Foreign keys off for the migrations (better-sqlite3 turns them on by default): a table rebuild (migration
    // 6) must not cascade.
    this.#db.pragma('foreign_keys = OFF');
    this.#migrate();
    this.#db.pragma('foreign_keys = ON');
    this.#checkKey();
    // ...then NORMAL: a COMMIT does not fsync the WAL; #startSync does, off the event loop, before any write of
    // the group is answered (the file comment). Without a WAL (':memory:', a file system SQLite could not put one
    // on) FULL stays, and the commit syncs by itself.
    if (wal || options.sync) this.#db.pragma('synchronous = NORMAL');
  }

  #migrate(): void {
    this.#db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)');
    const applied = new Set(
      (this.#db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    const latest = Math.max(0, ...applied);
    const known = Math.max(...MIGRATIONS.map((m) => m.version));
    if (latest > known) {
      throw new FusemlError('USAGE', `the registry database ${this.path} has schema version ${latest}, newer than this fuseml-registry knows (${known})`, {
        hint: 'upgrade fuseml-registry',
      });
    }
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.#db.transaction(() => {
        this.#db.exec(m.sql);
        m.run?.(this, this.#db);
        this.#db.prepare('INSERT INTO schema_migrations (version, description, applied) VALUES (?, ?, ?)').run(m.version, m.description, new Date().toISOString());
      })();
    }
  }

  #checkKey(): void {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'key_check'").get() as { value: string } | undefined;
    if (!row) {
      this.#keyCheck = this.#cipher.encrypt(KEY_CHECK, 'key_check');
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('key_check', ?)").run(this.#keyCheck);
      return;
    }
    this.#keyCheck = row.value;
    let ok = false;
    try {
      ok = this.#cipher.decrypt(row.value, 'key_check') === KEY_CHECK;
    } catch {
      ok = false;
    }
    if (!ok) {
      const rotated = this.#db.prepare("SELECT value FROM meta WHERE key = 'key_rotated'").get() as { value: string } | undefined;
      const note = rotated ? `; the database was re-encrypted by rotate-key (${rotated.value}): use the new key` : '';
      throw new FusemlError('USAGE', `the encryption key does not match the registry database ${this.path} (this key: fingerprint ${keyFingerprint(this.#key)})${note}`, {
        hint: 'start with the key the database was created with (--key-file or FUSEML_REGISTRY_KEY)',
      });
    }
  }

  /** Every credential set whose stored values do not decrypt with this store's key (fuseml-registry doctor). */
  undecryptable(): UndecryptableRecord[] {
    const out: UndecryptableRecord[] = [];
    for (const row of this.#db.prepare('SELECT id, doc FROM extensions ORDER BY id').iterate() as Iterable<{ id: string; doc: string }>) {
      const doc = JSON.parse(row.doc) as ExtensionRecord;
      for (const s of doc.services ?? []) {
        for (const c of (s.credentials ?? []) as SealedCredentials[]) {
          if (!c.sealed) continue;
          try {
            JSON.parse(this.#cipher.decrypt(c.sealed.value, this.#aad(row.id, s.id, c.id)));
          } catch {
            out.push({ extension_id: row.id, service_id: s.id, credentials_id: c.id });
          }
        }
      }
    }
    return out;
  }

  /**
   * Re-encrypts every credential value with `newKey` and replaces the key check, in ONE transaction: a
   * process killed midway leaves the database entirely under the old key (nothing committed) or entirely
   * under the new one. Refuses (nothing changed) when a value does not decrypt with the current key.
   * `progress` is called inside the transaction every `every` credential sets. The store is closed after.
   */
  rotateKey(newKey: Buffer, progress?: (done: number) => void, every = 100): { extensions: number; credentials: number } {
    const next = new Cipher(newKey);
    const broken = this.undecryptable();
    if (broken.length > 0) {
      const list = broken.slice(0, 5).map((b) => `${b.extension_id}/${b.service_id}/${b.credentials_id}`).join(', ');
      throw new FusemlError('VALIDATION', `cannot rotate the key: ${broken.length} credential set(s) do not decrypt with the current key (${list}${broken.length > 5 ? ', …' : ''})`, {
        hint: 'run fuseml-registry doctor; re-send or delete those credentials first',
      });
    }
    let extensions = 0;
    let credentials = 0;
    // Synchronous: the new key must not be handed out before the re-encrypted data is on disk.
    this.#db.pragma('synchronous = FULL');
    this.#db.transaction(() => {
      const update = this.#db.prepare('UPDATE extensions SET doc = ? WHERE id = ?');
      const rows = this.#db.prepare('SELECT id, doc FROM extensions ORDER BY id').all() as { id: string; doc: string }[];
      for (const row of rows) {
        const doc = JSON.parse(row.doc) as ExtensionRecord;
        for (const s of doc.services ?? []) {
          for (const c of (s.credentials ?? []) as SealedCredentials[]) {
            if (!c.sealed) continue;
            const aad = this.#aad(row.id, s.id, c.id);
            c.sealed = { keys: c.sealed.keys, value: next.encrypt(this.#cipher.decrypt(c.sealed.value, aad), aad) };
            credentials++;
            if (progress && credentials % every === 0) progress(credentials);
          }
        }
        update.run(JSON.stringify(doc), row.id);
        extensions++;
      }
      this.#db.prepare("UPDATE meta SET value = ? WHERE key = 'key_check'").run(next.encrypt(KEY_CHECK, 'key_check'));
      this.#db
        .prepare("INSERT INTO meta (key, value) VALUES ('key_rotated', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .run(`${new Date().toISOString()}, from key ${keyFingerprint(this.#key)} to key ${keyFingerprint(newKey)}`);
    })();
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
    return { extensions, credentials };
  }

  /** SQLite's own integrity check: `ok` or the problems it lists. */
  integrityCheck(): string[] {
    return (this.#db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
  }

  /** Inside a write transaction: the database is still under this process's key (rotate-key did not run meanwhile). */
  #assertKeyCurrent(): void {
    const row = this.#stmt("SELECT value FROM meta WHERE key = 'key_check'").get() as { value: string } | undefined;
    if (row?.value !== this.#keyCheck) {
      throw new FusemlError('CONFLICT', `the registry database ${this.path} was re-encrypted with another key (rotate-key) while this server ran: restart it with the new key`);
    }
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #aad(extensionId: string, serviceId: string, credentialsId: string): string {
    return `${extensionId}/${serviceId}/${credentialsId}`;
  }

  /**
   * The stored form of `record` (credential values sealed) and its masked form (what `#unseal(doc, false)`
   * reads back: each credential's values `<hidden>`), built in one pass. A credential whose configuration still
   * holds `<hidden>` values is one whose stored values could not be decrypted (the registry substitutes every
   * other `<hidden>`): its previous ciphertext, from `previous` (the stored document), is kept as it was, so a
   * write that does not touch it neither fails nor destroys it.
   */
  #seal(record: ExtensionRecord, previous: string | undefined, cipher: Cipher = this.#cipher): { doc: string; masked: string } {
    let kept: Map<string, SealedCredentials['sealed']> | undefined;
    const previousSealed = (serviceId: string, id: string): SealedCredentials['sealed'] => {
      if (!kept) {
        kept = new Map();
        const doc = previous === undefined ? undefined : (JSON.parse(previous) as ExtensionRecord);
        for (const ps of doc?.services ?? []) {
          for (const pc of (ps.credentials ?? []) as SealedCredentials[]) if (pc.sealed) kept.set(`${ps.id}/${pc.id}`, pc.sealed);
        }
      }
      return kept.get(`${serviceId}/${id}`);
    };
    const hidden = (keys: string[]): Configuration => Object.fromEntries(keys.map((k) => [k, HIDDEN]));
    const sealedServices: unknown[] | undefined = record.services ? [] : undefined;
    const maskedServices: unknown[] | undefined = record.services ? [] : undefined;
    for (const s of record.services ?? []) {
      let sealedCreds: SealedCredentials[] | undefined;
      let maskedCreds: CredentialsRecord[] | undefined;
      if (s.credentials) {
        sealedCreds = [];
        maskedCreds = [];
        for (const c of s.credentials) {
          const { configuration, ...rest } = c;
          if (rest.status?.state !== undefined) {
            const { state: _state, ...status } = rest.status;
            rest.status = status;
          }
          if (configuration === undefined) {
            sealedCreds.push(rest);
            maskedCreds.push(rest);
            continue;
          }
          let sealed: SealedCredentials['sealed'];
          if (Object.values(configuration).includes(HIDDEN)) {
            sealed = previousSealed(s.id, c.id);
            if (!sealed) throw new FusemlError('VALIDATION', `credentials ${c.id} of service ${s.id}: a value is "${HIDDEN}" and none is stored`);
          } else {
            sealed = { keys: Object.keys(configuration), value: cipher.encrypt(JSON.stringify(configuration), this.#aad(record.id, s.id, c.id)) };
          }
          sealedCreds.push({ ...rest, sealed });
          maskedCreds.push({ ...rest, configuration: hidden(sealed.keys) });
        }
      }
      sealedServices?.push({ ...s, credentials: sealedCreds });
      maskedServices?.push({ ...s, credentials: maskedCreds });
    }
    // The masked column is what list routes send: the wire rule, no revision on the nested records (copies; the
    // document keeps them all: If-Match on a nested route, and every read, are served from it).
    const masked = withoutNestedRevisions({ ...record, services: maskedServices as ExtensionRecord['services'] });
    return { doc: JSON.stringify({ ...record, services: sealedServices }), masked: JSON.stringify(masked) };
  }

  /**
   * The record of a stored document; the credentials `reveal` accepts in clear. A credential whose values fail
   * to decrypt reads as `<hidden>` values with `status.state: undecryptable` instead of failing the whole
   * document (fuseml-registry doctor lists them).
   */
  #unseal(json: string, reveal: ReadOptions['reveal']): ExtensionRecord {
    const doc = JSON.parse(json) as ExtensionRecord;
    for (const s of doc.services ?? []) {
      if (!s.credentials) continue;
      s.credentials = (s.credentials as SealedCredentials[]).map((c) => {
        const { sealed, ...rest } = c;
        if (!sealed) return rest;
        const shown = typeof reveal === 'function' ? reveal(rest, s) : reveal === true;
        const hidden = (): Configuration => Object.fromEntries(sealed.keys.map((k) => [k, HIDDEN]));
        if (!shown) return { ...rest, configuration: hidden() };
        try {
          return { ...rest, configuration: JSON.parse(this.#cipher.decrypt(sealed.value, this.#aad(doc.id, s.id, c.id))) as Configuration };
        } catch {
          return { ...rest, configuration: hidden(), status: { ...rest.status, state: 'undecryptable' as const } };
        }
      });
    }
    return doc;
  }

  /** @internal the masked form of a stored document, as the masked column holds it (used by migrations 2, 3 and 5). */
  unsealForMigration(doc: string): ExtensionRecord {
    return withoutNestedRevisions(this.#unseal(doc, false));
  }

  /** Resolves once every commit made so far is on disk (immediately when none waits for a sync). */
  durable(): Promise<void> | undefined {
    if (this.#committed.length > 0) return new Promise((resolve) => this.#afterSync.push(resolve)); // the next sync
    if (this.#syncing) return new Promise((resolve) => this.#inFlight.push(resolve)); // the one running covers all
    return undefined;
  }

  async get(id: string, options: ReadOptions = {}): Promise<ExtensionRecord | undefined> {
    await this.durable();
    const row = this.#stmt('SELECT doc FROM extensions WHERE id = ?').get(id) as { doc: string } | undefined;
    return row ? this.#unseal(row.doc, options.reveal) : undefined;
  }

  async list(filter: StoreFilter, options: ReadOptions = {}): Promise<ExtensionRecord[]> {
    await this.durable();
    const { where, params } = this.#where(filter);
    const wanted = options.version;
    if (wanted) {
      // The version column first (index and row header only), then the documents of the versions wanted:
      // a requirement `product + version` reads one document of the product's, not all of them.
      const rows = this.#stmt(`SELECT e.id, e.version FROM extensions e${where} ORDER BY e.id`).all(...params) as { id: string; version: string | null }[];
      const doc = this.#stmt('SELECT doc FROM extensions WHERE id = ?');
      const out: ExtensionRecord[] = [];
      for (const r of rows) {
        if (!wanted(r.version ?? undefined)) continue;
        const row = doc.get(r.id) as { doc: string } | undefined;
        if (row) out.push(this.#unseal(row.doc, options.reveal));
      }
      return out;
    }
    const sql = `SELECT e.doc FROM extensions e${where} ORDER BY e.id`;
    const rows = this.#stmt(sql).all(...params) as { doc: string }[];
    return rows.map((r) => this.#unseal(r.doc, options.reveal));
  }

  async listMasked(filter: StoreFilter): Promise<MaskedRow[]> {
    await this.durable();
    const { where, params } = this.#where(filter);
    return this.#stmt(`SELECT e.version, e.masked AS json FROM extensions e${where} ORDER BY e.id`).all(...params) as MaskedRow[];
  }

  #where(filter: StoreFilter): { where: string; params: string[] } {
    const where: string[] = [];
    const params: string[] = [];
    const add = (column: string, value: string | undefined, into: string[]): void => {
      if (value === undefined) return;
      into.push(`${column} = ?`);
      params.push(value);
    };
    add('e.id', filter.extension_id, where);
    add('e.product', filter.product, where);
    add('e.zone', filter.zone, where);
    const svc: string[] = [];
    add('s.id', filter.service_id, svc);
    add('s.resource', filter.service_resource, svc);
    add('s.category', filter.service_category, svc);
    // Without a selective extension filter, IN (subquery) lets SQLite drive the query from the services index
    // (EXISTS would scan every extension). With the id or the product given, EXISTS checks the few extensions
    // they select (IN would first list every service matching, e.g. all 10 000 services with id "api").
    if (svc.length > 0) {
      if (filter.extension_id !== undefined || filter.product !== undefined) where.push(`EXISTS (SELECT 1 FROM services s WHERE s.extension_id = e.id AND ${svc.join(' AND ')})`);
      else where.push(`e.id IN (SELECT s.extension_id FROM services s WHERE ${svc.join(' AND ')})`);
    }
    return { where: where.length ? ` WHERE ${where.join(' AND ')}` : '', params };
  }

  async listForResolver(filter: StoreFilter, scope: CredentialScopeFilter): Promise<ExtensionRecord[]> {
    return listInScope(this, filter, scope);
  }

  /** Resolves `record` itself once committed: the store keeps no reference to it (the document is stored as JSON). */
  async put(record: ExtensionRecord, expectedRevision: number | null): Promise<ExtensionRecord> {
    return (await this.putMasked(record, expectedRevision)).record;
  }

  async putMasked(record: ExtensionRecord, expectedRevision: number | null): Promise<{ record: ExtensionRecord; masked: string }> {
    let masked = '';
    await this.#enqueue(() => {
      masked = this.#putNow(record, expectedRevision);
    });
    return { record, masked };
  }

  /** One put, inside the group transaction (its own savepoint); returns the masked column written. */
  #putNow(record: ExtensionRecord, expectedRevision: number | null): string {
    const current = this.#stmt('SELECT revision, doc FROM extensions WHERE id = ?').get(record.id) as { revision: number; doc: string } | undefined;
    if (expectedRevision === null) {
      if (current) throw new FusemlError('CONFLICT', `extension ${record.id} already exists`);
    } else {
      if (!current) throw new FusemlError('NOT_FOUND', `extension ${record.id} not found`);
      if (current.revision !== expectedRevision) {
        throw new PreconditionFailedError(`extension ${record.id} is at revision ${current.revision}, not ${expectedRevision}`);
      }
    }
    const { doc, masked } = this.#seal(record, current?.doc);
    if (expectedRevision === null) {
      this.#stmt('INSERT INTO extensions (id, product, version, zone, revision, doc, masked) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        record.id, record.product ?? null, record.version ?? null, record.zone ?? null, record.revision ?? 1, doc, masked,
      );
    } else {
      this.#stmt('UPDATE extensions SET product = ?, version = ?, zone = ?, revision = ?, doc = ?, masked = ? WHERE id = ?').run(
        record.product ?? null, record.version ?? null, record.zone ?? null, record.revision ?? (expectedRevision as number) + 1, doc, masked, record.id,
      );
      this.#stmt('DELETE FROM services WHERE extension_id = ?').run(record.id);
    }
    const insert = this.#stmt('INSERT INTO services (extension_id, id, resource, category) VALUES (?, ?, ?, ?)');
    for (const s of record.services ?? []) insert.run(record.id, s.id, s.resource ?? null, s.category ?? null);
    return masked;
  }

  async delete(id: string, expectedRevision?: number): Promise<void> {
    await this.#enqueue(() => {
      const current = this.#stmt('SELECT revision FROM extensions WHERE id = ?').get(id) as { revision: number } | undefined;
      if (!current) throw new FusemlError('NOT_FOUND', `extension ${id} not found`);
      if (expectedRevision !== undefined && current.revision !== expectedRevision) {
        throw new PreconditionFailedError(`extension ${id} is at revision ${current.revision}, not ${expectedRevision}`);
      }
      this.#stmt('DELETE FROM extensions WHERE id = ?').run(id);
    });
  }

  /** Queues a write for the next group commit; settles after that commit (or with the write's own error). */
  #enqueue(run: () => void): Promise<void> {
    if (!this.#db.open) return Promise.reject(new FusemlError('REGISTRY', `the registry database ${this.path} is closed`));
    if (this.#syncError) return Promise.reject(this.#syncError);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ run, resolve, reject });
      this.#scheduleFlush();
    });
  }

  /**
   * The next group commit: at the end of this turn of the event loop, or, while a sync runs, when it ends (the
   * writes queued meanwhile could not be answered before the next sync anyway; waiting for it makes them one
   * commit and one sync instead of several).
   */
  #scheduleFlush(): void {
    if (this.#gather) {
      if (this.#queue.length < this.#gather.want) return;
      this.#endGather();
    }
    if (this.#flushScheduled || this.#syncing || this.#queue.length === 0) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /**
   * Runs every queued write in one transaction, each in a savepoint (better-sqlite3 nests a transaction
   * function inside another as SAVEPOINT / ROLLBACK TO / RELEASE), then commits once.
   */
  #flush(): void {
    this.#flushScheduled = false;
    const group = this.#queue;
    this.#queue = [];
    if (group.length === 0) return;
    const failed = new Map<QueuedWrite, unknown>();
    try {
      this.#stmt('BEGIN IMMEDIATE').run();
      try {
        this.#assertKeyCurrent();
        for (const w of group) {
          try {
            this.#savepoint(w.run);
          } catch (err) {
            failed.set(w, err);
          }
        }
        this.#stmt('COMMIT').run();
      } catch (err) {
        if (this.#db.inTransaction) this.#stmt('ROLLBACK').run();
        throw err;
      }
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    this.groupStats.groups++;
    this.groupStats.writes += group.length;
    this.groupStats.largest = Math.max(this.groupStats.largest, group.length);
    // Settled after the sync, the refused ones too: a 409 or 412 is an answer about committed state as well.
    for (const w of group) {
      const err = failed.get(w);
      this.#committed.push(failed.has(w) ? { run: w.run, resolve: () => w.reject(err), reject: w.reject } : w);
    }
    this.#startSync();
  }

  /** Starts a sync of every commit made so far, unless one runs: its end starts the next. */
  #startSync(): void {
    if (this.#syncing || (this.#committed.length === 0 && this.#afterSync.length === 0)) return;
    const writes = this.#committed;
    const waiters = this.#afterSync;
    this.#committed = [];
    this.#afterSync = [];
    this.#inFlight = waiters;
    this.#syncing = true;
    // Every request in flight waits for this sync (a closed loop of writers, all in this group): nothing else
    // could run while it does, so it runs here, saving the thread pool's two hand-offs (~0.3 ms on this machine).
    const inline = this.requestsInFlight !== undefined && this.requestsInFlight() <= writes.length + waiters.length;
    if (inline) this.groupStats.inlineSyncs++;
    this.#sync(inline).then(
      () => {
        this.groupStats.syncs++;
        this.#syncing = false;
        for (const w of writes) w.resolve();
        for (const r of waiters) r();
        this.#gatherAnswered(writes.length);
        this.#scheduleFlush();
        this.#startSync();
      },
      (err: unknown) => {
        this.#syncing = false;
        this.#syncError ??= new FusemlError('REGISTRY', `the registry database ${this.path} could not be synced to disk (${(err as Error).message}): writes are refused until fuseml-registry is restarted`, {
          cause: err,
        });
        for (const w of writes) w.reject(this.#syncError);
        for (const r of waiters) r();
        // Writes queued while it ran are refused too, uncommitted, as every later write is.
        this.#endGather();
        const queued = this.#queue;
        this.#queue = [];
        for (const w of queued) w.reject(this.#syncError);
        this.#startSync();
      },
    );
  }

  /**
   * Holds the next group after a sync answered `answered` writes (two or more: concurrent writers), until as
   * many writes are queued as it answered — those writers' next writes, typically a fraction of a millisecond
   * later — or GATHER_MS passed, whichever comes first. Without it, writers answered together drift into two
   * halves that take turns (one half commits and syncs while the other is being read), each half paying for its
   * own commit, sync and wake-ups: with 8 writers in flight, groups of 1-2 alternating with 6-7 instead of 8, and
   * ~15 % more CPU per write (docs/registry.md, "Write path"). A lone writer (one write per sync) is never held.
   */
  #gatherAnswered(answered: number): void {
    if (answered < 2 || this.#gather) return;
    const want = this.#queue.length + answered;
    const timer = setTimeout(() => {
      this.#gather = undefined;
      this.#scheduleFlush();
    }, GATHER_MS);
    this.#gather = { want, timer };
  }

  #endGather(): void {
    if (!this.#gather) return;
    clearTimeout(this.#gather.timer);
    this.#gather = undefined;
  }

  observeLoad(requestsInFlight: () => number): void {
    this.requestsInFlight = requestsInFlight;
  }

  /**
   * fdatasync of the WAL file (it exists: a COMMIT in WAL mode wrote it), on the thread pool, or `inline` on this
   * thread; settles the same way either way (a promise, then-callbacks after this turn's code).
   */
  #syncWal(inline: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.#walFd ??= openSync(`${this.path}-wal`, 'r');
        if (inline) {
          fdatasyncSync(this.#walFd);
          resolve();
          return;
        }
      } catch (err) {
        reject(err as Error);
        return;
      }
      fdatasync(this.#walFd, (err) => (err ? reject(err) : resolve()));
    });
  }

  #savepoint(run: () => void): void {
    this.#stmt('SAVEPOINT write').run();
    try {
      run();
    } catch (err) {
      this.#stmt('ROLLBACK TO write').run();
      this.#stmt('RELEASE write').run();
      throw err;
    }
    this.#stmt('RELEASE write').run();
  }

  /** SQLite's data_version: changes when another connection (another process) committed (see Store). */
  dataVersion(): number {
    let s = this.#statements.get('PRAGMA data_version');
    if (!s) {
      s = this.#db.prepare('PRAGMA data_version').pluck();
      this.#statements.set('PRAGMA data_version', s);
    }
    return s.get() as number;
  }

  async count(): Promise<number> {
    return (this.#stmt('SELECT count(*) AS n FROM extensions').get() as { n: number }).n;
  }

  async close(): Promise<void> {
    this.#endGather();
    if (this.#queue.length > 0) this.#flush();
    await this.durable();
    if (this.#walFd !== undefined) {
      closeSync(this.#walFd);
      this.#walFd = undefined;
    }
    if (this.#db.open) {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
      this.#db.close();
    }
  }
}
