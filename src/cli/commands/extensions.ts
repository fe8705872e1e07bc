/** `fuseml-installer extensions list|describe|validate`. */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileError, formatIssue, isIssueList, ValidationError, type Issue } from '../../core/errors.js';
import { isExternalOnly, type Extension } from '../../core/extension.js';
import { cachedDerived, saveDerived } from '../../descriptor/cache.js';
import { findDescriptor, remoteLocations } from '../../descriptor/files.js';
import { descriptorNearMisses, extensionWarnings } from '../../descriptor/lint.js';
import { loadLayers, requireExtension, type Repository } from '../../descriptor/repository.js';
import { repositoryLayers } from '../../descriptor/sources.js';
import { openRepository } from './repository.js';
import { parseFormat, printResult, renderData } from '../output.js';

export interface RepositoryOptions {
  extensionsRepository?: string | string[] | undefined;
}

const firstLine = (s: string, max = 70): string => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
};

function warn(issues: readonly Issue[]): void {
  for (const i of issues) process.stderr.write(`warning: ${formatIssue(i)}\n`);
}

/** A plain, serializable view of an extension (no absolute paths of this machine). */
export function extensionView(ext: Extension): Record<string, unknown> {
  return {
    name: ext.name,
    product: ext.product,
    version: ext.version,
    description: ext.description,
    namespace: ext.namespace,
    ...(ext.zone ? { zone: ext.zone } : {}),
    requires: ext.requires,
    aliases: ext.aliases,
    format: ext.format,
    parameters: ext.parameters,
    install: ext.install,
    uninstall: ext.uninstall,
    outputs: ext.outputs,
    registration: ext.registration ?? null,
    ...(ext.gateways.length ? { gateways: ext.gateways } : {}),
    ...(ext.rolerules.length ? { rolerules: ext.rolerules } : {}),
  };
}

export async function listExtensions(globals: RepositoryOptions, output: string): Promise<void> {
  const format = parseFormat(output);
  const repo = await openRepository(globals.extensionsRepository);
  const list = [...repo.extensions.values()];
  const data = list.map((e) => ({ name: e.name, product: e.product, version: e.version, requires: e.requires, aliases: e.aliases, description: e.description }));
  await printResult(format, data, list, [
    { header: 'name', get: (e) => e.name },
    { header: 'product', get: (e) => e.product },
    { header: 'version', get: (e) => e.version },
    { header: 'requires', get: (e) => e.requires.join(',') || '-' },
    { header: 'description', get: (e) => firstLine(e.description) },
  ], `No extensions found in ${repo.dir}.`);
  if (repo.issues.length > 0) {
    warn(repo.issues);
    throw new ValidationError(repo.issues, `${repo.issues.length} problem(s) in ${repo.dir}; run "fuseml-installer extensions validate" for details`);
  }
}

export async function describeExtension(globals: RepositoryOptions, name: string, output: string): Promise<void> {
  const format = parseFormat(output);
  const repo = await openRepository(globals.extensionsRepository);
  const ext = requireExtension(repo, name);
  const view = extensionView(ext);
  if (format === 'table') {
    const params = Object.entries(ext.parameters)
      .map(([k, p]) => `  ${k} (${p.type ?? 'string'}${p.sensitive ? ', sensitive' : ''}${p.required ? ', required' : ''})${p.default !== undefined ? ` default ${JSON.stringify(p.default)}` : ''}${p.description ? ` - ${p.description}` : ''}`)
      .join('\n');
    const services = (ext.registration?.services ?? []).map((s) => `  ${s.id} (resource ${s.resource ?? '-'}, category ${s.category ?? '-'})`).join('\n');
    process.stdout.write(
      [
        `Name:        ${ext.name}${ext.aliases.length ? ` (aliases: ${ext.aliases.join(', ')})` : ''}`,
        `Product:     ${ext.product} ${ext.version}`,
        `Namespace:   ${ext.namespace}`,
        `Requires:    ${ext.requires.join(', ') || '-'}`,
        `Description: ${firstLine(ext.description, 200)}`,
        `Install:     ${isExternalOnly(ext) ? `nothing: external only (fuseml-installer extensions register ${ext.name})` : ext.install.map((s) => s.type).join(', ')}`,
        `Parameters:${params ? '\n' + params : ' -'}`,
        `Outputs:     ${Object.keys(ext.outputs).join(', ') || '-'}`,
        `Registers:${services ? '\n' + services : ' nothing'}`,
      ].join('\n') + '\n',
    );
    return;
  }
  if (format === 'yaml') {
    // The YAML text from the repository cache entry of the extension's folder when it came from
    // there (the view is the cached extension's): the YAML writer is not even loaded.
    const isText = (v: unknown): v is string => typeof v === 'string';
    const text = await cachedDerived(dirname(ext.dir), `describe:yaml:${basename(ext.dir)}`, () => renderData(view, format), isText);
    saveDerived();
    process.stdout.write(text);
    return;
  }
  process.stdout.write(await renderData(view, format));
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** One line per remote location: not checked here, fetched at install (through --mirror). */
function remoteNotes(ext: Extension): string[] {
  return remoteLocations(ext).map((r) => `note: ${ext.name} ${r.where}: ${r.url} is remote, fetched at install (map it with --mirror ORIGINAL=MIRROR)`);
}

/** Sub-folders of a repository folder that hold no descriptor but a file named like one. */
async function skippedFolders(root: string): Promise<Issue[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(root, e.name));
  const out: Issue[] = [];
  for (const d of dirs) if (!(await findDescriptor(d))) out.push(...(await descriptorNearMisses(d)));
  return out;
}

