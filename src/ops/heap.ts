/**
 * How far V8 lets the heap grow between full collections (`--heap-growth`), set once at start-up.
 *
 * What it is for: attache keeps ~18 MiB alive, but on a machine with memory to spare V8's default
 * heap-growing heuristics let the old generation reach ~190 MiB at 64 concurrent requests before collecting
 * it (bench/RESULTS.md §0.5): garbage, not data. V8's `heap_growing_percent` flag replaces its dynamic
 * growing factor (1.1–4× the live heap after each full collection) by a fixed 1 + percent/100; V8 reads it
 * each time it sets the next limit, so it can be set after start-up with `v8.setFlagsFromString`, unlike
 * `--max-old-space-size` or the semi-space sizes, which are fixed when the isolate is created. Measured with
 * 20: peak RSS 190 → 122–125 MiB at about the same CPU per request — but p99 latency at one request at a time
 * was 13–20 ms in every run, against 3.6–4.6 ms in three of four runs without (probably because full
 * collections then start close to the limit, with little room to mark concurrently; 50, 100 and 200 gave
 * 6–27 ms). Inside a 128 MiB pod V8 already stays at ~92 MiB by itself (it sizes the
 * heap from the cgroup limit). So the default is 0, V8's own heuristics, and this is an opt-in for
 * deployments that trade tail latency for peak memory. A `--heap-growing-percent` given to node itself
 * (`NODE_OPTIONS`) wins.
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
  if (nodeFlagGiven([NODE_FLAG], execArgv, nodeOptions)) return 'node-flag-wins';
  setFlags(`${NODE_FLAG}=${percent}`);
  return 'applied';
}

/**
 * Whether node was started with one of the V8 `flags` (spelt with dashes, e.g. `--max-semi-space-size`), in
 * `execArgv` or `NODE_OPTIONS`, in either spelling V8 accepts (dashes or underscores), bare or `=value`.
 */
export function nodeFlagGiven(flags: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const spellings = flags.flatMap((f) => [f, `--${f.slice(2).replaceAll('-', '_')}`]);
  const given = (arg: string): boolean => spellings.some((f) => arg === f || arg.startsWith(`${f}=`));
  return execArgv.some(given) || (nodeOptions ?? '').split(/\s+/).some(given);
}
