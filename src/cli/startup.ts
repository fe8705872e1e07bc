/**
 * What the bins do before loading anything else (src/cli/bin/*.ts): the rest of the CLI is
 * imported after this, so these settings apply to all of it.
 */
import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { cacheHome } from '../core/cache-dir.js';

/** --verbose (anywhere on the command line) or FUSEML_VERBOSE=1: stack traces and debug detail. */
export function isVerbose(argv: readonly string[]): boolean {
  return argv.includes('--verbose') || process.env.FUSEML_VERBOSE === '1';
}

/**
 * - With --verbose, stack traces point into src/ through the bundle's source maps. Node reads a
 *   module's map only if source maps are on when the module loads (and reading them costs
 *   start-up time: only when asked).
 * - On a Node that has it (22.1 and later; not 20), V8's compile cache for the bundle, under
 *   $XDG_CACHE_HOME/fuseml-installer/v8 (FUSEML_NO_CACHE=1: off).
 */
export function prepareStart(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): void {
  if (isVerbose(argv)) process.setSourceMapsEnabled(true);
  const enable = (nodeModule as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (typeof enable === 'function' && env.FUSEML_NO_CACHE !== '1') {
    try {
      enable(join(cacheHome(env), 'v8'));
    } catch {
      // No cache is only slower.
    }
  }
}
