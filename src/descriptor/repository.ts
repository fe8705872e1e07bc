/**
 * An extension repository: a folder with one sub-folder per extension. Loads
 * them all, checks names are unique (aliases included), that `requires` names
 * known extensions and that there is no dependency cycle.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { FusemlError, fileError, ValidationError, type Issue } from '../core/errors.js';
import type { Extension } from '../core/extension.js';
import { findCycle } from '../core/graph.js';
import { cachedRepository } from './cache.js';
import { findDescriptor } from './files.js';

/** The extensions/ folder shipped with the package. */
export const DEFAULT_REPOSITORY = fileURLToPath(new URL('../../extensions/', import.meta.url));

export interface Repository {
  dir: string;
  /** By canonical name, sorted. */
  extensions: Map<string, Extension>;
  issues: Issue[];
  /** Resolves a name or an alias. */
  get(name: string): Extension | undefined;
}

/**
 * Loads every extension folder below `dir`, collecting issues rather than stopping at the first.
 * A valid repository unchanged since an earlier run comes from the cache (./cache.ts).
 */
export async function loadRepository(dir: string = DEFAULT_REPOSITORY): Promise<Repository> {
  const root = resolve(dir);
  const { extensions, issues } = await cachedRepository(root, () => scanRepository(root));
  return repositoryOf(root, extensions, issues);
}

/** The repository view of loaded extensions (names before aliases, as loaded). */
function repositoryOf(root: string, list: readonly Extension[], issues: Issue[]): Repository {
  const extensions = new Map(list.map((e) => [e.name, e]));
  const byAlias = new Map<string, string>();
  for (const e of list) for (const a of e.aliases) if (!byAlias.has(a)) byAlias.set(a, e.name);
  const canonical = (n: string): string | undefined => (extensions.has(n) ? n : byAlias.get(n));
  return {
    dir: root,
    extensions,
    issues,
    get: (n) => {
      const c = canonical(n);
      return c === undefined ? undefined : extensions.get(c);
    },
  };
}

async function scanRepository(root: string): Promise<{ extensions: Extension[]; issues: Issue[] }> {
  // The YAML and schema code, only when the cache does not answer.
  const { checkExtensionDir, descriptorSource } = await import('./load.js');
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    const err = fileError('extensions repository', root, e);
    throw new FusemlError(err.code, err.message, { hint: 'pass --extensions-repository DIR: a folder with one sub-folder per extension', cause: e });
  }
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(root, e.name)).sort();
  const results = await Promise.all(
    dirs.map(async (d) => ((await findDescriptor(d)) ? { dir: d, ...(await checkExtensionDir(d)) } : undefined)),
  );
  const issues: Issue[] = [];
  const extensions = new Map<string, Extension>();
  const byAlias = new Map<string, string>();
  for (const r of results) {
    if (!r) continue;
    issues.push(...r.issues);
    const ext = r.extension;
    if (!ext) continue;
    for (const n of [ext.name, ...ext.aliases]) {
      const other = extensions.get(n)?.file ?? (byAlias.has(n) ? extensions.get(byAlias.get(n) as string)?.file : undefined);
      if (other) {
        issues.push({ file: ext.file, pointer: n === ext.name ? '/name' : '/aliases', message: `extension name "${n}" is also used by ${other}` });
      }
    }
    if (!extensions.has(ext.name)) {
      extensions.set(ext.name, ext);
      for (const a of ext.aliases) if (!byAlias.has(a)) byAlias.set(a, ext.name);
    }
  }
  const canonical = (n: string): string | undefined => (extensions.has(n) ? n : byAlias.get(n));
  const issueAt = (ext: Extension, pointer: string, message: string): Issue =>
    descriptorSource(ext)?.issue(pointer, message) ?? { file: ext.file, pointer, message };
  for (const ext of extensions.values()) {
    ext.requires.forEach((req, i) => {
      if (!canonical(req)) {
        const known = [...extensions.keys()].join(', ') || 'none';
        issues.push(issueAt(ext, `/requires/${i}`, `requires unknown extension "${req}" (known: ${known})`));
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
      issues.push(issueAt(ext, `/requires/${at}`, `dependency cycle: ${cycle.join(' -> ')}`));
    }
  }
  return { extensions: [...extensions.values()], issues };
}

/** The repository, throwing when any extension in it is invalid. */
export async function loadValidRepository(dir?: string): Promise<Repository> {
  const repo = await loadRepository(dir);
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