/**
 * The warnings below a repository folder (near-miss folders; each extension's, by its folder's
 * name): from the folder's entry in the repository cache when it came from there (they depend only
 * on the files below it, which its fingerprint covers), else computed (and kept: saveDerived).
 */
const cachedSkippedFolders = (root: string): Promise<Issue[]> => cachedDerived(root, 'validate:skipped-folders', () => skippedFolders(root), isIssueList);
const cachedWarnings = (e: Extension): Promise<Issue[]> => cachedDerived(dirname(e.dir), `validate:warnings:${basename(e.dir)}`, () => extensionWarnings(e), isIssueList);

/**
 * Validates the given extension folders (or descriptor files), or every extension the installer
 * sees (shipped, FUSEML_EXTENSIONS_PATH, --extensions-repository) when none is given. A folder with
 * no descriptor of its own is taken as a repository. Rules that need the other extensions
 * (requires, cycles) are checked against the extension's parent folder on top of those. Likely
 * mistakes are warnings (problems with --strict).
 */
export async function validateExtensions(globals: RepositoryOptions, paths: string[], opts: { strict?: boolean | undefined } = {}): Promise<void> {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const valid: string[] = [];
  const notes: string[] = [];
  const layers = repositoryLayers(globals.extensionsRepository);
  const accept = async (e: Extension): Promise<void> => {
    valid.push(`${e.name} (${e.dir})`);
    notes.push(...remoteNotes(e));
    warnings.push(...(await cachedWarnings(e)));
  };
  const checkRepository = async (root: string | undefined, repo: Repository): Promise<void> => {
    const inside = (file: string): boolean => root === undefined || file === root || file.startsWith(root + sep);
    const own = repo.issues.filter((i) => inside(i.file));
    issues.push(...own);
    const exts = [...repo.extensions.values()].filter((e) => inside(e.dir));
    if (root !== undefined && exts.length === 0 && own.length === 0) {
      issues.push({ file: root, pointer: '', message: 'no extension.yaml or description.yaml found here or in its sub-folders' });
    }
    for (const r of root === undefined ? layers.map((l) => resolve(l.dir)) : [root]) warnings.push(...(await cachedSkippedFolders(r)));
    const bad = new Set(own.map((i) => i.file));
    for (const e of exts) {
      if (bad.has(e.file) || (e.registrationFile && bad.has(e.registrationFile))) continue;
      await accept(e);
    }
  };
  if (paths.length === 0) await checkRepository(undefined, await openRepository(globals.extensionsRepository));
  for (const target of paths) {
    const found = await findDescriptor(target);
    if (!found) {
      if (!(await isDir(target))) {
        // A path the user named that is not there: not-found (4), as everywhere.
        const err = await stat(target).then(() => undefined, (e: unknown) => e);
        if (err !== undefined) throw fileError('extension folder', target, err);
        issues.push({ file: resolve(target), pointer: '', message: 'not an extension folder or descriptor file' });
        continue;
      }
      const root = resolve(target);
      const near = await descriptorNearMisses(root);
      if (near.length > 0) {
        issues.push(...near);
        continue;
      }
      await checkRepository(root, await loadLayers([...layers, { dir: root }]));
      continue;
    }
    const { checkExtensionDir } = await import('../../descriptor/load.js');
    const own = await checkExtensionDir(found.dir);
    issues.push(...own.issues);
    if (!own.extension) continue;
    // Cross-extension rules, against the folder's siblings (on top of what the installer sees).
    const siblings = await loadLayers([...layers, { dir: dirname(found.dir) }]);
    const mine = siblings.issues.filter((i) => i.file === found.file && !own.issues.some((o) => o.message === i.message));
    const known = siblings.get(own.extension.name)?.file === found.file ? siblings : undefined;
    if (known) issues.push(...mine);
    else {
      own.extension.requires.forEach((r, i) => {
        if (!siblings.get(r)) issues.push({ file: found.file, pointer: `/requires/${i}`, message: `requires unknown extension "${r}" (not in ${siblings.dir})` });
      });
    }
    if (!issues.some((i) => i.file === found.file || i.file === own.extension?.registrationFile)) await accept(own.extension);
  }
  saveDerived();
  for (const v of valid) process.stdout.write(`valid: ${v}\n`);
  for (const n of notes) process.stdout.write(`${n}\n`);
  if (opts.strict) issues.push(...warnings);
  else warn(warnings);
  if (issues.length > 0) throw new ValidationError(issues);
}
