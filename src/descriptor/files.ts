/** Checks on files an extension refers to: they exist and stay inside its folder. */
import { constants } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isRemoteLocation, type DescriptorFormat, type Extension } from '../core/extension.js';

export type FileKind = 'file' | 'directory' | 'any';

export interface FileCheck {
  ok: boolean;
  path: string;
  message?: string;
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/** Resolves `ref` against `dir`; refuses absolute paths, `..` escapes and symlinks that lead outside. */
export async function checkPath(dir: string, ref: string, kind: FileKind, opts: { executable?: boolean } = {}): Promise<FileCheck> {
  if (ref.includes('\0')) return { ok: false, path: ref, message: 'path contains a NUL byte' };
  if (isAbsolute(ref)) return { ok: false, path: ref, message: `"${ref}" must be a path relative to the extension folder` };
  const p = resolve(dir, ref);
  if (!inside(dir, p)) return { ok: false, path: p, message: `"${ref}" leads outside the extension folder` };
  let st;
  try {
    st = await stat(p);
  } catch {
    return { ok: false, path: p, message: `"${ref}" does not exist in ${dir}` };
  }
  try {
    const [realDir, realP] = await Promise.all([realpath(dir), realpath(p)]);
    if (!inside(realDir, realP)) return { ok: false, path: p, message: `"${ref}" is a link that leads outside the extension folder` };
  } catch {
    return { ok: false, path: p, message: `"${ref}" cannot be resolved` };
  }
  if (kind === 'file' && !st.isFile()) return { ok: false, path: p, message: `"${ref}" is not a file` };
  if (kind === 'directory' && !st.isDirectory()) return { ok: false, path: p, message: `"${ref}" is not a folder` };
  if (opts.executable) {
    try {
      await access(p, constants.X_OK);
    } catch {
      return { ok: false, path: p, message: `"${ref}" is not executable (chmod +x it)` };
    }
  }
  return { ok: true, path: p };
}

/** YAML files of a manifest location: the file itself, or the .yaml/.yml files of a folder (sorted). */
export async function manifestFiles(path: string): Promise<string[]> {
  const st = await stat(path);
  if (st.isFile()) return [path];
  const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n)).sort();
  return names.map((n) => join(path, n));
}

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export const DESCRIPTOR_FILES: readonly DescriptorFormat[] = ['extension.yaml', 'description.yaml'];

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The descriptor file of a folder (or the file itself), undefined when there is none. */
export async function findDescriptor(path: string): Promise<{ dir: string; file: string; format: DescriptorFormat } | undefined> {
  const abs = resolve(path);
  const name = basename(abs) as DescriptorFormat;
  if (DESCRIPTOR_FILES.includes(name) && (await exists(abs))) return { dir: dirname(abs), file: abs, format: name };
  for (const f of DESCRIPTOR_FILES) {
    const file = join(abs, f);
    if (await exists(file)) return { dir: abs, file, format: f };
  }
  return undefined;
}

/** The remote locations of an extension's steps (`install[0].location` → URL): fetched at install, never by validate. */
export function remoteLocations(ext: Extension): { where: string; url: string }[] {
  const out: { where: string; url: string }[] = [];
  for (const phase of ['install', 'uninstall'] as const) {
    ext[phase].forEach((s, i) => {
      const loc = 'location' in s ? s.location : undefined;
      if (loc && /^(https?|oci):\/\//i.test(loc)) out.push({ where: `${phase}[${i}].location`, url: loc });
      if (s.type === 'helm' && s.values && isRemoteLocation(s.values)) out.push({ where: `${phase}[${i}].values`, url: s.values });
    });
  }
  return out;
}

/** The largest YAML file read (descriptors, manifests, values). */
export const MAX_YAML_BYTES = 1024 * 1024;

/** The registration manifest of an extension.yaml folder, unless the descriptor names another. */
export const DEFAULT_REGISTRATION_FILE = 'registration.yaml';

/** A JSON pointer from path segments (`~` and `/` escaped). */
export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
