/** Default locations of the registry's files. */
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(base, 'fuseml');
}

/** `$XDG_DATA_HOME/fuseml/registry.db`, or `~/.local/share/fuseml/registry.db`. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultDataDir(env), 'registry.db');
}

/** The key file sits next to the database unless configured: `<db dir>/registry.key`. */
export function defaultKeyFile(dbPath: string): string {
  return join(dirname(dbPath), 'registry.key');
}
