/** The extensions the installer CLI sees: the shipped set, FUSEML_EXTENSIONS_PATH, --extensions-repository, and -e folders. */
import { resolve } from 'node:path';
import { ValidationError } from '../../core/errors.js';
import type { Layer, Repository } from '../../descriptor/repository.js';
import { loadLayers } from '../../descriptor/repository.js';
import { repositoryLayers } from '../../descriptor/sources.js';
import type { Mirror } from '../../installer/mirrors.js';

/** --extensions-repository as commander gives it: repeatable. */
export type RepositoryFlag = string | readonly string[] | undefined;

/** Loads every layer (later wins by name); the replacements are told on stderr unless `quiet`. */
export async function openRepository(flag: RepositoryFlag, extra: readonly Layer[] = [], quiet = false): Promise<Repository> {
  const repo = await loadLayers([...repositoryLayers(flag), ...extra]);
  if (!quiet) for (const n of repo.notices) process.stderr.write(`notice: ${n}\n`);
  return repo;
}

/**
 * The repository for `install -e WORD…`: names as they are; folders, git and archive URLs fetched
 * (src/installer/sources.ts) and added on top. Returns the names to install (a fetched folder's
 * extension by its own name); a fetched folder that does not load fails here, with its problems.
 */
export async function sourcedRepository(flag: RepositoryFlag, words: readonly string[], mirrors: readonly Mirror[]): Promise<{ repo: Repository; names: string[] }> {
  const { resolveSources } = await import('../../installer/sources.js');
  const { withInterrupt } = await import('./install-common.js');
  // Ctrl-C stops git / the download (their temporary folders are removed); nothing is half-cached.
  const { value: fetched, interrupted } = await withInterrupt((signal) => resolveSources(words, { mirrors, signal, onNotice: (m) => void process.stderr.write(`notice: ${m}\n`) }));
  if (interrupted) {
    const { cancelledError } = await import('./install-common.js');
    throw cancelledError(interrupted, 'fetching extensions', []);
  }
  const { names, layers } = fetched;
  const repo = await openRepository(flag, layers);
  const picked: string[] = [];
  for (const layer of layers) {
    const dir = resolve(layer.dir);
    const ext = [...repo.extensions.values()].find((e) => e.dir === dir);
    if (!ext) {
      const own = repo.issues.filter((i) => i.file.startsWith(dir));
      throw new ValidationError(own, `${dir}: the extension does not load (${own.length} problem(s))`, { hint: `fuseml-installer extensions validate ${dir}` });
    }
    picked.push(ext.name);
  }
  // Names first, in the order given, then the fetched ones.
  return { repo, names: [...names, ...picked] };
}
