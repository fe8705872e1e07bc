/**
 * Where extensions come from. Repository folders stack: the shipped extensions/, then each folder of
 * FUSEML_EXTENSIONS_PATH (':' separated), then each --extensions-repository, later winning by name.
 * `install -e` also takes one extension from elsewhere: a folder (`./dir`, `/abs/dir`), a git URL
 * (`git+https://host/repo.git#REF[:SUBDIR]`) or an archive URL (`https://host/ext.tgz[#SUBDIR]`).
 * This module only reads the words; fetching is src/installer/sources.ts.
 */
import { isAbsolute, resolve } from 'node:path';
import { FusemlError } from '../core/errors.js';
import { DEFAULT_REPOSITORY, type Layer } from './repository.js';

export const EXTENSIONS_PATH_ENV = 'FUSEML_EXTENSIONS_PATH';

/** The repository layers, lowest precedence first: shipped, FUSEML_EXTENSIONS_PATH, --extensions-repository. */
export function repositoryLayers(flagDirs: string | readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): Layer[] {
  const fromEnv = (env[EXTENSIONS_PATH_ENV] ?? '').split(':').filter((d) => d.trim() !== '');
  const fromFlags = typeof flagDirs === 'string' ? [flagDirs] : (flagDirs ?? []);
  return [DEFAULT_REPOSITORY, ...fromEnv, ...fromFlags].map((dir) => ({ dir }));
}

export type SourceSpec =
  | { kind: 'name'; name: string }
  | { kind: 'dir'; path: string }
  | { kind: 'git'; url: string; ref: string; subdir?: string | undefined }
  | { kind: 'archive'; url: string; subdir?: string | undefined };

const SOURCE_HINT = '-e NAME, -e ./folder, -e git+https://host/repo.git#TAG[:SUBDIR] or -e https://host/ext.tgz[#SUBDIR]';
/** A git ref as we accept it: no leading "-" (never read as an option), no "..", no spaces. */
const REF = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;

function usage(spec: string, why: string): FusemlError {
  return new FusemlError('USAGE', `-e "${redactUrl(spec)}": ${why}`, { hint: SOURCE_HINT });
}

/** A URL with any user:password@ removed, for messages. */
export function redactUrl(text: string): string {
  return text.startsWith('git+ssh://') && !/\/\/[^/@\s]*:[^/@\s]*@/.test(text) ? text : text.replace(/(\/\/)[^/@\s]*@/, '$1***@');
}

function checkSubdir(spec: string, subdir: string | undefined): string | undefined {
  if (subdir === undefined || subdir === '') return undefined;
  if (isAbsolute(subdir) || subdir.split('/').some((s) => s === '..') || subdir.includes('\0')) throw usage(spec, `"${subdir}" must be a folder inside the repository or archive`);
  return subdir.replace(/\/+$/, '');
}

function parseUrl(spec: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usage(spec, 'not a URL');
  }
  // An ssh user name (git@host) is no secret; anything else before @ may be a token.
  if (url.password || (url.username && url.protocol !== 'ssh:')) {
    throw usage(spec, 'credentials in the URL are refused (they would show in process lists and logs); use a git credential helper, ssh keys or ~/.netrc');
  }
  return url;
}

/** Reads one `-e` word: a name, a folder, a git URL or an archive URL. */
export function parseSource(spec: string): SourceSpec {
  const s = spec.trim();
  if (s.startsWith('git+')) {
    const hash = s.indexOf('#');
    const raw = s.slice(4, hash < 0 ? undefined : hash);
    const url = parseUrl(spec, raw);
    if (!['https:', 'http:', 'ssh:', 'file:'].includes(url.protocol)) throw usage(spec, 'a git source is git+https://, git+ssh:// or git+file://');
    const frag = hash < 0 ? '' : s.slice(hash + 1);
    const colon = frag.indexOf(':');
    const ref = (colon < 0 ? frag : frag.slice(0, colon)) || 'HEAD';
    if (!REF.test(ref) || ref.includes('..')) throw usage(spec, `"${ref}" is not a git tag, branch or commit`);
    if (url.protocol !== 'file:' && url.search) throw usage(spec, 'a git URL takes no ?query');
    if (url.protocol !== 'file:' && url.protocol !== 'ssh:' && url.hostname === '') throw usage(spec, 'no host');
    return { kind: 'git', url: raw, ref, subdir: checkSubdir(spec, colon < 0 ? undefined : frag.slice(colon + 1)) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    const url = parseUrl(spec, s);
    if ((url.protocol === 'https:' || url.protocol === 'http:') && /\.(tgz|tar\.gz)$/i.test(url.pathname)) {
      const subdir = checkSubdir(spec, url.hash ? decodeURIComponent(url.hash.slice(1)) : undefined);
      url.hash = '';
      return { kind: 'archive', url: url.toString(), subdir };
    }
    throw usage(spec, 'a URL source is an archive (https://….tgz or .tar.gz) or a git repository (git+https://…)');
  }
  if (s.includes('/') || s.includes('\\') || s.startsWith('.') || isAbsolute(s)) return { kind: 'dir', path: resolve(s) };
  return { kind: 'name', name: s };
}
