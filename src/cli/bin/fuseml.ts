#!/usr/bin/env node
import { prepareStart } from '../startup.js';

// Everything else is loaded after this (see ../startup.ts).
prepareStart();
const { runCli, buildFusemlProgram } = await import('../main/fuseml.js');
await runCli(buildFusemlProgram());
