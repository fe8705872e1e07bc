/**
 * What `fuseml-installer` loads after turning source maps on (../bin/fuseml-installer.ts): the runner and the
 * program builder, in one dynamic import, so the bundle makes them one file with what they
 * share (scripts/bundle.mjs).
 */
export { runCli } from '../run.js';
export { buildInstallerProgram } from '../programs/installer.js';

/** `fuseml-installer version`: the versions of the tools it runs (helm, kubectl), loaded only by that command. */
export const toolVersions = async (): Promise<Record<string, string>> => (await import('../commands/tool-versions.js')).installerToolVersions();
