/**
 * How far V8 lets the heap grow between full collections (`--heap-growth`), set once at start-up.
 *
 * Why: attache keeps ~18 MiB alive, but under load V8's default heap-growing heuristics let the old
 * generation reach ~190 MiB at 64 concurrent requests before it collects it (bench/RESULTS.md §0.5) —
 * garbage, not data, and more than a 128 MiB pod allows. V8's `heap_growing_percent` flag replaces its
 * dynamic growing factor (1.1–4× the live heap after each full collection) by a fixed 1 + percent/100;
 * V8 reads it each time it sets the next limit, so it can be set after start-up with
 * `v8.setFlagsFromString`, unlike `--max-old-space-size` or the semi-space sizes, which are fixed when the
 * isolate is created (measured: with 20, peak RSS 190 → 124 MiB at the same CPU per request). That is why
 * this is a setting of attache and not advice to set NODE_OPTIONS (which an operator may still do: a
 * `--heap-growing-percent` given to node itself wins).
 */
import v8 from 'node:v8';

/** What {@link applyHeapGrowth} did. */
export type HeapGrowthResult = 'applied' | 'node-flag-wins' | 'off';

const NODE_FLAG = '--heap-growing-percent';

/**
 * Sets V8's heap growing factor to 1 + `percent`/100 unless `percent` is 0 (V8's own heuristics) or node
 * was started with `--heap-growing-percent` (in `execArgv` or `NODE_OPTIONS`), which is left as given.
 * @param setFlags the V8 flag setter (tests pass a recorder)
 */
export function applyHeapGrowth(
  percent: number,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  setFlags: (flags: string) => void = v8.setFlagsFromString,
): HeapGrowthResult {
  if (percent === 0) return 'off';
  const given = (arg: string): boolean => arg === NODE_FLAG || arg.startsWith(`${NODE_FLAG}=`) || arg === '--heap_growing_percent' || arg.startsWith('--heap_growing_percent=');
  if (execArgv.some(given) || (nodeOptions ?? '').split(/\s+/).some(given)) return 'node-flag-wins';
  setFlags(`${NODE_FLAG}=${percent}`);
  return 'applied';
}
