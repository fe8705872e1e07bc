import type { Command } from 'commander';

/** install, uninstall, status, extensions sync (the installer engine). */
export function addLifecycleCommands(_program: Command, _extensions: Command): void {}
