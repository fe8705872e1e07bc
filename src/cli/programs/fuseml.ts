import { Command, Option } from 'commander';
import { extensionCommand } from '../commands/extension-cli.js';
import { workflowCommand } from '../commands/workflow-cli.js';

/**
 * Command groups of `fuseml`, each a function returning a commander Command
 * (light: implementations are imported inside the actions). Add a group here.
 */
export const fusemlCommandGroups: Array<() => Command> = [extensionCommand, workflowCommand];

/** `fuseml`: the data scientists' client of the extension registry. */
export function buildFusemlProgram(): Command {
  const program = new Command('fuseml')
    .description('FuseML client: list the extensions registered for your workflows and resolve workflow requirements.')
    .addOption(new Option('--url <url>', 'extension registry URL').env('FUSEML_SERVER_URL').default('http://127.0.0.1:8000'))
    .addOption(new Option('--token <token>', 'bearer token (prefer the env var: arguments show in ps)').env('FUSEML_TOKEN'))
    .option('--timeout <seconds>', 'per-request timeout', '10')
    .showHelpAfterError();
  for (const group of fusemlCommandGroups) program.addCommand(group());
  return program;
}
