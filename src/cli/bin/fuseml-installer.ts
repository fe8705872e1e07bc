#!/usr/bin/env node
import { prepareStart } from '../startup.js';

// Everything else is loaded after this (see ../startup.ts).
prepareStart();
const [{ runCli }, { buildInstallerProgram }] = await Promise.all([import('../run.js'), import('../programs/installer.js')]);
await runCli(buildInstallerProgram(), process.argv, {
  toolVersions: async () => (await import('../commands/tool-versions.js')).installerToolVersions(),
});
