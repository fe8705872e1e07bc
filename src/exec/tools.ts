/**
 * Finding the external tools the installer runs (helm, kubectl): an explicit
 * path in the environment first (FUSEML_HELM, FUSEML_KUBECTL), then PATH.
 * Resolution only looks at the file system; nothing is started.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { FusemlError } from '../core/errors.js';

export type ToolName = 'helm' | 'kubectl';

export const TOOL_ENV: Readonly<Record<ToolName, string>> = {
  helm: 'FUSEML_HELM',
  kubectl: 'FUSEML_KUBECTL',
};

const HINTS: Readonly<Record<ToolName, string>> = {
  helm: 'run `npm run tools` (builds helm into the cache) and `export FUSEML_HELM=<path it prints>`, or put helm on PATH',
  kubectl: 'install kubectl (or set FUSEML_KUBECTL to its path)',
};

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface ResolveToolOptions {
  /** Defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The absolute path of `name`, or FusemlError('TOOL_MISSING') with a hint. */
export async function resolveTool(name: ToolName, options: ResolveToolOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const variable = TOOL_ENV[name];
  const explicit = env[variable];
  if (explicit !== undefined && explicit !== '') {
    const path = resolve(explicit);
    if (await isExecutableFile(path)) return path;
    throw new FusemlError('TOOL_MISSING', `${variable}=${explicit}: not an executable file`, { hint: HINTS[name] });
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    // Relative PATH entries (e.g. ".") are ignored: they depend on the working directory.
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw new FusemlError('TOOL_MISSING', `${name} not found (${variable} is not set and ${name} is not on PATH)`, {
    hint: HINTS[name],
  });
}
