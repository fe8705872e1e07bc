/**
 * The embedded default store: one SQLite file (better-sqlite3), WAL journal,
 * synchronous=FULL (a commit survives power loss), schema migrations recorded
 * in `schema_migrations`. Each extension is one JSON document row; the fields
 * used by queries are copied into indexed columns (extensions.product/zone,
 * services.resource/category). Credential values are sealed with AES-256-GCM
 * before they reach the document; their keys stay readable so masked reads
 * never decrypt.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FusemlError } from '../../core/errors.js';
import { HIDDEN, type Configuration, type CredentialsRecord, type ExtensionRecord } from '../../core/records.js';
import { Cipher } from '../crypto.js';
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
    run: (store, db) => {
      const update = db.prepare('UPDATE extensions SET masked = ? WHERE id = ?');
      for (const row of db.prepare('SELECT id, doc FROM extensions').all() as { id: string; doc: string }[]) {
        update.run(JSON.stringify(store.unsealForMigration(row.doc)), row.id);
      }
    },
  },
];

/** How credentials sit inside a stored document. */
interface SealedCredentials extends Omit<CredentialsRecord, 'configuration'> {
  sealed?: { keys: string[]; value: string };
}

const KEY_CHECK = 'fuseml-registry key check';

export interface SqliteStoreOptions {
  /** Database file; ':memory:' for tests. */
  path: string;
  key: Buffer;
}

