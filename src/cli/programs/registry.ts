import { Command } from 'commander';

/** `fuseml-registry`: the extension registry REST service. */
export function buildRegistryProgram(): Command {
  const program = new Command('fuseml-registry')
    .description('FuseML extension registry: stores extensions, services, endpoints and credentials behind a REST API.')
    .showHelpAfterError();
  return program;
}
