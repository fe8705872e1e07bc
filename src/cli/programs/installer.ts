import { Command, Option } from 'commander';
import { outputOption } from '../output.js';
import { addDoctorCommand } from './installer-doctor.js';
import { addLifecycleCommands } from './installer-lifecycle.js';
import { addRegistrationCommands } from './installer-registration.js';

/** `fuseml-installer`: installs, registers and uninstalls extensions. */
export function buildInstallerProgram(): Command {
  const program = new Command('fuseml-installer')
    .description('Install 3rd-party tools (MLflow, Seldon Core, KServe, S3) for FuseML on Kubernetes and register them in the extension registry.')
    .option('--extensions-repository <dir>', 'a folder holding one sub-folder per extension, added to the shipped extensions and $FUSEML_EXTENSIONS_PATH (repeatable; a later folder wins by name, with a notice)', (v: string, prev: string[] = []) => [...prev, v])
    .showHelpAfterError();

  const extensions = program
    .command('extensions')
    .description('work with the extensions available in the repository');

  extensions
    .command('list')
    .description('list the extensions available in the repository')
    .addOption(outputOption())
    .action(async (opts: { output: string }, cmd: Command) => {
      const { listExtensions } = await import('../commands/extensions.js');
      await listExtensions(cmd.optsWithGlobals(), opts.output);
    });

  extensions
    .command('describe')
    .description('show one extension: parameters, steps, outputs and what it registers')
    .argument('<name>', 'extension name')
    .addOption(outputOption('yaml'))
    .action(async (name: string, opts: { output: string }, cmd: Command) => {
      const { describeExtension } = await import('../commands/extensions.js');
      await describeExtension(cmd.optsWithGlobals(), name, opts.output);
    });

  extensions
    .command('validate')
    .description('validate extension folders (default: every extension in the repository); reports every problem at once')
    .argument('[path...]', 'extension folders, or files inside them')
    .option('--strict', 'warnings (near-miss file names, unused parameters, parameters that never get a value, unpinned charts) fail too')
    .action(async (paths: string[], opts: { strict?: boolean }, cmd: Command) => {
      const { validateExtensions } = await import('../commands/extensions.js');
      await validateExtensions(cmd.optsWithGlobals(), paths, opts);
    });

  extensions
    .command('init')
    .description('write a new extension folder (descriptor with a schema modeline, registration manifest, values, README; a chart or manifests); never overwrites')
    .argument('<name>', 'extension name (a DNS-1123 label)')
    .addOption(new Option('--from <kind>', 'what it installs: an upstream chart from a helm repository, our own chart in chart/, or manifests in manifests/').choices(['helm-repo', 'chart-dir', 'manifests']).default('helm-repo'))
    .option('--dir <path>', 'the folder to create (default: ./NAME); must not exist')
    .option('--chart <repo-url/name>', 'helm-repo: the chart, as REPO_URL/CHART (https:// or oci://)')
    .option('--version <version>', 'helm-repo: the chart version to pin')
    .option('--schema-base <url>', 'base URL of the JSON Schemas in the modelines (default: the schemas shipped with this installer, as a file:// URL)')
    .action(async (name: string, opts: Record<string, string>) => {
      const { initExtension } = await import('../commands/extensions-init.js');
      await initExtension(name, opts);
    });

  // install / uninstall / status / extensions sync, and FuseML's `extensions --add/--remove/--list`.
  addLifecycleCommands(program, extensions);
  // extensions register / unregister: manual registration of externally installed tools.
  addRegistrationCommands(program, extensions);
  // doctor: drift between install records, helm, the cluster and the registry.
  addDoctorCommand(program);
  return program;
}
