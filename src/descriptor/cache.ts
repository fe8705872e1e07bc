/**
 * A cache of validated extension repositories, so `extensions list|describe|validate` (and
 * install's look-ups) skip parsing and validating every descriptor on each run.
 *
 * One JSON file per repository folder under $XDG_CACHE_HOME/fuseml-installer/repositories/
 * (default ~/.cache/…), keyed by a fingerprint of everything the load depends on: every entry
 * below the folder (path, type, size, mtime, ctime, inode, mode; links by their target), the
 * schemas, and the build of the CLI (FUSEML_BUILD_ID, set by scripts/bundle.mjs — without it,
 * i.e. when running from src/ or tsc's output, there is no cache). Safe by construction:
 *   - any mismatch, unreadable or corrupt cache file → the full load, as without a cache;
 *   - only repositories without any issue are written, and only when no credentials value is a
 *     literal (every one a {{ … }} reference): the cache never holds a secret;
 *   - written only when the folder is unchanged from before to after the load and nothing in it
 *     changed in the last 2 s (a change within the clock's granularity could go unseen);
 *   - written atomically (temporary file + rename), mode 0600 in a 0700 folder;
 *   - FUSEML_NO_CACHE=1 turns it off.
 *
 * Results computed from a cached folder (`extensions validate`'s warnings: ./lint.ts) are kept in
 * its entry too (cachedDerived / saveDerived), under the same fingerprint and the same rules.
 */
import { mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheHome } from '../core/cache-dir.js';
import type { Issue } from '../core/errors.js';
import type { Extension } from '../core/extension.js';

declare const FUSEML_BUILD_ID: string | undefined;

/** The schemas (as ./schema.ts finds them; not imported from there, which would load its code on a hit). */
const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

/** The build the running CLI comes from (undefined outside a bundle: no cache). */
export const BUILD_ID: string | undefined = typeof FUSEML_BUILD_ID === 'string' ? FUSEML_BUILD_ID : undefined;

const FORMAT = 1;
/** A folder bigger than this is not fingerprinted (walking it could cost more than loading). */
export const MAX_ENTRIES = 5000;
/** Newer changes than this are too fresh to trust a timestamp comparison. */
const RACY_NS = 2_000_000_000n;
/** Cache files kept; the least recently written beyond this are removed. */
const MAX_FILES = 64;

export interface LoadedRepository {
  extensions: Extension[];
  issues: Issue[];
}

export interface CacheOptions {
  buildId?: string | undefined;
  /** Folder of the cache files (default: $XDG_CACHE_HOME/fuseml-installer/repositories). */
  dir?: string;
  /** Clock, for tests. */
  nowNs?: () => bigint;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheHome(env), 'repositories');
}

interface Fingerprint {
  /** The description of every entry itself (no hash: comparing a few KiB costs less than loading node:crypto). */
  hash: string;
  newestNs: bigint;
}

function describeEntry(st: BigIntStats): string {
  const type = st.isDirectory() ? 'd' : st.isFile() ? 'f' : 'o';
  return `${type}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.mode}`;
}

/**
 * Everything below `root` (and the schemas), or undefined when it cannot be walked or is too big.
 * Links are followed (with their target text recorded); a folder reached twice is walked once.
 */
export function fingerprint(root: string, buildId: string): Fingerprint | undefined {
  const parts: string[] = [`${FORMAT}\0${buildId}\0${root}\0`];
  const h = { update: (s: string): void => void parts.push(s) };
  let newestNs = 0n;
  let count = 0;
  const seen = new Set<string>();
  const visit = (path: string, rel: string, isLink: boolean, top: boolean): boolean => {
    if (++count > MAX_ENTRIES) return false;
    let st: BigIntStats | undefined;
    let link = '';
    try {
      if (isLink) link = readlinkSync(path);
      st = statSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      return false;
    }
    if (!st) {
      // A dangling link: its target text is all there is.
      if (!isLink) return false;
      h.update(`${rel}\0dangling\0${link}\n`);
      return true;
    }
    // The top folder's own times change with hidden entries the loader skips (e.g. .git); its
    // entries are listed below anyway.
    h.update(`${rel}\0${top ? `d:${st.mode}` : describeEntry(st)}\0${link}\n`);
    if (st.mtimeNs > newestNs) newestNs = st.mtimeNs;
    if (st.ctimeNs > newestNs) newestNs = st.ctimeNs;
    if (!st.isDirectory()) return true;
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return true;
    seen.add(id);
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return false;
    }
    for (const e of entries) {
      // loadRepository skips hidden folders at the top (e.g. .git): so does the fingerprint.
      if (top && e.name.startsWith('.')) continue;
      if (!visit(join(path, e.name), `${rel}/${e.name}`, e.isSymbolicLink(), false)) return false;
    }
    return true;
  };
  if (!visit(root, '.', false, true)) return undefined;
  // The schemas are read at run time (a schema edited after the build is compiled then).
  try {
    for (const name of readdirSync(SCHEMA_DIR).sort()) {
      const st = statSync(join(SCHEMA_DIR, name), { bigint: true });
      h.update(`schema:${name}\0${describeEntry(st)}\n`);
    }
  } catch {
    return undefined;
  }
  return { hash: parts.join(''), newestNs };
}

/** True when every credentials configuration value is a {{ … }} reference (nothing secret to store). */
export function holdsNoSecret(extensions: readonly Extension[]): boolean {
  for (const ext of extensions) {
    for (const svc of ext.registration?.services ?? []) {
      for (const cred of svc.credentials ?? []) {
        for (const v of Object.values(cred.configuration ?? {})) {
          if (typeof v !== 'string' || !/^\s*\{\{[^}]*\}\}\s*$/.test(v)) return false;
        }
      }
    }
  }
  return true;
}

