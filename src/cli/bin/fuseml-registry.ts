#!/usr/bin/env node
import { prepareStart } from '../startup.js';

// Everything else is loaded after this (see ../startup.ts).
prepareStart();
const { runCli, buildRegistryProgram } = await import('../main/registry.js');
await runCli(buildRegistryProgram());
