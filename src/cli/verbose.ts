/** --verbose (anywhere on the command line) or FUSEML_VERBOSE=1: stack traces and debug detail. */
export function isVerbose(argv: readonly string[]): boolean {
  return argv.includes('--verbose') || process.env.FUSEML_VERBOSE === '1';
}

/**
 * With --verbose, stack traces point into src/ through the bundle's source maps. Node reads a
 * module's map only if source maps are on when the module loads, so the bins call this first
 * and load everything else after it (reading the maps costs start-up time: only when asked).
 */
export function sourceMapsIfVerbose(argv: readonly string[] = process.argv): void {
  if (isVerbose(argv)) process.setSourceMapsEnabled(true);
}
