#!/usr/bin/env node
import { prepareStart } from '../startup.js';

// Everything else is loaded after this (see ../startup.ts).
prepareStart();
const { runCli, buildInstallerProgram, toolVersions } = await import('../main/installer.js');
await runCli(buildInstallerProgram(), process.argv, { toolVersions });