export class SqliteStore implements Store {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #cipher: Cipher;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.#cipher = new Cipher(options.key);
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    try {
      this.#db = new Database(options.path);
    } catch (err) {
      throw new FusemlError('USAGE', `cannot open the registry database ${options.path}: ${(err as Error).message}`, { cause: err });
    }
    if (options.path !== ':memory:') chmodSync(options.path, 0o600);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    // 8 MiB page cache (better-sqlite3's default is 16): the OS page cache serves the rest, and the registry's
    // resident memory stays low.
    this.#db.pragma('cache_size = -8000');
    this.#migrate();
    this.#checkKey();
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
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('key_check', ?)").run(this.#cipher.encrypt(KEY_CHECK, 'key_check'));
      return;
    }
    let ok = false;
    try {
      ok = this.#cipher.decrypt(row.value, 'key_check') === KEY_CHECK;
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new FusemlError('USAGE', `the encryption key does not match the registry database ${this.path}`, {
        hint: 'start with the key the database was created with (--key-file or FUSEML_REGISTRY_KEY)',
      });
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

  #seal(record: ExtensionRecord): string {
    const doc = {
      ...record,
      services: record.services?.map((s) => ({
        ...s,
        credentials: s.credentials?.map((c): SealedCredentials => {
          const { configuration, ...rest } = c;
          if (configuration === undefined) return rest;
          return {
            ...rest,
            sealed: {
              keys: Object.keys(configuration),
              value: this.#cipher.encrypt(JSON.stringify(configuration), this.#aad(record.id, s.id, c.id)),
            },
          };
        }),
      })),
    };
    return JSON.stringify(doc);
  }

  #unseal(json: string, reveal: ReadOptions['reveal']): ExtensionRecord {
    const doc = JSON.parse(json) as ExtensionRecord;
    for (const s of doc.services ?? []) {
      if (!s.credentials) continue;
      s.credentials = (s.credentials as SealedCredentials[]).map((c) => {
        const { sealed, ...rest } = c;
        if (!sealed) return rest;
        const shown = typeof reveal === 'function' ? reveal(rest) : reveal === true;
        let configuration: Configuration;
        if (shown) {
          configuration = JSON.parse(this.#cipher.decrypt(sealed.value, this.#aad(doc.id, s.id, c.id))) as Configuration;
        } else {
          configuration = Object.fromEntries(sealed.keys.map((k) => [k, HIDDEN]));
        }
        return { ...rest, configuration };
      });
    }
    return doc;
  }

  /** @internal the masked form of a stored document (used by migration 2). */
  unsealForMigration(doc: string): ExtensionRecord {
    return this.#unseal(doc, false);
  }

  async get(id: string, options: ReadOptions = {}): Promise<ExtensionRecord | undefined> {
    const row = this.#stmt('SELECT doc FROM extensions WHERE id = ?').get(id) as { doc: string } | undefined;
    return row ? this.#unseal(row.doc, options.reveal) : undefined;
  }

  async list(filter: StoreFilter, options: ReadOptions = {}): Promise<ExtensionRecord[]> {
    const { where, params } = this.#where(filter);
    const sql = `SELECT e.doc FROM extensions e${where} ORDER BY e.id`;
    const rows = this.#stmt(sql).all(...params) as { doc: string }[];
    return rows.map((r) => this.#unseal(r.doc, options.reveal));
  }

  async listMasked(filter: StoreFilter): Promise<MaskedRow[]> {
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
    // IN (subquery) lets SQLite drive the query from the services index (EXISTS would scan every extension).
    if (svc.length > 0) where.push(`e.id IN (SELECT s.extension_id FROM services s WHERE ${svc.join(' AND ')})`);
    return { where: where.length ? ` WHERE ${where.join(' AND ')}` : '', params };
  }

  async listForResolver(filter: StoreFilter, scope: CredentialScopeFilter): Promise<ExtensionRecord[]> {
    return listInScope(this, filter, scope);
  }

  async put(record: ExtensionRecord, expectedRevision: number | null): Promise<ExtensionRecord> {
    const doc = this.#seal(record);
    const masked = JSON.stringify(this.#unseal(doc, false));
    this.#db.transaction(() => {
      const current = this.#stmt('SELECT revision FROM extensions WHERE id = ?').get(record.id) as { revision: number } | undefined;
      if (expectedRevision === null) {
        if (current) throw new FusemlError('CONFLICT', `extension ${record.id} already exists`);
        this.#stmt('INSERT INTO extensions (id, product, version, zone, revision, doc, masked) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          record.id, record.product ?? null, record.version ?? null, record.zone ?? null, record.revision ?? 1, doc, masked,
        );
      } else {
        if (!current) throw new FusemlError('NOT_FOUND', `extension ${record.id} not found`);
        if (current.revision !== expectedRevision) {
          throw new PreconditionFailedError(`extension ${record.id} is at revision ${current.revision}, not ${expectedRevision}`);
        }
        this.#stmt('UPDATE extensions SET product = ?, version = ?, zone = ?, revision = ?, doc = ?, masked = ? WHERE id = ?').run(
          record.product ?? null, record.version ?? null, record.zone ?? null, record.revision ?? expectedRevision + 1, doc, masked, record.id,
        );
        this.#stmt('DELETE FROM services WHERE extension_id = ?').run(record.id);
      }
      const insert = this.#stmt('INSERT INTO services (extension_id, id, resource, category) VALUES (?, ?, ?, ?)');
      for (const s of record.services ?? []) insert.run(record.id, s.id, s.resource ?? null, s.category ?? null);
    })();
    return structuredClone(record);
  }

  async delete(id: string, expectedRevision?: number): Promise<void> {
    this.#db.transaction(() => {
      const current = this.#stmt('SELECT revision FROM extensions WHERE id = ?').get(id) as { revision: number } | undefined;
      if (!current) throw new FusemlError('NOT_FOUND', `extension ${id} not found`);
      if (expectedRevision !== undefined && current.revision !== expectedRevision) {
        throw new PreconditionFailedError(`extension ${id} is at revision ${current.revision}, not ${expectedRevision}`);
      }
      this.#stmt('DELETE FROM extensions WHERE id = ?').run(id);
    })();
  }

  async count(): Promise<number> {
    return (this.#stmt('SELECT count(*) AS n FROM extensions').get() as { n: number }).n;
  }

  async close(): Promise<void> {
    if (this.#db.open) {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
      this.#db.close();
    }
  }
}
