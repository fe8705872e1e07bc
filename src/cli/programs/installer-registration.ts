import type { Command } from 'commander';

/** extensions register / unregister (manual registration of external installs). */
export function addRegistrationCommands(_program: Command, _extensions: Command): void {}
