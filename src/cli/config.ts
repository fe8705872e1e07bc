/**
 * One configuration for the three CLIs: where the registry is and the token to use.
 *
 * Precedence: flag > environment > config file context > default.
 *   URL:   --registry-url (alias --url) > FUSEML_SERVER_URL > FUSEML_REGISTRY_URL > context `registry-url` > http://127.0.0.1:8000
 *   token: --registry-token (alias --token) > FUSEML_TOKEN > FUSEML_REGISTRY_TOKEN > context `registry-token`
 *
 * The config file ($FUSEML_CONFIG, else $XDG_CONFIG_HOME/fuseml/config.yaml, else ~/.config/fuseml/config.yaml)
 * holds named contexts; `current-context` (or $FUSEML_CONTEXT) picks one:
 *
 *   current-context: dev
 *   contexts:
 *     dev:  { registry-url: http://127.0.0.1:8000, registry-token: … }
 *     prod: { registry-url: https://registry.example.com }
 *
 * A file holding a token must be readable by its owner only (0600): otherwise it is refused.
 */
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { FusemlError } from '../core/errors.js';
import { configDir } from '../core/xdg.js';
import { DEFAULT_REGISTRY_URL } from '../registry/defaults.js';


export interface RegistryContext {
  'registry-url'?: string | undefined;
  'registry-token'?: string | undefined;
}

export interface ConfigFile {
  'current-context'?: string | undefined;
  contexts: Record<string, RegistryContext>;
}

export interface RegistryFlags {
  registryUrl?: string | undefined;
  registryToken?: string | undefined;
  /** Old names (fuseml's --url / --token), kept as aliases. */
  url?: string | undefined;
  token?: string | undefined;
}

export interface RegistrySettings {
  url: string;
  token: string | undefined;
  /** Where each came from: `flag --registry-url`, `env FUSEML_SERVER_URL`, `config context dev`, `default`. */
  urlFrom: string;
  tokenFrom: string | undefined;
  /** The config context used, if any. */
  context: string | undefined;
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.FUSEML_CONFIG || join(configDir(env), 'config.yaml');
}

const EMPTY: ConfigFile = { contexts: {} };

/** Reads the config file (absent: empty). Refuses a file holding a token that group or others may read. */
export async function readConfig(file: string = configFile()): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: {} };
    throw new FusemlError('USAGE', `cannot read the config file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, maxAliasCount: 50 });
  } catch (e) {
    const pos = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    throw new FusemlError('VALIDATION', `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML`);
  }
  if (doc === null || doc === undefined) return structuredClone(EMPTY);
  const o = doc as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) throw new FusemlError('VALIDATION', `${file}: expected a mapping with current-context and contexts`);
  const contexts = (o.contexts ?? {}) as Record<string, unknown>;
  if (typeof contexts !== 'object' || Array.isArray(contexts)) throw new FusemlError('VALIDATION', `${file}: /contexts must be a mapping NAME: { registry-url, registry-token }`);
  const out: ConfigFile = { contexts: {} };
  if (o['current-context'] !== undefined) {
    if (typeof o['current-context'] !== 'string') throw new FusemlError('VALIDATION', `${file}: /current-context must be a string`);
    out['current-context'] = o['current-context'];
  }
  let hasToken = false;
  for (const [name, raw] of Object.entries(contexts)) {
    const c = (raw ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(c)) {
      if (k !== 'registry-url' && k !== 'registry-token') throw new FusemlError('VALIDATION', `${file}: /contexts/${name}/${k}: unknown setting (known: registry-url, registry-token)`);
      if (typeof c[k] !== 'string') throw new FusemlError('VALIDATION', `${file}: /contexts/${name}/${k} must be a string`);
    }
    if (c['registry-token']) hasToken = true;
    out.contexts[name] = { 'registry-url': c['registry-url'] as string | undefined, 'registry-token': c['registry-token'] as string | undefined };
  }
  if (hasToken) {
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) {
      throw new FusemlError('USAGE', `the config file ${file} holds a registry token but others may read it (mode ${(st.mode & 0o777).toString(8)})`, { hint: `chmod 600 ${file}` });
    }
  }
  return out;
}

/** Writes the config file atomically, mode 0600 (its folder 0700). */
export async function writeConfig(config: ConfigFile, file: string = configFile()): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const clean: Record<string, unknown> = {};
  if (config['current-context']) clean['current-context'] = config['current-context'];
  clean.contexts = Object.fromEntries(Object.entries(config.contexts).map(([n, c]) => [n, Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined && v !== ''))]));
  await writeFile(tmp, stringify(clean), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** The config context in effect: $FUSEML_CONTEXT, else current-context. */
export function activeContext(config: ConfigFile, env: NodeJS.ProcessEnv = process.env): { name: string; context: RegistryContext } | undefined {
  const name = env.FUSEML_CONTEXT || config['current-context'];
  if (!name) return undefined;
  const context = config.contexts[name];
  if (!context) {
    throw new FusemlError('USAGE', `no context "${name}" in the config file${env.FUSEML_CONTEXT ? ' (FUSEML_CONTEXT)' : ''}`, {
      hint: `contexts: ${Object.keys(config.contexts).join(', ') || 'none'} (fuseml config get-contexts)`,
    });
  }
  return { name, context };
}

/** Flag > env > config file > default, with where each value came from. */
export async function registrySettings(flags: RegistryFlags, env: NodeJS.ProcessEnv = process.env, file: string = configFile(env)): Promise<RegistrySettings> {
  const pick = (candidates: [string | undefined, string][]): [string, string] | undefined => {
    for (const [v, from] of candidates) if (v !== undefined && v !== '') return [v, from];
    return undefined;
  };
  const flagUrl = pick([[flags.registryUrl, 'flag --registry-url'], [flags.url, 'flag --url'], [env.FUSEML_SERVER_URL, 'env FUSEML_SERVER_URL'], [env.FUSEML_REGISTRY_URL, 'env FUSEML_REGISTRY_URL']]);
  const flagToken = pick([[flags.registryToken, 'flag --registry-token'], [flags.token, 'flag --token'], [env.FUSEML_TOKEN, 'env FUSEML_TOKEN'], [env.FUSEML_REGISTRY_TOKEN, 'env FUSEML_REGISTRY_TOKEN']]);
  // The file is read only when flags and env leave something open.
  const ctx = flagUrl && flagToken ? undefined : activeContext(await readConfig(file), env);
  const url = flagUrl ?? pick([[ctx?.context['registry-url'], `config context ${ctx?.name ?? ''}`]]) ?? [DEFAULT_REGISTRY_URL, 'default'];
  const token = flagToken ?? pick([[ctx?.context['registry-token'], `config context ${ctx?.name ?? ''}`]]);
  return { url: url[0], urlFrom: url[1], token: token?.[0], tokenFrom: token?.[1], context: ctx?.name };
}
