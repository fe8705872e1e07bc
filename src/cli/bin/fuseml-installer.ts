#!/usr/bin/env node
import { sourceMapsIfVerbose } from '../verbose.js';

// Everything else is loaded after this (see ../verbose.ts).
sourceMapsIfVerbose();
const [{ runCli }, { buildInstallerProgram }] = await Promise.all([import('../run.js'), import('../programs/installer.js')]);
await runCli(buildInstallerProgram(), process.argv, {
  toolVersions: async () => (await import('../commands/tool-versions.js')).installerToolVersions(),
});
