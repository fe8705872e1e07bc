#!/usr/bin/env node
// Build step: writes ajv stand-alone validators for schemas/*.schema.json into
// dist/descriptor/compiled/, so the CLI validates without compiling schemas at
// run time (about 190 ms per run). Each carries the hash of its schema; a schema
// edited without a rebuild is compiled at run time instead.
import { mkdir, writeFile } from 'node:fs/promises';
import { COMPILED_DIR, SCHEMA_NAMES, standaloneValidator } from '../dist/descriptor/schema.js';

await mkdir(COMPILED_DIR, { recursive: true });
for (const name of SCHEMA_NAMES) await writeFile(`${COMPILED_DIR}${name}.cjs`, standaloneValidator(name));
