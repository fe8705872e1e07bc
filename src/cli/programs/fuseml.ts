import { Command } from 'commander';
import { configCommand } from '../commands/config-cli.js';
import { registryConnectionOptions, REGISTRY_SETTINGS_HELP } from './registry-options.js';
import { extensionCommand } from '../commands/extension-cli.js';
import { workflowCommand } from '../commands/workflow-cli.js';

/**
 * Command groups of `fuseml`, each a function returning a commander Command
 * (light: implementations are imported inside the actions). Add a group here.
 */
export const fusemlCommandGroups: Array<() => Command> = [extensionCommand, workflowCommand, configCommand];

/** `fuseml`: the data scientists' client of the extension registry. */
export function buildFusemlProgram(): Command {
  const program = new Command('fuseml')
    .description('FuseML client: list the extensions registered for your workflows and resolve workflow requirements.')
    .option('--timeout <seconds>', 'per-request timeout', '10')
    .addHelpText('after', REGISTRY_SETTINGS_HELP)
    .showHelpAfterError();
  registryConnectionOptions(program);
  for (const group of fusemlCommandGroups) program.addCommand(group());
  return program;
}
