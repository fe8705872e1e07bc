/**
 * The `fuseml extension …` command tree (commander only; the work is in
 * ./extension.ts, loaded when a command runs). Mirrors fuseml-core's CLI verbs.
 */
import { Command, Option } from 'commander';
import { outputOption } from '../output.js';

type Opts = Record<string, unknown>;
type Impl = typeof import('./extension.js');

function act<A extends unknown[]>(fn: (impl: Impl, globals: Opts, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const impl = await import('./extension.js');
    await fn(impl, cmd.optsWithGlobals(), ...(args.slice(0, -2) as A));
  };
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const ifMatch = (): Option => new Option('--if-match <revision>', 'fail (412) unless the record is still at this revision');
const showSecrets = (): Option => new Option('--show-secrets', 'show credential values (the token must be allowed to see them)');
const file = (what: string): Option => new Option('-f, --file <file>', `${what} as YAML or JSON ("-": stdin)`);

export function extensionCommand(): Command {
  const ext = new Command('extension').alias('extensions').description('list and manage the extensions registered in the FuseML extension registry');

  ext
    .command('list')
    .description('list registered extensions, optionally filtered (a query)')
    .option('--id <id>', 'extension id')
    .option('--product <product>', 'product, e.g. mlflow')
    .option('--version <version>', 'exact version, or a semver range such as ">=1.0,<1.1"')
    .option('--zone <zone>', 'zone')
    .option('--service-id <id>', 'service id')
    .option('--service-resource <resource>', 'service resource, e.g. s3')
    .option('--service-category <category>', 'service category, e.g. model-store')
    .addOption(showSecrets())
    .addOption(outputOption())
    .action(act((i, g) => i.listExtensions(g)));

  ext
    .command('get')
    .description('show one extension with its services, endpoints and credentials')
    .argument('<id>', 'extension id')
    .addOption(showSecrets())
    .addOption(outputOption())
    .action(act((i, g, id: string) => i.getExtension(g, id)));

  ext
    .command('register')
    .description('register an extension record (services, endpoints and credentials included)')
    .addOption(file('the extension record').makeOptionMandatory())
    .option('--upsert', 'create or replace the whole record (idempotent) instead of failing when it exists')
    .addOption(ifMatch())
    .addOption(outputOption())
    .action(act((i, g) => i.registerExtension(g)));

  ext
    .command('update')
    .description('update top-level fields of an extension (product, version, description, zone, configuration, status)')
    .argument('<id>', 'extension id')
    .addOption(file('the fields to change'))
    .option('--product <product>')
    .option('--version <version>')
    .option('--description <text>')
    .option('--zone <zone>')
    .option('-c, --configuration <KEY=VALUE>', 'configuration entry (repeatable)', collect)
    .addOption(ifMatch())
    .addOption(outputOption())
    .action(act((i, g, id: string) => i.updateExtension(g, id)));

  ext
    .command('delete')
    .alias('deregister')
    .description('delete an extension and everything registered under it')
    .argument('<id>', 'extension id')
    .addOption(ifMatch())
    .action(act((i, g, id: string) => i.deleteExtension(g, id)));

  const service = ext.command('service').alias('services').description('services of an extension');
  service
    .command('add')
    .description('add a service to an extension')
    .argument('<extension-id>')
    .addOption(file('the service record'))
    .option('--id <id>', 'service id (generated when absent)')
    .option('--resource <resource>', 'e.g. mlflow-tracking, s3')
    .option('--category <category>', 'e.g. experiment-tracking, model-store')
    .option('--description <text>')
    .option('--auth-required', 'clients must use credentials')
    .option('-c, --configuration <KEY=VALUE>', 'configuration entry (repeatable)', collect)
    .addOption(outputOption())
    .action(act((i, g, e: string) => i.addService(g, e)));
  service
    .command('list')
    .argument('<extension-id>')
    .addOption(outputOption())
    .action(act((i, g, e: string) => i.listServices(g, e)));
  service
    .command('get')
    .argument('<extension-id>')
    .argument('<service-id>')
    .addOption(showSecrets())
    .addOption(outputOption('yaml'))
    .action(act((i, g, e: string, s: string) => i.getService(g, e, s)));
  service
    .command('delete')
    .argument('<extension-id>')
    .argument('<service-id>')
    .addOption(ifMatch())
    .action(act((i, g, e: string, s: string) => i.deleteService(g, e, s)));

  const endpoint = ext.command('endpoint').alias('endpoints').description('endpoints of a service');
  endpoint
    .command('add')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('[url]', 'endpoint URL (or in the -f file)')
    .addOption(file('the endpoint record'))
    .addOption(new Option('--type <type>', 'internal (in-cluster) or external').choices(['internal', 'external']))
    .option('-c, --configuration <KEY=VALUE>', 'configuration entry (repeatable)', collect)
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string, u: string | undefined) => i.addEndpoint(g, e, s, u)));
  endpoint
    .command('list')
    .argument('<extension-id>')
    .argument('<service-id>')
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string) => i.listEndpoints(g, e, s)));
  endpoint
    .command('delete')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('<url>')
    .addOption(ifMatch())
    .action(act((i, g, e: string, s: string, u: string) => i.deleteEndpoint(g, e, s, u)));

  const creds = ext.command('credentials').alias('credential').description('credentials of a service (values never on the command line: use -f or --from-env)');
  creds
    .command('add')
    .argument('<extension-id>')
    .argument('<service-id>')
    .addOption(file('the credentials record'))
    .option('--id <id>', 'credentials id (generated when absent)')
    .addOption(new Option('--scope <scope>', 'who may use them').choices(['global', 'project', 'user']))
    .option('--projects <list>', 'comma-separated projects (scope project)')
    .option('--users <list>', 'comma-separated users (scope user)')
    .option('--default', 'the default credentials of the service')
    .option('--from-env <KEY[=VAR]>', 'configuration KEY from the env var VAR (default: KEY) (repeatable)', collect)
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string) => i.addCredentials(g, e, s)));
  creds
    .command('list')
    .argument('<extension-id>')
    .argument('<service-id>')
    .addOption(showSecrets())
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string) => i.listCredentials(g, e, s)));
  creds
    .command('delete')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('<credentials-id>')
    .addOption(ifMatch())
    .action(act((i, g, e: string, s: string, c: string) => i.deleteCredentials(g, e, s, c)));

  return ext;
}
