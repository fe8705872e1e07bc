import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// One exec module: only src/exec may spawn processes.
const EXEC_ONLY = [
  { name: 'child_process', message: 'Use src/exec (argument arrays, timeout, cancellation, redaction).' },
  { name: 'node:child_process', message: 'Use src/exec (argument arrays, timeout, cancellation, redaction).' },
];
// The Kubernetes client library stays inside src/kube: everything else uses src/kube's plain types.
const KUBE_ONLY = 'Only src/kube may use @kubernetes/client-node; use src/kube\'s client and plain types.';
const KUBE_IMPORT = ['@kubernetes/client-node', '@kubernetes/client-node/*'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'hack/', 'extensions/**/chart/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: EXEC_ONLY, patterns: [{ group: KUBE_IMPORT, message: KUBE_ONLY }] }],
      // import('@kubernetes/client-node') as a value or a type is an import too.
      'no-restricted-syntax': ['error',
        { selector: "ImportExpression[source.value=/^@kubernetes\\/client-node/]", message: KUBE_ONLY },
        { selector: "TSImportType[argument.literal.value=/^@kubernetes\\/client-node/]", message: KUBE_ONLY },
      ],
    },
  },
  {
    files: ['src/exec/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: KUBE_IMPORT, message: KUBE_ONLY }] }] },
  },
  {
    files: ['src/kube/**'],
    rules: { 'no-restricted-imports': ['error', { paths: EXEC_ONLY }], 'no-restricted-syntax': 'off' },
  },
);
