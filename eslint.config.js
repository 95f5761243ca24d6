// Lint rules: typescript-eslint's type-aware recommended set, plus a ban on floating promises (unhandled rejections).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of src/ (docs/architecture.md): cli → services → core → lib. A layer imports only the layers below it,
// services never import each other, and shipped code never imports a testing/ fixture. The same rules run on the whole
// import graph, dynamic import() included, in .dependency-cruiser.cjs (npm test); here they show in the editor.
const SERVICES = ['apiserver', 'controller', 'keyserver', 'kms-plugin', 'lab', 'dashboard', 'library'];
const CORE = ['encryption', 'objects', 'storage', 'kms', 'stack', 'operations'];
const TEST_FILES = ['**/*.test.ts', '**/*.contract.ts', '**/testing/**'];
const importBan = (folder, banned, why) => ({
  files: [`src/${folder}/**/*.ts`],
  ignores: TEST_FILES,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          { group: banned.map((f) => `**/${f}/*`), message: why },
          { group: ['**/testing/*'], message: 'testing/ holds fixtures for tests; shipped code must not import them.' },
        ],
      },
    ],
  },
});
export const layerBans = [
  importBan('lib', ['cli', ...SERVICES, ...CORE], 'src/lib is the bottom layer: it imports nothing else of Coffer.'),
  ...CORE.map((f) => importBan(f, ['cli', ...SERVICES], 'the core knows no service and no command.')),
  ...SERVICES.map((f) => importBan(f, ['cli', ...SERVICES.filter((s) => s !== f)], 'services talk over the wire, never by import.')),
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'dist.*/**', 'bin/**', 'eslint.config.js', '.dependency-cruiser.cjs', 'scripts/**', 'src/dashboard/web/dist/**'] },
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
  ...layerBans,
  // The dashboard's browser code: plain JavaScript, outside the TypeScript project.
  {
    files: ['src/dashboard/web/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', EventSource: 'readonly', addEventListener: 'readonly', removeEventListener: 'readonly' } },
  },
);
