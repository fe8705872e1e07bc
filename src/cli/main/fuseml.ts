/**
 * What `fuseml` loads after turning source maps on (../bin/fuseml.ts): the runner and the
 * program builder, in one dynamic import, so the bundle makes them one file with what they
 * share (scripts/bundle.mjs).
 */
export { runCli } from '../run.js';
export { buildFusemlProgram } from '../programs/fuseml.js';
