// Lint: a small, deliberate rule set. typescript-eslint's recommended rules catch real
// mistakes (unused values, floating promises' cousins, unsafe `any` declarations);
// formatting is prettier's job, not the linter's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'examples/build/', 'examples/**/node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` marks a parameter kept for its position in a signature.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Hostile-input code catches and drops errors on purpose; an empty block must say why.
      'no-empty': ['error', { allowEmptyCatch: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
    },
  },
  {
    // Code that runs inside the isolate: no Node globals there. Each script's last
    // expression is its completion value, which is what the host receives.
    files: ['sandbox/guest/**/*.js', 'sandbox/python/guest/**/*.js'],
    languageOptions: { globals: { ...globals.es2022 }, sourceType: 'script' },
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
