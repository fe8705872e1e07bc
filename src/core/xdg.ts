/**
 * The user's fuseml folders, by the XDG base-directory rules: `$XDG_<KIND>_HOME/fuseml` when that variable
 * holds an absolute path, else the XDG default under the home folder. Pure: the environment and home folder are
 * arguments (defaulting to the process's).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export type XdgKind = 'config' | 'data' | 'state' | 'cache';

const VARIABLE: Record<XdgKind, string> = { config: 'XDG_CONFIG_HOME', data: 'XDG_DATA_HOME', state: 'XDG_STATE_HOME', cache: 'XDG_CACHE_HOME' };
const DEFAULT: Record<XdgKind, string[]> = { config: ['.config'], data: ['.local', 'share'], state: ['.local', 'state'], cache: ['.cache'] };

/** `$XDG_<KIND>_HOME/fuseml`, else `~/.config|.local/share|.local/state|.cache/fuseml`. */
export function xdgDir(kind: XdgKind, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const value = env[VARIABLE[kind]];
  const base = value !== undefined && value.startsWith('/') ? value : join(home, ...DEFAULT[kind]);
  return join(base, 'fuseml');
}

/** The installer's state folder (journal, locks): $FUSEML_STATE_DIR, else the XDG state folder. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FUSEML_STATE_DIR || xdgDir('state', env);
}

/** The user's fuseml config folder: $FUSEML_CONFIG_DIR, else $XDG_CONFIG_HOME/fuseml, else ~/.config/fuseml. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FUSEML_CONFIG_DIR || xdgDir('config', env);
}
