/**
 * Delivers registrations to the registry, journaling what cannot be delivered
 * (see journal.ts). A record is upserted whole (idempotent); a deregistration
 * of a record the registry does not have is a success.
 */
import { FusemlError } from '../core/errors.js';
import type { ExtensionRecord } from '../core/records.js';
import { Journal, type JournalEntry } from './journal.js';

/** The registry operations the installer uses (src/registry/client.ts provides them). */
export interface RegistryWriter {
  upsertExtension(record: ExtensionRecord): Promise<unknown>;
  deleteExtension(id: string): Promise<void>;
  /** Reachable, token valid, may write — changing nothing; 401/403 → FORBIDDEN. */
  checkWriteAccess?(): Promise<void>;
  /** The record (404 → an error with status 404). */
  getExtension?(id: string): Promise<ExtensionRecord>;
}

export type Delivery = { state: 'delivered' } | { state: 'journaled'; error: FusemlError; file: string };

export interface SyncResult {
  delivered: JournalEntry[];
  failed: { entry: JournalEntry; error: FusemlError }[];
}

function asFuseml(e: unknown): FusemlError {
  if (e instanceof FusemlError) return e;
  return new FusemlError('REGISTRY', `registry: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

const isNotFound = (e: unknown): boolean => (e as { status?: number }).status === 404;

export class RegistrySink {
  readonly url: string;
  readonly journal: Journal;
  readonly #writer: () => Promise<RegistryWriter>;

  constructor(url: string, writer: () => Promise<RegistryWriter>, journal: Journal = new Journal()) {
    this.url = url.replace(/\/+$/, '');
    this.#writer = writer;
    this.journal = journal;
  }

  async #deliver(entry: Pick<JournalEntry, 'op' | 'id' | 'record'>): Promise<void> {
    const w = await this.#writer();
    if (entry.op === 'upsert') await w.upsertExtension(entry.record as ExtensionRecord);
    else {
      try {
        await w.deleteExtension(entry.id);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  async #attempt(entry: Omit<JournalEntry, 'created' | 'attempts' | 'registryUrl'>): Promise<Delivery> {
    try {
      await this.#deliver(entry);
      await this.journal.remove(this.url, entry.id);
      return { state: 'delivered' };
    } catch (e) {
      const error = asFuseml(e);
      const prev = await this.journal.get(this.url, entry.id);
      const file = await this.journal.put({ ...entry, registryUrl: this.url, attempts: (prev?.op === entry.op ? prev.attempts : 0) + 1, lastError: error.message });
      return { state: 'journaled', error, file };
    }
  }

  upsert(record: ExtensionRecord, extension: string): Promise<Delivery> {
    return this.#attempt({ op: 'upsert', id: record.id, extension, record });
  }

  remove(id: string, extension: string): Promise<Delivery> {
    return this.#attempt({ op: 'delete', id, extension });
  }

  /**
   * Checked before the first cluster change. A token the registry refuses (401 / 403) is thrown at once
   * (FORBIDDEN, exit 12: nothing gets installed); an unreachable registry is returned, not thrown
   * (the run goes on and journals its registrations).
   */
  async checkAccess(): Promise<FusemlError | undefined> {
    const w = await this.#writer();
    if (!w.checkWriteAccess) return undefined;
    try {
      await w.checkWriteAccess();
      return undefined;
    } catch (e) {
      const err = asFuseml(e);
      if (err.code === 'FORBIDDEN') throw new FusemlError('FORBIDDEN', `the registry ${this.url} refuses this token: ${err.message.replace(/^registry: /, '')}`, { hint: err.hint, cause: e });
      if (err.code === 'REGISTRY' || err.code === 'TIMEOUT') return err;
      throw err;
    }
  }

  /** The registry's record `id`: the record, `null` when absent, `undefined` when that cannot be known (unreachable). */
  async find(id: string): Promise<ExtensionRecord | null | undefined> {
    const w = await this.#writer();
    if (!w.getExtension) return undefined;
    try {
      return await w.getExtension(id);
    } catch (e) {
      if (isNotFound(e)) return null;
      return undefined;
    }
  }

  /** Pending journal entries for this registry. */
  async pending(): Promise<JournalEntry[]> {
    return (await this.journal.list(this.url)).map((x) => x.entry);
  }

  /** Delivers every pending entry for this registry; what fails stays journaled. */
  async sync(): Promise<SyncResult> {
    const result: SyncResult = { delivered: [], failed: [] };
    for (const { entry, error: unreadable } of await this.journal.list(this.url)) {
      if (unreadable) {
        result.failed.push({ entry, error: unreadable });
        continue;
      }
      try {
        await this.#deliver(entry);
        await this.journal.remove(this.url, entry.id);
        result.delivered.push(entry);
      } catch (e) {
        const error = asFuseml(e);
        await this.journal.put({ ...entry, attempts: entry.attempts + 1, lastError: error.message });
        result.failed.push({ entry, error });
      }
    }
    return result;
  }
}

/** A sink over the real registry client (got loaded on first use). */
export function registrySink(url: string, token: string | undefined, journal?: Journal, retries?: number, flagNames?: { url: string; token: string }): RegistrySink {
  let client: Promise<RegistryWriter> | undefined;
  return new RegistrySink(url, () => (client ??= import('../registry/client.js').then((m) => new m.RegistryClient({ url, token, retries, flagNames }))), journal);
}
