import { Option, type Command } from 'commander';
import { registryConnectionOptions } from './registry-options.js';
import { outputOption } from '../output.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const REGISTER_HELP = `
Values: the extension's parameters, and its outputs (what an install would read from the cluster: URLs,
keys). Sensitive ones (keys, passwords) only through --values FILE, --set-env or --set-file, never --set.
Every missing value is listed at once; "fuseml-installer extensions describe NAME" shows them.

Examples:
  $ fuseml-installer extensions register mlflow --id mlflow-dev \\
      --set trackingUrl=http://mlflow.example.com:5000 --set s3Endpoint=http://minio.example.com:9000 \\
      --set-env accessKey=MINIO_ACCESS_KEY --set-env secretKey=MINIO_SECRET_KEY
  $ fuseml-installer extensions register s3 --id aws-eu --endpoint-type external --values aws-eu.yaml
  $ fuseml-installer extensions register seldon --id seldon-prod --zone eu-1
  $ fuseml-installer extensions register gcs --id gcs-models --set bucket=models --set project=ml-prod \\
      --set-file serviceAccountKey=key.json
  $ fuseml-installer extensions register -f my-registration.yaml --set url=https://tool.example.com --dry-run

Checks (unless --no-check): MLflow tracking GET /health = 200; other http(s) endpoints answer HTTP;
in-cluster addresses are skipped. Registering an id again updates it. Exit codes: 3 invalid values or
failed check, 4 unknown extension, 9 registry unreachable.
`;

/** --registry-url / --registry-token, shared by register and unregister. */
function registryOptions(cmd: Command): Command {
  return registryConnectionOptions(cmd, 'a writer token');
}

/** extensions register / unregister (manual registration of external installs). */
export function addRegistrationCommands(_program: Command, extensions: Command): void {
  registryOptions(
    extensions
      .command('register')
      .description(
        'register an externally installed tool: render the extension\'s registration manifest from the given values, check that its endpoints answer, and create or update the record in the registry',
      )
      .argument('[name]', 'extension name or alias (or give -f FILE)')
      .option('-f, --file <file>', 'a stand-alone registration manifest (registration.yaml format) instead of an extension')
      .option('--set <key=value>', 'a parameter or output value: NAME, params.NAME or outputs.NAME (repeatable; not for sensitive values)', collect, [])
      .option('--set-env <key=ENV_VAR>', 'a value read from an environment variable (for sensitive values; repeatable)', collect, [])
      .option('--set-file <key=path>', 'a value read from a file, e.g. a JSON key file (for sensitive values; repeatable)', collect, [])
      .option('--values <file>', 'YAML mapping NAME: value (or params:/outputs: sub-mappings); repeatable, later wins', collect, [])
      .option('--id <id>', 'registry id of this instance (default: the manifest id, else the extension name)')
      .option('--zone <zone>', 'zone the instance lives in')
      .option('--namespace <ns>', 'value of {{ extension.namespace }} (default: the extension\'s namespace)')
      .addOption(new Option('--endpoint-type <type>', 'override the type of every endpoint (external: reached from outside the cluster)').choices(['internal', 'external']))
      .option('--no-check', 'do not probe the endpoints before registering')
      .option('--dry-run', 'print the record (credentials masked) instead of registering it')
      .addOption(outputOption())
      .addHelpText('after', REGISTER_HELP),
  ).action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
    const { register } = await import('../commands/register.js');
    await register(name, cmd.optsWithGlobals());
  });

  registryOptions(
    extensions
      .command('unregister')
      .description('remove a registered extension instance (and its services, endpoints and credentials) from the registry')
      .argument('<id>', 'registry id of the instance')
      .option('--ignore-missing', 'succeed when the id is not registered'),
  ).action(async (id: string, _opts: unknown, cmd: Command) => {
    const { unregister } = await import('../commands/register.js');
    await unregister(id, cmd.optsWithGlobals());
  });
}
