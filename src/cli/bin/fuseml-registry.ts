#!/usr/bin/env node
import { sourceMapsIfVerbose } from '../verbose.js';

// Everything else is loaded after this (see ../verbose.ts).
sourceMapsIfVerbose();
const [{ runCli }, { buildRegistryProgram }] = await Promise.all([import('../run.js'), import('../programs/registry.js')]);
await runCli(buildRegistryProgram());
