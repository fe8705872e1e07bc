import { Command } from 'commander';
import { outputOption } from '../output.js';
import { addDoctorCommand } from './installer-doctor.js';
import { addLifecycleCommands } from './installer-lifecycle.js';
import { addRegistrationCommands } from './installer-registration.js';

/** `fuseml-installer`: installs, registers and uninstalls extensions. */
export function buildInstallerProgram(): Command {
  const program = new Command('fuseml-installer')
    .description('Install 3rd-party tools (MLflow, Seldon Core, KServe, S3) for FuseML on Kubernetes and register them in the extension registry.')
    .option('--extensions-repository <dir>', 'folder holding one sub-folder per extension (default: the extensions/ shipped with the installer)')
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
    .action(async (paths: string[], _opts: unknown, cmd: Command) => {
      const { validateExtensions } = await import('../commands/extensions.js');
      await validateExtensions(cmd.optsWithGlobals(), paths);
    });

  // install / uninstall / status / extensions sync, and FuseML's `extensions --add/--remove/--list`.
  addLifecycleCommands(program, extensions);
  // extensions register / unregister: manual registration of externally installed tools.
  addRegistrationCommands(program, extensions);
  // doctor: drift between install records, helm, the cluster and the registry.
  addDoctorCommand(program);
  return program;
}
