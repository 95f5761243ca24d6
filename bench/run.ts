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
  scale: async () => (await import('./scale/run.js')).run(options),
};

// Suite names, then options for the suites (`npm run bench -- scale --size 100000`).
const firstOption = process.argv.findIndex((a, i) => i >= 2 && a.startsWith('--'));
const wanted = process.argv.slice(2, firstOption < 0 ? undefined : firstOption);
const options = firstOption < 0 ? [] : process.argv.slice(firstOption);
for (const name of wanted) {
  if (!(name in SUITES)) {
    console.error(`unknown benchmark suite "${name}"; known: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
}
// scale runs only when named: minutes long, it is not part of the default run.
for (const name of wanted.length > 0 ? wanted : Object.keys(SUITES).filter((n) => n !== 'scale')) {
  await SUITES[name]!();
}
