/**
 * The registration journal: registry writes that could not be delivered
 * (registry unreachable after retries) wait here until `extensions sync` or the
 * next install delivers them. Nothing is lost.
 *
 * Location: $FUSEML_STATE_DIR, else $XDG_STATE_HOME/fuseml, else
 * ~/.local/state/fuseml; entries in `journal/`, one JSON file per registry and
 * extension id (the latest operation wins: a later delete replaces a pending
 * upsert). The folder is 0700 and each file 0600, written atomically (temp
 * file + rename). A pending upsert's record (it holds credential values) is
 * never written in clear: it is sealed with AES-256-GCM (the registry URL and
 * id as authenticated data) under a key kept outside the state folder, in the
 * config folder: $FUSEML_JOURNAL_KEY (base64), else the file
 * $FUSEML_CONFIG_DIR/journal.key (default $XDG_CONFIG_HOME/fuseml, else
 * ~/.config/fuseml), created 0600 on first use. A journal file copied, backed
 * up or attached to a bug report reveals no credential; lose the key and
 * `extensions sync` reports the entry undecryptable (re-run the install to
 * register again). See docs/installer.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FusemlError } from '../core/errors.js';
import type { ExtensionRecord } from '../core/records.js';
import { configDir, stateDir } from '../core/xdg.js';

export interface JournalEntry {
  op: 'upsert' | 'delete';
  registryUrl: string;
  /** Registry extension id. */
  id: string;
  /** The installer extension it came from. */
  extension?: string | undefined;
  record?: ExtensionRecord | undefined;
  /** On disk: the record sealed (AES-256-GCM); `record` is never written. */
  sealed?: string | undefined;
  created: string;
  attempts: number;
  lastError?: string | undefined;
}


export function journalDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'journal');
}


export const JOURNAL_KEY_ENV = 'FUSEML_JOURNAL_KEY';

/** Where the journal's key lives: in the config folder, never in the state folder next to the journal. */
export function journalKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'journal.key');
}

const urlKey = (url: string): string => createHash('sha256').update(url.replace(/\/+$/, '')).digest('hex').slice(0, 12);

export class Journal {
  readonly dir: string;
  readonly keyFile: string;
  #cipher?: Promise<import('../registry/crypto.js').Cipher>;

  constructor(dir: string = journalDir(), keyFile: string = journalKeyFile()) {
    this.dir = dir;
    this.keyFile = keyFile;
  }

  #key() {
    this.#cipher ??= (async () => {
      const { Cipher, KEY_ENV, loadOrCreateKey } = await import('../registry/crypto.js');
      const { key } = await loadOrCreateKey({ keyFile: this.keyFile, env: { [KEY_ENV]: process.env[JOURNAL_KEY_ENV] } });
      return new Cipher(key);
    })();
    return this.#cipher;
  }

  async #seal(entry: JournalEntry): Promise<JournalEntry> {
    if (!entry.record) return entry;
    const { record, ...rest } = entry;
    return { ...rest, sealed: (await this.#key()).encrypt(JSON.stringify(record), `${entry.registryUrl.replace(/\/+$/, '')} ${entry.id}`) };
  }

  async #open(entry: JournalEntry): Promise<JournalEntry> {
    if (!entry.sealed) return entry;
    const { sealed, ...rest } = entry;
    let record: ExtensionRecord;
    try {
      record = JSON.parse((await this.#key()).decrypt(sealed, `${entry.registryUrl.replace(/\/+$/, '')} ${entry.id}`)) as ExtensionRecord;
    } catch {
      throw new FusemlError('REGISTRY', `the journaled registration of ${entry.id} cannot be decrypted with ${process.env[JOURNAL_KEY_ENV] ? `$${JOURNAL_KEY_ENV}` : this.keyFile} (another key, or damaged)`, {
        hint: 'run the install again to register it anew, then delete the journal file',
      });
    }
    return { ...rest, record };
  }

  #file(registryUrl: string, id: string): string {
    return join(this.dir, `${urlKey(registryUrl)}-${id}.json`);
  }

  async put(entry: Omit<JournalEntry, 'created' | 'attempts'> & Partial<Pick<JournalEntry, 'attempts'>>): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const file = this.#file(entry.registryUrl, entry.id);
    const full: JournalEntry = await this.#seal({ ...entry, created: new Date().toISOString(), attempts: entry.attempts ?? 1 });
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(full, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await rename(tmp, file);
    return file;
  }

  /** Entries (records opened); one whose record cannot be decrypted comes with `error` and no record. */
  async list(registryUrl?: string): Promise<{ file: string; entry: JournalEntry; error?: FusemlError | undefined }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const prefix = registryUrl === undefined ? '' : `${urlKey(registryUrl)}-`;
    const out: { file: string; entry: JournalEntry; error?: FusemlError | undefined }[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.json') || !n.startsWith(prefix)) continue;
      const file = join(this.dir, n);
      let raw: JournalEntry;
      try {
        raw = JSON.parse(await readFile(file, 'utf8')) as JournalEntry;
      } catch {
        // A file being replaced, or damaged: skip it (never print its content).
        continue;
      }
      try {
        out.push({ file, entry: await this.#open(raw) });
      } catch (e) {
        const { sealed: _sealed, ...meta } = raw;
        out.push({ file, entry: meta, error: e as FusemlError });
      }
    }
    return out;
  }

  /** The entry's metadata (op, attempts…), without opening a sealed record. */
  async get(registryUrl: string, id: string): Promise<JournalEntry | undefined> {
    try {
      return JSON.parse(await readFile(this.#file(registryUrl, id), 'utf8')) as JournalEntry;
    } catch {
      return undefined;
    }
  }

  async remove(registryUrl: string, id: string): Promise<void> {
    await rm(this.#file(registryUrl, id), { force: true });
  }
}
