// Lint: the recommended JS and TypeScript rules, plus a few that catch real mistakes in async code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.state/**', 'dist/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The console's pages: plain browser scripts sharing common.js's functions, with uPlot and dagre as globals.
    files: ['operations/console/pages/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly', document: 'readonly', fetch: 'readonly', EventSource: 'readonly', location: 'readonly', URLSearchParams: 'readonly', Intl: 'readonly', Node: 'readonly', atob: 'readonly', TextDecoder: 'readonly',
        uPlot: 'readonly', dagre: 'readonly',
        h: 'readonly', svg: 'readonly', getJSON: 'readonly', postJSON: 'readonly', onRuntimeEvents: 'readonly', fmt: 'readonly', time: 'readonly', navigation: 'readonly', showError: 'readonly',
      },
    },
    rules: { 'no-redeclare': 'off', '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^(h|svg|getJSON|postJSON|onRuntimeEvents|fmt|time|navigation|showError|consoleToken)$' }] },
  },
);
