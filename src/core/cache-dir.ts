/**
 * Where the CLIs keep their caches (the validated-repository cache, V8's compile cache):
 * $XDG_CACHE_HOME/fuseml-installer (an absolute XDG_CACHE_HOME only, as the XDG spec says),
 * else ~/.cache/fuseml-installer. Nothing there is needed: deleting it only costs time.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheHome(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'fuseml-installer');
}
