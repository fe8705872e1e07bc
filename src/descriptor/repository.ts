/**
 * An extension repository: a folder with one sub-folder per extension. Loads
 * them all, checks names are unique (aliases included), that `requires` names
 * known extensions and that there is no dependency cycle.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { FusemlError, fileError, ValidationError, type Issue } from '../core/errors.js';
import type { Extension, ExtensionSource } from '../core/extension.js';
import { findCycle } from '../core/graph.js';
import { cachedRepository } from './cache.js';
import { findDescriptor } from './files.js';

/** The extensions/ folder shipped with the package. */
export const DEFAULT_REPOSITORY = fileURLToPath(new URL('../../extensions/', import.meta.url));

export interface Repository {
  /** The folders it was loaded from, comma separated (for messages). */
  dir: string;
  /** By canonical name, sorted. */
  extensions: Map<string, Extension>;
  issues: Issue[];
  /** "extension X from B replaces the one from A": a later folder won by name. */
  notices: string[];
  /** Resolves a name or an alias. */
  get(name: string): Extension | undefined;
}

/**
 * One place extensions come from: a repository folder (one sub-folder per extension), or a
 * single extension folder (`single`). Later layers win by name over earlier ones.
 */
export interface Layer {
  dir: string;
  single?: boolean | undefined;
  /** Where a single extension folder was fetched from (git, archive): recorded at install. */
  source?: ExtensionSource | undefined;
}

async function extensionDirs(layer: Layer): Promise<string[]> {
  const root = resolve(layer.dir);
  if (layer.single) return [root];
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    const err = fileError('extensions repository', root, e);
    throw new FusemlError(err.code, err.message, { hint: 'pass --extensions-repository DIR: a folder with one sub-folder per extension', cause: e });
  }
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(root, e.name)).sort();
  const found = await Promise.all(dirs.map(async (d) => ((await findDescriptor(d)) ? d : undefined)));
  return found.filter((d): d is string => d !== undefined);
}

/** Loads every extension folder below `dir`, collecting issues rather than stopping at the first. */
export async function loadRepository(dir: string = DEFAULT_REPOSITORY): Promise<Repository> {
  return loadLayers([{ dir }]);
}

/**
 * One layer's extensions, names checked unique within it. A repository folder that is valid and unchanged
 * since an earlier run comes from the cache (./cache.ts); the YAML and schema code loads only when it does not.
 */
async function loadLayer(layer: Layer): Promise<{ extensions: Extension[]; issues: Issue[] }> {
  const scan = async (): Promise<{ extensions: Extension[]; issues: Issue[] }> => {
    const dirs = await extensionDirs(layer);
    const { checkExtensionDir } = await import('./load.js');
    const results = await Promise.all(dirs.map((d) => checkExtensionDir(d)));
    const issues: Issue[] = [];
    const extensions: Extension[] = [];
    const owner = new Map<string, Extension>();
    for (const r of results) {
      issues.push(...r.issues);
      const ext = r.extension;
      if (!ext) continue;
      let clash = false;
      for (const n of [ext.name, ...ext.aliases]) {
        const other = owner.get(n);
        if (other) {
          issues.push({ file: ext.file, pointer: n === ext.name ? '/name' : '/aliases', message: `extension name "${n}" is also used by ${other.file}` });
          if (n === ext.name) clash = true;
        }
      }
      if (clash) continue;
      extensions.push(ext);
      for (const n of [ext.name, ...ext.aliases]) if (!owner.has(n)) owner.set(n, ext);
    }
    return { extensions, issues };
  };
  return layer.single ? scan() : cachedRepository(resolve(layer.dir), scan);
}

/**
 * Loads several layers (see Layer): names must be unique within a layer; a later layer's
 * extension replaces an earlier one of the same name or alias (with a notice).
 */
