/**
 * fast-check settings for the property-based fuzz suites. CI runs a fixed seed and a modest number of runs
 * so it is repeatable; `npm run fuzz` runs many more with a fresh seed. fast-check prints the seed and the
 * shrunk counterexample of a failure; `FUZZ_SEED=<seed> FUZZ_RUNS=<n>` replays it.
 *
 *   FUZZ_SEED   a number, or `random` (default: a fixed seed)
 *   FUZZ_RUNS   runs per property (default: each suite's CI figure)
 */
import fc from 'fast-check';

const FIXED_SEED = 20261207;

/** Parameters for `fc.assert`: the seed and run count of this run (`ciRuns` unless FUZZ_RUNS says). */
export function fuzzParams(ciRuns: number): fc.Parameters<unknown> {
  const seedText = process.env['FUZZ_SEED'];
  const seed = seedText === 'random' ? Date.now() ^ (Math.random() * 0x7fffffff) : seedText !== undefined ? Number(seedText) : FIXED_SEED;
  const runs = process.env['FUZZ_RUNS'];
  return { seed, numRuns: runs !== undefined ? Number(runs) : ciRuns, verbose: 1 };
}

/** Total wall-clock time a suite may spend (scaled with FUZZ_RUNS for the long form). */
export function fuzzTimeoutMs(ciMs: number, ciRuns: number): number {
  const runs = Number(process.env['FUZZ_RUNS'] ?? ciRuns);
  return Math.max(ciMs, Math.ceil((ciMs * runs) / ciRuns));
}
