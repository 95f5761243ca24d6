// The layers of Coffer's source, checked on the import graph (static imports and dynamic import() alike) by
// `npm run check:imports`, which `npm test` runs (test/architecture.test.ts). docs/architecture.md explains them:
//   cli → services (apiserver, controller, keyserver, kms-plugin, lab, dashboard, library)
//       → core (encryption, objects, storage, kms, stack, operations) → lib
// A layer imports only the layers below it; services talk to each other over the wire, never by import; production
// code never imports a testing/ fixture. Tests (*.test.ts, *.contract.ts, testing/ folders) may import anything.
const SERVICES = 'apiserver|controller|keyserver|kms-plugin|lab|dashboard|library';
const CORE = 'encryption|objects|storage|kms|stack|operations';
const TEST_CODE = '(\\.test\\.ts|\\.contract\\.ts|\\.fuzz\\.test\\.ts)$|/testing/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-imports-only-lib',
      comment: 'src/lib holds helpers below every other layer: it imports nothing else of Coffer.',
      severity: 'error',
      from: { path: '^src/lib/', pathNot: TEST_CODE },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'core-imports-core-and-lib',
      comment: 'The core (encryption, objects, storage, kms, stack, operations) is used by the services and knows none of them.',
      severity: 'error',
      from: { path: `^src/(${CORE})/`, pathNot: TEST_CODE },
      to: { path: '^src/', pathNot: `^src/(${CORE}|lib)/` },
    },
    {
      name: 'services-do-not-import-services',
      comment: 'A service talks to another over the wire (HTTP, gRPC, a child process), never by import.',
      severity: 'error',
      from: { path: `^src/(${SERVICES})/`, pathNot: TEST_CODE },
      to: { path: `^src/(${SERVICES})/`, pathNot: '^src/$1/' },
    },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      from: { path: `^src/(${SERVICES}|${CORE}|lib)/`, pathNot: TEST_CODE },
      to: { path: '^src/cli/' },
    },
    {
      name: 'no-testing-fixtures-in-production',
      comment: 'testing/ folders hold fakes and fixtures for tests; shipped code must not depend on them.',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST_CODE },
      to: { path: '/testing/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^src/dashboard/web/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // dynamic import() is part of the graph: a lazy import is still a dependency.
    moduleSystems: ['es6', 'cjs'],
  },
};
