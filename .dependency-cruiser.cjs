/**
 * Import rules checked by `npm run lint` (and so in CI): no import cycle between the folders of src/
 * (dependency direction cli → installer/registry → descriptor/steps/kube/exec → core). Module-level
 * cycles inside one folder are allowed; a cycle that crosses folders is not.
 */
// eslint-disable-next-line no-undef -- a CommonJS config file (dependency-cruiser's format)
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment: 'Folders of src/ must not import each other in a cycle: move the shared type or function to the folder both may depend on.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules|test|bench)/' },
  },
};
