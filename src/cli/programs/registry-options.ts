import { Option, type Command } from 'commander';
import { DEFAULT_REGISTRY_URL } from '../../registry/defaults.js';

/**
 * The registry settings, named the same in the three CLIs (src/cli/config.ts resolves them:
 * flag > env FUSEML_SERVER_URL / FUSEML_TOKEN > config file context > default). The old names
 * --url / --token stay as hidden aliases.
 */
export function registryConnectionOptions(cmd: Command, tokenRole = 'a token'): Command {
  return cmd
    .addOption(new Option('--registry-url <url>', `extension registry URL (env FUSEML_SERVER_URL; else the config file context; default ${DEFAULT_REGISTRY_URL})`))
    .addOption(new Option('--registry-token <token>', `${tokenRole} for the registry (prefer env FUSEML_TOKEN or the config file: arguments show in ps)`))
    .addOption(new Option('--url <url>', 'alias of --registry-url').hideHelp())
    .addOption(new Option('--token <token>', 'alias of --registry-token').hideHelp());
}

export const REGISTRY_SETTINGS_HELP = `
Registry settings (the same for fuseml and fuseml-installer; flag > env > config file > default):
  --registry-url / FUSEML_SERVER_URL, --registry-token / FUSEML_TOKEN, else the current context of
  ~/.config/fuseml/config.yaml (see: fuseml config --help). Old names --url, --token, FUSEML_REGISTRY_URL,
  FUSEML_REGISTRY_TOKEN still work.
`;
