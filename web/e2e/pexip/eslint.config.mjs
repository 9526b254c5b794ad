// Lints the Pexip side of web/ (the Web App 3 stand-in, the top page, the e2e tests).
// Run from web/: npx eslint -c e2e/pexip/eslint.config.mjs webapp3-standin e2e/pexip
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/', 'pkg/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['webapp3-standin/**/*.ts', 'e2e/pexip/**/*.ts'], languageOptions: { globals: globals.browser } },
  { files: ['e2e/pexip/**/*.mjs'], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
);
