/**
 * Warnings of `extensions validate`: things that load but are likely mistakes. Files with a name
 * close to the one that is read (registration.yml, extension.yml), parameters nothing uses,
 * parameters that can never get a value without --set (no default, not required: the plan fails
 * with "has no value"), and upstream charts without a pinned version.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Issue } from '../core/errors.js';
import type { Extension } from '../core/extension.js';
import { isRemoteLocation } from '../core/extension.js';
import { suggest } from '../core/suggest.js';
import { DEFAULT_REGISTRATION_FILE, DESCRIPTOR_FILES, manifestFiles, MAX_YAML_BYTES, toPointer } from './files.js';

async function filesOf(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Names in `names` that look like a mistyped `expected` (case, .yml, one or two letters off). */
export function nearMisses(expected: string, names: readonly string[]): string[] {
  const norm = (n: string): string => n.toLowerCase().replace(/\.yml$/, '.yaml');
  return names.filter((n) => n !== expected && (norm(n) === expected || suggest(norm(n), [expected]).length > 0));
}

/** A folder with no descriptor but a file named like one: it is skipped, which is rarely meant. */
export async function descriptorNearMisses(dir: string): Promise<Issue[]> {
  const files = await filesOf(dir);
  const found = DESCRIPTOR_FILES.flatMap((d) => nearMisses(d, files).map((f) => ({ f, d })));
  return found.map(({ f, d }) => ({
    file: join(dir, f),
    pointer: '',
    message: `"${f}" is not read: the descriptor must be named ${d} (this folder is not an extension until it is renamed)`,
  }));
}

async function readSmall(file: string): Promise<string> {
  try {
    if ((await stat(file)).size > MAX_YAML_BYTES) return '';
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** Every text the templates of an extension live in: the descriptor's own strings and the local files its steps render. */
async function templateTexts(ext: Extension): Promise<string[]> {
  const texts = [JSON.stringify([ext.namespace, ext.install, ext.uninstall, ext.outputs, ext.registration ?? null, ext.gateways, ext.rolerules])];
  for (const step of [...ext.install, ...ext.uninstall]) {
    if (step.type === 'helm' && step.values && !isRemoteLocation(step.values)) texts.push(await readSmall(join(ext.dir, step.values)));
    if (step.type === 'manifest' && !isRemoteLocation(step.location)) {
      const files = await manifestFiles(join(ext.dir, step.location)).catch(() => []);
      for (const f of files) texts.push(await readSmall(f));
    }
  }
  return texts;
}

/** Warnings for one loaded extension. */
export async function extensionWarnings(ext: Extension): Promise<Issue[]> {
  const out: Issue[] = [];
  // Positioned at the end (below): an extension from the repository cache has no parsed source.
  const at = (pointer: string, message: string): Issue => ({ file: ext.file, pointer, message });
  const files = await filesOf(ext.dir);

  // Near-miss file names next to the descriptor.
  for (const d of DESCRIPTOR_FILES) {
    for (const f of nearMisses(d, files)) {
      if (DESCRIPTOR_FILES.includes(f as (typeof DESCRIPTOR_FILES)[number])) continue;
      out.push({ file: join(ext.dir, f), pointer: '', message: `"${f}" is not read (the descriptor is ${relative(ext.dir, ext.file)})` });
    }
  }
  if (ext.format === 'extension.yaml' && !ext.registrationFile) {
    for (const f of nearMisses(DEFAULT_REGISTRATION_FILE, files)) {
      out.push({
        file: join(ext.dir, f),
        pointer: '',
        message: `"${f}" is not read, so ${ext.name} registers nothing: the registration manifest is ${DEFAULT_REGISTRATION_FILE} (rename it, or set "registration: ${f}" in ${relative(ext.dir, ext.file)})`,
      });
    }
  }

  // Parameters: used by no template; used but never given a value.
  const texts = (await templateTexts(ext)).join('\n');
  const hasScript = [...ext.install, ...ext.uninstall].some((s) => s.type === 'script');
  for (const [name, p] of Object.entries(ext.parameters)) {
    const used = new RegExp(`params\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_])`).test(texts);
    const ptr = toPointer(['parameters', name]);
    if (!used && !hasScript) {
      out.push(at(ptr, `parameter "${name}" is used by no template (nor is there a script step to read it from the environment)`));
    } else if (used && p.default === undefined && !p.required) {
      out.push(at(ptr, `parameter "${name}" has no default and is not required: an install without --set ${ext.name}.${name}=VALUE fails at plan time ("has no value"); add a default or "required: true"`));
    }
  }

  // Upstream charts without a version: each install may get another chart.
  ext.install.forEach((s, i) => {
    if (s.type !== 'helm' || s.version) return;
    const chart = s.repo && s.chart ? `"${s.chart}" from ${s.repo}` : s.location?.startsWith('oci://') ? s.location : undefined;
    if (chart) out.push(at(`/install/${i}`, `chart ${chart} has no version: each install may get a different chart (pin it with "version:")`));
  });
  return positioned(ext, out);
}

/** Line and column for warnings on the descriptor: from its parsed source, re-read when it came from the cache. */
async function positioned(ext: Extension, warnings: Issue[]): Promise<Issue[]> {
  if (!warnings.some((w) => w.file === ext.file && w.pointer !== '')) return warnings;
  // The YAML code only now: a repository answered by the cache has not loaded it.
  const { descriptorIssue } = await import('./load.js');
  return Promise.all(warnings.map((w) => (w.file === ext.file && w.pointer !== '' ? descriptorIssue(ext, w.pointer, w.message) : w)));
}
