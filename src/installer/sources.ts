/**
 * Fetching the extensions `install -e` names by location (see src/descriptor/sources.ts for the
 * forms): a folder is used as it is; a git URL is cloned with the git binary into a cache
 * ($FUSEML_CACHE_DIR, else $XDG_CACHE_HOME/fuseml, else ~/.cache/fuseml; folder extensions/git),
 * the ref resolved to a commit and that commit unpacked; an archive URL is downloaded (through
 * --mirror) and unpacked by its sha256 (folder extensions/archives). Both are unpacked by
 * src/installer/unpack.ts (no path escapes, no links out, size limits).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FusemlError, fileError } from '../core/errors.js';
import type { ExtensionSource } from '../core/extension.js';
import { findDescriptor } from '../descriptor/load.js';
import type { Layer } from '../descriptor/repository.js';
import { parseSource, redactUrl, type SourceSpec } from '../descriptor/sources.js';
import { run } from '../exec/index.js';
import { fetchRemote } from '../steps/remote.js';
import { applyMirror, type Mirror } from './mirrors.js';
import { unpackTar } from './unpack.js';

export const MAX_ARCHIVE_BYTES = 50 * 1024 * 1024;
export const GIT_TIMEOUT_MS = 5 * 60 * 1000;

export interface FetchSourceOptions {
  mirrors?: readonly Mirror[] | undefined;
  /** Default: cacheDir(). */
  cacheDir?: string | undefined;
  signal?: AbortSignal | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Lines worth telling the user (links left out of an archive…). */
  onNotice?: ((message: string) => void) | undefined;
}

