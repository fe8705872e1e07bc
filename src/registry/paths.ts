/** Default locations of the registry's files. */
import { xdgDir } from '../core/xdg.js';
import { dirname, join } from 'node:path';

/** `$XDG_DATA_HOME/fuseml/registry.db`, or `~/.local/share/fuseml/registry.db`. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(xdgDir('data', env), 'registry.db');
}

/** The key file sits next to the database unless configured: `<db dir>/registry.key`. */
export function defaultKeyFile(dbPath: string): string {
  return join(dirname(dbPath), 'registry.key');
}
