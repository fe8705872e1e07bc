/** `fuseml config …`: named contexts of registry settings in ~/.config/fuseml/config.yaml (light: loaded lazily). */
import { Command } from 'commander';
import { DEFAULT_REGISTRY_URL } from '../../registry/defaults.js';
import { outputOption } from '../output.js';

const HELP = `
The config file: $FUSEML_CONFIG, else $XDG_CONFIG_HOME/fuseml/config.yaml, else ~/.config/fuseml/config.yaml.
It is read by fuseml and fuseml-installer alike. Precedence: flag > env > config file > default:
  registry URL:   --registry-url > FUSEML_SERVER_URL > FUSEML_REGISTRY_URL > context registry-url > ${DEFAULT_REGISTRY_URL}
  registry token: --registry-token > FUSEML_TOKEN > FUSEML_REGISTRY_TOKEN > context registry-token
FUSEML_CONTEXT=NAME picks a context for one command. A file holding a token must be mode 0600 (it is
written so); tokens are never printed (config view masks them).

Examples:
  $ fuseml config set-context dev --registry-url ${DEFAULT_REGISTRY_URL} --registry-token-env FUSEML_DEV_TOKEN
  $ fuseml config set-context prod --registry-url https://registry.example.com
  $ fuseml config use-context prod
  $ fuseml config get-contexts
  $ fuseml config view
`;

export function configCommand(): Command {
  const config = new Command('config').description('named registry contexts in the config file shared by fuseml and fuseml-installer').addHelpText('after', HELP);
  config
    .command('view')
    .description('print the config file (tokens masked) and the settings in effect, with where each comes from')
    .addOption(outputOption('yaml'))
    .action(async (o: { output: string }, cmd: Command) => {
      const { viewConfig } = await import('./config.js');
      await viewConfig(cmd.optsWithGlobals(), o.output);
    });
  config
    .command('get-contexts')
    .description('list the contexts; * marks the current one')
    .addOption(outputOption())
    .action(async (o: { output: string }) => {
      const { getContexts } = await import('./config.js');
      await getContexts(o.output);
    });
  config
    .command('use-context')
    .description('make a context the current one')
    .argument('<name>')
    .action(async (name: string) => {
      const { useContext } = await import('./config.js');
      await useContext(name);
    });
  config
    .command('set-context')
    .description('create or update a context (only the settings given change)')
    .argument('<name>')
    .option('--registry-url <url>', 'registry URL of this context')
    .option('--registry-token-env <VAR>', 'store the token read from this environment variable (never put a token on the command line)')
    .option('--unset-token', 'remove the stored token')
    .option('--current', 'also make it the current context')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { setContext } = await import('./config.js');
      // --registry-url is also fuseml's global flag: read it wherever commander put it.
      await setContext(name, cmd.optsWithGlobals());
    });
  return config;
}
