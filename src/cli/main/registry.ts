/**
 * What `fuseml-registry` loads after turning source maps on (../bin/fuseml-registry.ts): the runner and the
 * program builder, in one dynamic import, so the bundle makes them one file with what they
 * share (scripts/bundle.mjs).
 */
export { runCli } from '../run.js';
export { buildRegistryProgram } from '../programs/registry.js';
