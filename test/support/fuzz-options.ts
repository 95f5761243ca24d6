// Options for the property-based fuzz suites (files named `*.fuzz.test.ts`). `npm test` runs each with a fixed seed and
// a few hundred cases so CI is repeatable; `npm run fuzz` raises FUZZ_RUNS for a long exploration, and a failure
// prints the seed and path that fast-check needs to replay it (FUZZ_SEED=<seed>).
export interface FuzzOptions {
  readonly seed: number;
  readonly numRuns: number;
}

const DEFAULT_SEED = 20261206;

export function fuzzOptions(defaultRuns = 200): FuzzOptions {
  const seed = Number(process.env.FUZZ_SEED ?? DEFAULT_SEED);
  const numRuns = Number(process.env.FUZZ_RUNS ?? defaultRuns);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${JSON.stringify(process.env.FUZZ_SEED)}`);
  if (!Number.isSafeInteger(numRuns) || numRuns < 1) {
    throw new Error(`FUZZ_RUNS must be a positive integer, got ${JSON.stringify(process.env.FUZZ_RUNS)}`);
  }
  return { seed, numRuns };
}