export async function loadLayers(layers: readonly Layer[]): Promise<Repository> {
  const perLayer = await Promise.all(layers.map((layer) => loadLayer(layer)));
  const issues: Issue[] = [];
  const notices: string[] = [];
  const extensions = new Map<string, Extension>();
  const byAlias = new Map<string, string>();
  const layerOf = new Map<string, number>();
  const owner = (n: string): Extension | undefined => extensions.get(n) ?? (byAlias.has(n) ? extensions.get(byAlias.get(n) as string) : undefined);
  const drop = (ext: Extension): void => {
    extensions.delete(ext.name);
    for (const [a, n] of byAlias) if (n === ext.name) byAlias.delete(a);
  };
  perLayer.forEach((loaded, li) => {
    issues.push(...loaded.issues);
    const layer = layers[li] as Layer;
    for (const ext of loaded.extensions) {
      if (layer.source) ext.source = layer.source;
      for (const n of [ext.name, ...ext.aliases]) {
        const other = owner(n);
        if (!other || layerOf.get(other.name) === li) continue;
        notices.push(`extension "${n}" from ${ext.dir} replaces the one from ${other.dir}`);
        drop(other);
      }
      if (extensions.has(ext.name)) continue;
      extensions.set(ext.name, ext);
      layerOf.set(ext.name, li);
      for (const a of ext.aliases) if (!byAlias.has(a)) byAlias.set(a, ext.name);
    }
  });
  const canonical = (n: string): string | undefined => (extensions.has(n) ? n : byAlias.get(n));
  // Across layers: an extension may require one of an earlier layer.
  const found: { ext: Extension; pointer: string; message: string }[] = [];
  for (const ext of extensions.values()) {
    ext.requires.forEach((req, i) => {
      if (!canonical(req)) {
        const known = [...extensions.keys()].join(', ') || 'none';
        found.push({ ext, pointer: `/requires/${i}`, message: `requires unknown extension "${req}" (known: ${known})` });
      }
    });
  }
  const names = [...extensions.keys()];
  const cycle = findCycle(names, (n) => (extensions.get(n)?.requires ?? []).flatMap((r) => canonical(r) ?? []));
  if (cycle) {
    // Reported on each member, at the requirement that closes the loop from it.
    for (let i = 0; i < cycle.length - 1; i++) {
      const ext = extensions.get(cycle[i] as string);
      if (!ext) continue;
      const next = cycle[i + 1] as string;
      const at = ext.requires.findIndex((r) => canonical(r) === next);
      found.push({ ext, pointer: `/requires/${at}`, message: `dependency cycle: ${cycle.join(' -> ')}` });
    }
  }
  if (found.length > 0) {
    const { descriptorIssue } = await import('./load.js');
    for (const f of found) issues.push(await descriptorIssue(f.ext, f.pointer, f.message));
  }
  return {
    dir: layers.map((l) => resolve(l.dir)).join(', '),
    extensions: layers.length > 1 ? new Map([...extensions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : extensions,
    issues,
    notices,
    get: (n) => {
      const c = canonical(n);
      return c === undefined ? undefined : extensions.get(c);
    },
  };
}

/** The repository, throwing when any extension in it is invalid. */
export async function loadValidRepository(dir?: string | readonly Layer[]): Promise<Repository> {
  const repo = typeof dir === 'object' ? await loadLayers(dir) : await loadRepository(dir);
  if (repo.issues.length > 0) throw new ValidationError(repo.issues, `${repo.dir}: ${repo.issues.length} problem(s) in the extensions repository`);
  return repo;
}

/** Resolves a name or alias, with a hint listing what exists. */
export function requireExtension(repo: Repository, name: string): Extension {
  const ext = repo.get(name);
  if (!ext) {
    throw new FusemlError('NOT_FOUND', `unknown extension "${name}"`, {
      hint: `available in ${repo.dir}: ${[...repo.extensions.keys()].join(', ') || 'none'}`,
    });
  }
  return ext;
}
