/**
 * How far V8 lets the old generation grow between full collections (`--heap-growth`), set once at start-up.
 *
 * V8's `heap_growing_percent` flag replaces its dynamic growing factor by a fixed 1 + percent/100; V8 reads
 * it each time it sets the next limit, so it can be set after start-up with `v8.setFlagsFromString`, unlike
 * `--max-old-space-size` or the semi-space sizes, which are fixed when the isolate is created.
 *
 * Why attache sets it (`auto`, the default): on a host with memory to spare (no limit, or one of 1 GiB or
 * more) V8's growing factor may reach 4, and under load it does: what the scavenger promotes is request
 * state that dies soon after, so the old generation climbs to ~4× what the last full collection left
 * (Node 24, `--trace-gc`, a 1,218-route set at 64 concurrent requests: the next one came at 109 MB after one
 * that left 28.8 MB). That garbage was most of the peak resident memory. `auto` sets 100% there (2× the
 * live heap). Peak RSS at 64 concurrent requests, Node 24: 167–183 → 137–149 MiB on the bench protos,
 * 174 → 138–150 MiB on one Google API package, 248–253 → 195–197 MiB on 25; CPU per request no higher in
 * alternating runs at c=16 and c=64, and the c=1 latency inside attache unchanged (p99 1.2–2.0 against
 * 1.4–2.3 ms) (bench/RESULTS.md §20). Collecting
 * the old generation twice as often is cheap next to that: its live part is small and V8 marks it
 * concurrently. Inside a memory limit under 1 GiB `auto` leaves V8's own factor, which V8 already keeps
 * lower for a small maximum heap and which a fixed 2 could raise; `--heap-tuning off` leaves it too. A
 * number (`--heap-growth 50`) is used anywhere; `0` is V8's own factor. A `--heap-growing-percent` given to
 * node itself wins.
 *
 * Earlier (bench/RESULTS.md §0.5, Node 20) a fixed factor looked like it cost c=1 tail latency: wrk's p99
 * was 13–20 ms with `--heap-growth 20`. In one series of runs on this machine wrk's c=1 p99 was 14–18 ms for
 * every setting, V8's own factor included (`node bench/c1-ab.mjs`), while attache's own time for the same
 * kind of requests had a p99 of 1–2 ms (`node bench/c1-tail.mjs`): that tail was not made inside attache.
 */
import v8 from 'node:v8';

/** A memory limit at or above this is plenty: V8's own sizing is that of an unconstrained host there. */
export const PLENTY_OF_MEMORY_BYTES = 1024 * 1024 * 1024;

/** What `--heap-growth auto` sets where memory is plentiful (see the module comment). */
export const AUTO_HEAP_GROWTH_PERCENT = 100;

/**
 * The heap growth percent for the `--heap-growth` setting: a number as given; `auto` is
 * {@link AUTO_HEAP_GROWTH_PERCENT} with no memory limit (`limitBytes` undefined) or one of at least
 * {@link PLENTY_OF_MEMORY_BYTES}, and 0 (V8's own factor) inside a smaller limit or with `--heap-tuning off`.
 */
export function heapGrowthPercentFor(setting: 'auto' | number, tuning: 'auto' | 'off', limitBytes: number | undefined): number {
  if (setting !== 'auto') return setting;
  if (tuning === 'off') return 0;
  return limitBytes === undefined || limitBytes >= PLENTY_OF_MEMORY_BYTES ? AUTO_HEAP_GROWTH_PERCENT : 0;
}

/** The heap growth in force, in words, for the start-up log line ("heap settings: …"). */
export function heapGrowthText(percent: number | undefined): string {
  if (percent === undefined) return 'heap growth as given to node (--heap-growing-percent)';
  if (percent === 0) return "V8's own heap growing factor";
  return `heap growth ${percent}% (the old generation may reach ${1 + percent / 100}x its live size between full collections)`;
}

/** What {@link applyHeapGrowth} did. */
export type HeapGrowthResult = 'applied' | 'node-flag-wins' | 'off';

/** The node flag that fixes V8's heap growing factor; given to node, `--heap-growth` is left unused. */
export const HEAP_GROWTH_NODE_FLAG = '--heap-growing-percent';

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
  if (nodeFlagGiven([HEAP_GROWTH_NODE_FLAG], execArgv, nodeOptions)) return 'node-flag-wins';
  setFlags(`${HEAP_GROWTH_NODE_FLAG}=${percent}`);
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
