import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'hack/', 'extensions/**/chart/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // One exec module: only src/exec may spawn processes.
      'no-restricted-imports': ['error', {
        paths: [
          { name: 'child_process', message: 'Use src/exec (argument arrays, timeout, cancellation, redaction).' },
          { name: 'node:child_process', message: 'Use src/exec (argument arrays, timeout, cancellation, redaction).' },
        ],
      }],
    },
  },
  {
    files: ['src/exec/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
