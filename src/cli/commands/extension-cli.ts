/**
 * The `fuseml extension …` command tree (commander only; the work is in
 * ./extension.ts, loaded when a command runs). Mirrors fuseml-core's CLI verbs.
 */
import { Command, Option } from 'commander';
import { lazyAction, type Opts } from '../lazy.js';
import { outputOption } from '../output.js';

type Impl = typeof import('./extension.js');

const act = <A extends unknown[]>(fn: (impl: Impl, globals: Opts, ...args: A) => Promise<void>) =>
  lazyAction(() => import('./extension.js'), fn);

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const config = (what: string): Option =>
  new Option('-c, --configuration <KEY=VALUE>', `${what} configuration entry, KEY=VALUE or KEY:VALUE (repeatable)`).argParser(collect);
const desc = (): Option => new Option('--desc, --description <text>', 'description');
/**
 * --if-match of a command writing `what`, whose revision `read` shows (a record's revision is sent only in its own
 * representation: an extension's output shows none for its services, endpoints and credentials).
 */
const ifMatch = (what: string, read: string): Option =>
  new Option('--if-match <revision>', `fail (412) unless the ${what} is still at this revision (its \`revision\`, shown by \`${read}\`)`);
const IF_MATCH = {
  extension: (): Option => ifMatch('extension', 'fuseml extension get ID'),
  service: (): Option => ifMatch('service', 'fuseml extension service get EXT SVC'),
  endpoint: (): Option => ifMatch('endpoint', 'fuseml extension endpoint get EXT SVC URL'),
  credentials: (): Option => ifMatch('credentials', 'fuseml extension credentials get EXT SVC ID'),
};
const showSecrets = (): Option => new Option('--show-secrets', 'show credential values (the token must be allowed to see them)');
const file = (what: string): Option => new Option('-f, --file <file>', `${what} as YAML or JSON ("-": stdin)`);

