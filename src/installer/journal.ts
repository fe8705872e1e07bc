/**
 * The registration journal: registry writes that could not be delivered
 * (registry unreachable after retries) wait here until `extensions sync` or the
 * next install delivers them. Nothing is lost.
 *
 * Location: $FUSEML_STATE_DIR, else $XDG_STATE_HOME/fuseml, else
 * ~/.local/state/fuseml; entries in `journal/`, one JSON file per registry and
 * extension id (the latest operation wins: a later delete replaces a pending
 * upsert). The folder is 0700 and each file 0600, written atomically (temp
 * file + rename). Pending upserts hold the credential values in clear: they
 * must reach the registry, and a key stored next to them would protect
 * nothing. The same trust model as ~/.kube/config (see docs/installer.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ExtensionRecord } from '../core/records.js';

export interface JournalEntry {
  op: 'upsert' | 'delete';
  registryUrl: string;
  /** Registry extension id. */
  id: string;
  /** The installer extension it came from. */
  extension?: string | undefined;
  record?: ExtensionRecord | undefined;
  created: string;
  attempts: number;
  lastError?: string | undefined;
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FUSEML_STATE_DIR) return env.FUSEML_STATE_DIR;
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'fuseml');
}

export function journalDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'journal');
}

const urlKey = (url: string): string => createHash('sha256').update(url.replace(/\/+$/, '')).digest('hex').slice(0, 12);

export class Journal {
  readonly dir: string;

  constructor(dir: string = journalDir()) {
    this.dir = dir;
  }

  #file(registryUrl: string, id: string): string {
    return join(this.dir, `${urlKey(registryUrl)}-${id}.json`);
  }

  async put(entry: Omit<JournalEntry, 'created' | 'attempts'> & Partial<Pick<JournalEntry, 'attempts'>>): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const file = this.#file(entry.registryUrl, entry.id);
    const full: JournalEntry = { ...entry, created: new Date().toISOString(), attempts: entry.attempts ?? 1 };
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(full, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await rename(tmp, file);
    return file;
  }

  async list(registryUrl?: string): Promise<{ file: string; entry: JournalEntry }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const prefix = registryUrl === undefined ? '' : `${urlKey(registryUrl)}-`;
    const out: { file: string; entry: JournalEntry }[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.json') || !n.startsWith(prefix)) continue;
      const file = join(this.dir, n);
      try {
        out.push({ file, entry: JSON.parse(await readFile(file, 'utf8')) as JournalEntry });
      } catch {
        // A file being replaced, or damaged: skip it (never print its content).
      }
    }
    return out;
  }

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