/** $FUSEML_CACHE_DIR, else $XDG_CACHE_HOME/fuseml, else ~/.cache/fuseml. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FUSEML_CACHE_DIR) return env.FUSEML_CACHE_DIR;
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'fuseml');
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Fills `final` through a temporary sibling and a rename, so a half-made folder is never used. */
async function fillOnce(final: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  if (await exists(final)) return;
  const tmp = `${final}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fill(tmp);
    await rename(tmp, final).catch(async (e: unknown) => {
      // Another installer filled it first: theirs is the same content.
      if (!(await exists(final))) throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function mirrored(url: string, mirrors: readonly Mirror[] | undefined): string {
  const m = applyMirror(url, mirrors ?? []);
  if (m !== url && /\/\/[^/@\s]*@/.test(m)) {
    throw new FusemlError('USAGE', `--mirror for ${url}: credentials in a mirror URL are refused (they would show in process lists and logs)`, {
      hint: 'use a git credential helper or ~/.netrc for credentials',
    });
  }
  return m;
}

/** The extension folder inside an unpacked tree: SUBDIR, the root, or its single top folder. */
async function extensionRoot(root: string, subdir: string | undefined, what: string): Promise<string> {
  if (subdir) {
    const dir = join(root, ...subdir.split('/'));
    if (!(await findDescriptor(dir))) throw new FusemlError('NOT_FOUND', `${what}: no extension.yaml or description.yaml in "${subdir}"`);
    return dir;
  }
  if (await findDescriptor(root)) return root;
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const only = entries.length === 1 && entries[0]?.isDirectory() ? join(root, entries[0].name) : undefined;
  if (only && (await findDescriptor(only))) return only;
  throw new FusemlError('NOT_FOUND', `${what}: no extension.yaml or description.yaml at the top (or in its single top folder)`, {
    hint: 'name the folder holding the extension after the URL: …#REF:SUBDIR for git, …tgz#SUBDIR for an archive',
  });
}

function gitEnv(env: NodeJS.ProcessEnv | undefined): Record<string, string> {
  // Never prompt (no terminal to answer on); the user's credential helpers and ~/.netrc still apply.
  return { ...(env as Record<string, string> | undefined), GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' };
}

async function fetchGit(spec: Extract<SourceSpec, { kind: 'git' }>, opts: FetchSourceOptions): Promise<Layer> {
  const cache = join(opts.cacheDir ?? cacheDir(opts.env), 'extensions', 'git');
  await mkdir(join(cache, 'checkouts'), { recursive: true });
  const url = mirrored(spec.url, opts.mirrors);
  const what = `git+${redactUrl(spec.url)}#${spec.ref}`;
  const base = { env: gitEnv(opts.env), signal: opts.signal, timeoutMs: GIT_TIMEOUT_MS };
  const bare = join(cache, `${sha256(spec.url).slice(0, 24)}.git`);
  // A commit already unpacked (e.g. the one an install record pins): no network needed.
  if (/^[0-9a-f]{40}$/.test(spec.ref) && (await exists(join(cache, 'checkouts', spec.ref)))) {
    const dir = await extensionRoot(join(cache, 'checkouts', spec.ref), spec.subdir, what);
    return { dir, single: true, source: { kind: 'git', url: spec.url, ref: spec.ref, ...(spec.subdir ? { subdir: spec.subdir } : {}), commit: spec.ref } };
  }
  if (await exists(bare)) {
    await run('git', ['--git-dir', bare, 'fetch', '--quiet', '--force', '--tags', '--prune', '--', url, '+refs/heads/*:refs/heads/*'], base);
  } else {
    await fillOnce(bare, async (tmp) => {
      await run('git', ['clone', '--bare', '--quiet', '--', url, tmp], base);
    });
  }
  const rev = await run('git', ['--git-dir', bare, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${spec.ref}^{commit}`], { ...base, allowFailure: true });
  const commit = rev.stdout.trim();
  if (rev.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(commit)) {
    throw new FusemlError('NOT_FOUND', `${what}: no tag, branch or commit "${spec.ref}" in the repository`, { hint: 'git ls-remote --tags URL lists the tags' });
  }
  const checkout = join(cache, 'checkouts', commit);
  await fillOnce(checkout, async (tmp) => {
    const tarFile = `${tmp}.tar`;
    try {
      await run('git', ['--git-dir', bare, 'archive', '--format=tar', '-o', tarFile, commit], base);
      const r = await unpackTar(await readFile(tarFile), tmp, what, { gzip: false });
      for (const s of r.skipped) opts.onNotice?.(`${what}: left out ${s}`);
    } finally {
      await rm(tarFile, { force: true });
    }
  });
  const dir = await extensionRoot(checkout, spec.subdir, what);
  const source: ExtensionSource = { kind: 'git', url: spec.url, ref: spec.ref, ...(spec.subdir ? { subdir: spec.subdir } : {}), commit };
  return { dir, single: true, source };
}

async function fetchArchive(spec: Extract<SourceSpec, { kind: 'archive' }>, opts: FetchSourceOptions): Promise<Layer> {
  const cache = join(opts.cacheDir ?? cacheDir(opts.env), 'extensions', 'archives');
  await mkdir(cache, { recursive: true });
  const what = redactUrl(spec.url);
  const data = await fetchRemote(mirrored(spec.url, opts.mirrors), { original: spec.url, signal: opts.signal, maxBytes: MAX_ARCHIVE_BYTES });
  const digest = sha256(data);
  const root = join(cache, digest);
  await fillOnce(root, async (tmp) => {
    const r = await unpackTar(data, tmp, what);
    for (const s of r.skipped) opts.onNotice?.(`${what}: left out ${s}`);
  });
  const dir = await extensionRoot(root, spec.subdir, what);
  return { dir, single: true, source: { kind: 'archive', url: spec.url, ...(spec.subdir ? { subdir: spec.subdir } : {}), digest: `sha256:${digest}` } };
}

/** The layer for one source that is not a name: fetched (git, archive) or checked (folder). */
export async function fetchSource(spec: Exclude<SourceSpec, { kind: 'name' }>, opts: FetchSourceOptions = {}): Promise<Layer> {
  switch (spec.kind) {
    case 'dir': {
      const st = await stat(spec.path).catch((e: unknown) => {
        throw fileError('extension folder', spec.path, e);
      });
      if (!st.isDirectory() || !(await findDescriptor(spec.path))) {
        throw new FusemlError('NOT_FOUND', `${spec.path}: not an extension folder (no extension.yaml or description.yaml)`, { hint: 'fuseml-installer extensions validate DIR' });
      }
      return { dir: spec.path, single: true, source: { kind: 'dir', path: spec.path } };
    }
    case 'git':
      return fetchGit(spec, opts);
    case 'archive':
      return fetchArchive(spec, opts);
  }
}

/**
 * Splits `-e` words into extension names and fetched layers (in the order given). Sources are
 * fetched one at a time (git and the network are the slow part; a cache makes re-runs cheap).
 */
export async function resolveSources(words: readonly string[], opts: FetchSourceOptions = {}): Promise<{ names: string[]; layers: Layer[] }> {
  const names: string[] = [];
  const layers: Layer[] = [];
  for (const w of words) {
    const spec = parseSource(w);
    if (spec.kind === 'name') names.push(spec.name);
    else layers.push(await fetchSource(spec, opts));
  }
  return { names, layers };
}

/**
 * The folder an install record's source pins (for uninstall and re-runs): the cached checkout of
 * its commit or the cached unpacking of its digest, fetched again when the cache lost it (an
 * archive whose content changed since is refused).
 */
export async function recordedLayer(source: ExtensionSource, opts: FetchSourceOptions = {}): Promise<Layer> {
  switch (source.kind) {
    case 'dir':
      return fetchSource({ kind: 'dir', path: source.path }, opts);
    case 'git': {
      const layer = await fetchGit({ kind: 'git', url: source.url, ref: source.commit, subdir: source.subdir }, opts);
      return { ...layer, source };
    }
    case 'archive': {
      const hex = source.digest.replace(/^sha256:/, '');
      const root = join(opts.cacheDir ?? cacheDir(opts.env), 'extensions', 'archives', hex);
      if (/^[0-9a-f]{64}$/.test(hex) && (await exists(root))) return { dir: await extensionRoot(root, source.subdir, redactUrl(source.url)), single: true, source };
      const layer = await fetchArchive({ kind: 'archive', url: source.url, subdir: source.subdir }, opts);
      const got = layer.source?.kind === 'archive' ? layer.source.digest : '';
      if (got !== source.digest) {
        throw new FusemlError('CONFLICT', `${redactUrl(source.url)}: the archive changed since it was installed (${source.digest}, now ${got})`, {
          hint: 'pass --extensions-repository DIR holding the extension as it was installed',
        });
      }
      return layer;
    }
  }
}
