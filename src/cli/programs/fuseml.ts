import { Command } from 'commander';

/** `fuseml`: the data scientists' client of the extension registry. */
export function buildFusemlProgram(): Command {
  const program = new Command('fuseml')
    .description('FuseML client: list the extensions registered for your workflows and resolve workflow requirements.')
    .showHelpAfterError();
  return program;
}
