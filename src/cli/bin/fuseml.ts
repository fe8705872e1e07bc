#!/usr/bin/env node
import { runCli } from '../run.js';
import { buildFusemlProgram } from '../programs/fuseml.js';

await runCli(buildFusemlProgram());