export function extensionCommand(): Command {
  const ext = new Command('extension').alias('extensions').description('list and manage the extensions registered in the FuseML extension registry');

  ext
    .command('list')
    .description('list registered extensions, optionally filtered (a query)')
    .option('--id <id>', 'extension id')
    .option('-p, --product <product>', 'product, e.g. mlflow')
    .option('--version <version>', 'a version (1.19.2), a partial version (1.19 means 1.19.x) or a semver range such as ">=1.0,<1.1"; malformed: exit 3')
    .option('-z, --zone <zone>', 'zone')
    .option('--service-id <id>', 'service id')
    .option('-r, --service-resource <resource>', 'service resource, e.g. s3')
    .option('-c, --service-category <category>', 'service category, e.g. model-store')
    .addOption(
      new Option('--server-kind <kind>', 'how to send the query: fuseml-registry (query parameters), fuseml-core (a JSON body of the GET), auto (detected on the first call)')
        .choices(['auto', 'fuseml-core', 'fuseml-registry'])
        .env('FUSEML_SERVER_KIND')
        .default('auto'),
    )
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
    .addOption(IF_MATCH.extension())
    .addOption(outputOption())
    .action(act((i, g) => i.registerExtension(g)));

  ext
    .command('add')
    .description('register an extension from flags (no services; add them with `extension service add`)')
    .option('--id <id>', 'extension id (generated when absent)')
    .option('-p, --product <product>')
    .option('--version <version>')
    .addOption(desc())
    .option('-z, --zone <zone>')
    .addOption(config('extension'))
    .addOption(outputOption())
    .action(act((i, g) => i.addExtension(g)));

  ext
    .command('update')
    .description('update top-level fields of an extension (product, version, description, zone, configuration, status)')
    .argument('<id>', 'extension id')
    .addOption(file('the fields to change'))
    .option('-p, --product <product>')
    .option('--version <version>')
    .addOption(desc())
    .option('-z, --zone <zone>')
    .addOption(config('extension'))
    .addOption(IF_MATCH.extension())
    .addOption(outputOption())
    .action(act((i, g, id: string) => i.updateExtension(g, id)));

  ext
    .command('delete')
    .alias('deregister')
    .description('delete an extension and everything registered under it')
    .argument('<id>', 'extension id')
    .addOption(IF_MATCH.extension())
    .action(act((i, g, id: string) => i.deleteExtension(g, id)));

  const service = ext.command('service').alias('services').description('services of an extension');
  service
    .command('add')
    .description('add a service to an extension')
    .argument('<extension-id>')
    .addOption(file('the service record'))
    .option('--id <id>', 'service id (generated when absent)')
    .option('-r, --resource <resource>', 'e.g. mlflow-tracking, s3')
    .option('--category <category>', 'e.g. experiment-tracking, model-store')
    .addOption(desc())
    .option('--auth-required', 'clients must use credentials')
    .option('--default', 'the default instance of its product for this resource (clears the mark elsewhere)')
    .addOption(config('service'))
    .addOption(outputOption())
    .action(act((i, g, e: string) => i.addService(g, e)));
  service
    .command('update')
    .description('update fields of a service')
    .argument('<extension-id>')
    .argument('<service-id>')
    .addOption(file('the fields to change'))
    .option('-r, --resource <resource>')
    .option('--category <category>')
    .addOption(desc())
    .addOption(new Option('--auth-required <bool>', 'clients must use credentials').choices(['true', 'false']))
    .addOption(new Option('--default <bool>', 'the default instance of its product for this resource (true clears the mark elsewhere)').choices(['true', 'false']))
    .addOption(config('service'))
    .addOption(IF_MATCH.service())
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string) => i.updateService(g, e, s)));
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
    .addOption(IF_MATCH.service())
    .action(act((i, g, e: string, s: string) => i.deleteService(g, e, s)));

  const endpoint = ext.command('endpoint').alias('endpoints').description('endpoints of a service');
  endpoint
    .command('add')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('[url]', 'endpoint URL (or in the -f file)')
    .addOption(file('the endpoint record'))
    .addOption(new Option('-t, --type <type>', 'internal (in-cluster) or external').choices(['internal', 'external']))
    .addOption(config('endpoint'))
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string, u: string | undefined) => i.addEndpoint(g, e, s, u)));
  endpoint
    .command('update')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('<url>')
    .addOption(file('the fields to change'))
    .addOption(new Option('-t, --type <type>').choices(['internal', 'external']))
    .addOption(config('endpoint'))
    .addOption(IF_MATCH.endpoint())
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string, u: string) => i.updateEndpoint(g, e, s, u)));
  endpoint
    .command('list')
    .argument('<extension-id>')
    .argument('<service-id>')
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string) => i.listEndpoints(g, e, s)));
  endpoint
    .command('get')
    .description('show one endpoint (with its revision, for --if-match)')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('<url>')
    .addOption(outputOption('yaml'))
    .action(act((i, g, e: string, s: string, u: string) => i.getEndpoint(g, e, s, u)));
  endpoint
    .command('delete')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('<url>')
    .addOption(IF_MATCH.endpoint())
    .action(act((i, g, e: string, s: string, u: string) => i.deleteEndpoint(g, e, s, u)));

  const creds = ext.command('credentials').alias('credential').description('credentials of a service (values never on the command line: use -f or --from-env)');
  const credOptions = (c: Command): Command =>
    c
      .addOption(new Option('--scope <scope>', 'who may use them').choices(['global', 'project', 'user']))
      .option('--project <project>', 'project allowed to use them (repeatable, or comma-separated)', collect)
      .option('--user <user>', 'user allowed to use them (repeatable, or comma-separated)', collect)
      .option('--default', 'the default credentials of the service')
      .option('--from-env <KEY[=VAR]>', 'configuration KEY from the env var VAR (default: KEY) (repeatable)', collect);
  credOptions(
    creds
      .command('add')
      .argument('<extension-id>')
      .argument('<service-id>')
      .addOption(file('the credentials record'))
      .option('--id <id>', 'credentials id (generated when absent)'),
  )
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string) => i.addCredentials(g, e, s)));
  credOptions(
    creds
      .command('update')
      .argument('<extension-id>')
      .argument('<service-id>')
      .argument('<credentials-id>')
      .addOption(file('the fields to change')),
  )
    .addOption(IF_MATCH.credentials())
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string, c: string) => i.updateCredentials(g, e, s, c)));
  creds
    .command('list')
    .argument('<extension-id>')
    .argument('<service-id>')
    .addOption(showSecrets())
    .addOption(outputOption())
    .action(act((i, g, e: string, s: string) => i.listCredentials(g, e, s)));
  creds
    .command('get')
    .description('show one credential set (with its revision, for --if-match); values hidden unless --show-secrets')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('<credentials-id>')
    .addOption(showSecrets())
    .addOption(outputOption('yaml'))
    .action(act((i, g, e: string, s: string, c: string) => i.getCredentials(g, e, s, c)));
  creds
    .command('delete')
    .argument('<extension-id>')
    .argument('<service-id>')
    .argument('<credentials-id>')
    .addOption(IF_MATCH.credentials())
    .action(act((i, g, e: string, s: string, c: string) => i.deleteCredentials(g, e, s, c)));

  return ext;
}