/** Values JSON keeps as they are (no undefined in arrays, no NaN, Infinity, Date, Map…). */
function jsonSafe(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(jsonSafe);
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(v as Record<string, unknown>).every((x) => x === undefined || jsonSafe(x));
  }
  return false;
}

interface CacheFile {
  format: number;
  root: string;
  fingerprint: string;
  extensions: Extension[];
  /** Results computed from the folder by key (cachedDerived); absent in entries written before any. */
  derived?: Record<string, unknown>;
}

/** Folders answered by or stored in the cache in this process: their entry, for cachedDerived. */
interface Known {
  file: string;
  dir: string;
  buildId: string;
  fingerprint: string;
  /** The derived results the entry holds. */
  derived: Record<string, unknown>;
  /** Derived results computed in this process, not yet in the file. */
  fresh: Record<string, unknown>;
  nowNs: () => bigint;
}
const known = new Map<string, Known>();

/** FNV-1a (64 bits) of the folder's path: a file name; the file itself records the path it is for. */
function cacheFile(dir: string, root: string): string {
  let x = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(root)) x = BigInt.asUintN(64, (x ^ BigInt(byte)) * 0x100000001b3n);
  return join(dir, `${x.toString(16).padStart(16, '0')}.json`);
}

function read(file: string, root: string, hash: string): CacheFile | undefined {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheFile>;
    if (c.format !== FORMAT || c.root !== root || c.fingerprint !== hash || !Array.isArray(c.extensions)) return undefined;
    for (const e of c.extensions) {
      if (e === null || typeof e !== 'object' || typeof e.name !== 'string' || typeof e.file !== 'string' || !Array.isArray(e.install)) return undefined;
    }
    const derived = c.derived !== null && typeof c.derived === 'object' && !Array.isArray(c.derived) ? c.derived : {};
    return { format: FORMAT, root, fingerprint: hash, extensions: c.extensions, derived };
  } catch {
    return undefined;
  }
}

function prune(dir: string, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return;
  }
  if (names.length <= MAX_FILES) return;
  const aged = names
    .map((n) => ({ n, t: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .filter((x) => join(dir, x.n) !== keep)
    .sort((a, b) => a.t - b.t);
  for (const x of aged.slice(0, names.length - MAX_FILES)) rmSync(join(dir, x.n), { force: true });
}

function write(file: string, dir: string, content: CacheFile): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(content), { mode: 0o600 });
    renameSync(tmp, file);
    prune(dir, file);
  } catch {
    // A cache that cannot be written is no cache: the load already succeeded.
  }
}

/**
 * The repository at `root` (an absolute path), from the cache when its fingerprint still
 * matches, otherwise from `load()` (whose result is then cached when it qualifies).
 */
export async function cachedRepository(root: string, load: () => Promise<LoadedRepository>, options: CacheOptions = {}): Promise<LoadedRepository> {
  const buildId = 'buildId' in options ? options.buildId : BUILD_ID;
  if (buildId === undefined || process.env.FUSEML_NO_CACHE === '1') return load();
  const before = fingerprint(root, buildId);
  if (!before) return load();
  const dir = options.dir ?? defaultCacheDir();
  const file = cacheFile(dir, root);
  const nowNs = options.nowNs ?? ((): bigint => BigInt(Date.now()) * 1_000_000n);
  const entry = (derived: Record<string, unknown> = {}): Known => ({ file, dir, buildId, fingerprint: before.hash, derived, fresh: {}, nowNs });
  const hit = read(file, root, before.hash);
  if (hit) {
    known.set(root, entry(hit.derived));
    return { extensions: hit.extensions, issues: [] };
  }
  known.delete(root);
  const loaded = await load();
  if (loaded.issues.length > 0 || !holdsNoSecret(loaded.extensions) || !loaded.extensions.every(jsonSafe)) return loaded;
  const after = fingerprint(root, buildId);
  if (!after || after.hash !== before.hash || nowNs() - after.newestNs < RACY_NS) return loaded;
  write(file, dir, { format: FORMAT, root, fingerprint: before.hash, extensions: loaded.extensions });
  known.set(root, entry());
  return loaded;
}

/**
 * A result computed from the files below `root` (a folder cachedRepository() answered or stored in
 * this process; `key` names what it is): from its cache entry when there, else `compute()`'s,
 * kept for saveDerived(). `valid` checks what the entry holds (anything else: computed again).
 * The result must be plain JSON and hold no secret. Without a cache entry for `root`, just `compute()`.
 */
export async function cachedDerived<T>(root: string, key: string, compute: () => Promise<T>, valid: (v: unknown) => v is T): Promise<T> {
  const k = known.get(root);
  const stored = k?.derived[key];
  if (k && stored !== undefined && valid(stored)) return stored;
  const value = await compute();
  // Kept as JSON text's value: what the file will hold, whatever the caller does with `value`.
  if (k && jsonSafe(value)) k.fresh[key] = JSON.parse(JSON.stringify(value)) as unknown;
  return value;
}

/**
 * Adds the results cachedDerived() computed to their entries, for each folder still as it was
 * when its entry was read or written (same fingerprint, nothing changed in the last 2 s). The
 * entry is read again: only the derived results come from this process.
 */
export function saveDerived(): void {
  for (const [root, k] of known) {
    if (Object.keys(k.fresh).length === 0) continue;
    const fresh = k.fresh;
    k.fresh = {};
    const now = fingerprint(root, k.buildId);
    if (!now || now.hash !== k.fingerprint || k.nowNs() - now.newestNs < RACY_NS) continue;
    const current = read(k.file, root, k.fingerprint);
    if (!current) continue;
    k.derived = { ...current.derived, ...fresh };
    write(k.file, k.dir, { ...current, derived: k.derived });
  }
}
