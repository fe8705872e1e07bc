#!/usr/bin/env node
import { runCli } from '../run.js';
import { buildRegistryProgram } from '../programs/registry.js';

await runCli(buildRegistryProgram());
