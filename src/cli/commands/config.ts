/** Implementations of `fuseml config …`. */
import { FusemlError } from '../../core/errors.js';
import { MASK } from '../../core/redact.js';
import { configFile, readConfig, registrySettings, writeConfig, type RegistryFlags } from '../config.js';
import { parseFormat, printResult, renderData } from '../output.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export async function viewConfig(flags: RegistryFlags, output: string): Promise<void> {
  const file = configFile();
  const config = await readConfig(file);
  const masked = {
    ...(config['current-context'] ? { 'current-context': config['current-context'] } : {}),
    contexts: Object.fromEntries(Object.entries(config.contexts).map(([n, c]) => [n, { ...c, ...(c['registry-token'] ? { 'registry-token': MASK } : {}) }])),
  };
  const s = await registrySettings(flags);
  const view = { file, config: masked, effective: { 'registry-url': `${s.url} (${s.urlFrom})`, 'registry-token': s.token ? `${MASK} (${s.tokenFrom})` : 'none' } };
  const format = parseFormat(output);
  process.stdout.write(await renderData(view, format === 'json' ? 'json' : 'yaml'));
}

export async function getContexts(output: string): Promise<void> {
  const config = await readConfig();
  const rows = Object.entries(config.contexts).map(([name, c]) => ({ current: name === config['current-context'], name, registryUrl: c['registry-url'] ?? '', token: c['registry-token'] ? 'yes' : 'no' }));
  await printResult(parseFormat(output), rows, rows, [
    { header: 'current', get: (r) => (r.current ? '*' : '') },
    { header: 'name', get: (r) => r.name },
    { header: 'registry-url', get: (r) => r.registryUrl },
    { header: 'token', get: (r) => r.token },
  ], `No contexts in ${configFile()} (add one: fuseml config set-context NAME --registry-url URL).`);
}

export async function useContext(name: string): Promise<void> {
  const file = configFile();
  const config = await readConfig(file);
  if (!config.contexts[name]) throw new FusemlError('NOT_FOUND', `no context "${name}" in ${file}`, { hint: `contexts: ${Object.keys(config.contexts).join(', ') || 'none'}` });
  config['current-context'] = name;
  await writeConfig(config, file);
  process.stdout.write(`current context: ${name}\n`);
}

export async function setContext(name: string, o: { registryUrl?: unknown; registryTokenEnv?: unknown; unsetToken?: unknown; current?: unknown }): Promise<void> {
  if (!NAME.test(name)) throw new FusemlError('USAGE', `context name "${name}": letters, digits, . _ - (at most 63)`);
  const file = configFile();
  const config = await readConfig(file);
  const c = { ...(config.contexts[name] ?? {}) };
  if (typeof o.registryUrl === 'string') {
    try {
      const u = new URL(o.registryUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new FusemlError('USAGE', `--registry-url ${o.registryUrl}: not an http(s) URL`);
    }
    c['registry-url'] = o.registryUrl;
  }
  if (typeof o.registryTokenEnv === 'string') {
    const v = process.env[o.registryTokenEnv];
    if (!v) throw new FusemlError('USAGE', `--registry-token-env ${o.registryTokenEnv}: that environment variable is not set`);
    c['registry-token'] = v;
  }
  if (o.unsetToken) delete c['registry-token'];
  config.contexts[name] = c;
  if (o.current || !config['current-context']) config['current-context'] = name;
  await writeConfig(config, file);
  process.stdout.write(`context ${name} saved in ${file}${config['current-context'] === name ? ' (current)' : ''}\n`);
}
