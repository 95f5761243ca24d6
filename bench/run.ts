// `npm run bench [-- SUITE...]`: runs the named benchmark suites (all when none is named) and prints ratio tables.
const SUITES: Record<string, () => Promise<void>> = {
  encryption: async () => (await import('./encryption.bench.js')).run(),
  storage: async () => (await import('./storage.bench.js')).run(),
  apiserver: async () => (await import('./apiserver.bench.js')).run(),
  kms: async () => {
    await (await import('./kms.bench.js')).run();
    await (await import('./kms-aws.bench.js')).run();
  },
  controller: async () => {
    await (await import('./controller.bench.js')).run();
    await (await import('./controller-aws.bench.js')).run();
  },
  operations: async () => (await import('./operations.bench.js')).run(),
  cli: async () => (await import('./cli.bench.js')).run(),
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in SUITES)) {
    console.error(`unknown benchmark suite "${name}"; known: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
}
for (const name of wanted.length > 0 ? wanted : Object.keys(SUITES)) {
  await SUITES[name]!();
}
