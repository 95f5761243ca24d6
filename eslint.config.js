// Lint rules: typescript-eslint's type-aware recommended set, plus a ban on floating promises (DESIGN §5.8).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'dist.*/**', 'bin/**', 'eslint.config.js', 'scripts/**', 'src/dashboard/web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // async without await is how a synchronous throw becomes a rejection; that is intended here.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The dashboard's browser code: plain JavaScript, outside the TypeScript project.
  {
    files: ['src/dashboard/web/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', EventSource: 'readonly', addEventListener: 'readonly', removeEventListener: 'readonly' } },
  },
);
