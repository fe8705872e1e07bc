#!/usr/bin/env node
import { runCli } from '../run.js';
import { buildInstallerProgram } from '../programs/installer.js';

await runCli(buildInstallerProgram(), process.argv, {
  toolVersions: async () => (await import('../commands/tool-versions.js')).installerToolVersions(),
});
