/**
 * What V8 is held back from while attache starts, so that it is ready sooner and smaller (the target: ready
 * in ≤ 1 s, ≤ 64 MiB when ready; figures in bench/RESULTS.md §0.9).
 *
 * Start-up (loading the libraries, parsing the protos, compiling every route) runs a lot of code once and
 * allocates far more than it keeps. Left to its defaults, V8 on Node 20:
 * - optimizes the start-up code that got hot (protobufjs's parser, the route compiler) with TurboFan, on the
 *   second core, for code that never runs again; the compiler's own pages of the node binary (3.6 MiB) and
 *   its working memory (2.3 MiB) then count in the resident set;
 * - sees a high survival rate in the young generation and doubles the semi-spaces, 1 → 16 MiB each;
 * - keeps start-up's garbage in the old generation until V8's memory reducer runs, ~8 s after start.
 * Node 22 and later also have Maglev, V8's mid-tier optimizing compiler, on by default: it compiles the same
 * hot start-up code sooner, on the second core, and its code stays resident (held until ready: RSS when
 * ready 69.4 → 67.8 MiB and CPU until ready −6% on the 25-package set, at the same ready time;
 * bench/RESULTS.md §25).
 * So until attache is ready, TurboFan is off (`--no-turbofan`), so is Maglev (`--no-maglev`) where this node
 * has it on by default, and the young generation may not grow (`--semi-space-growth-factor=1`); all are
 * flags V8 reads each time it decides, unlike the semi-space sizes, fixed when the isolate is created. Once
 * ready, each goes back to V8's default — the request path is optimized under load as before — and one
 * compacting full collection (~10–30 ms) drops start-up's garbage and returns its pages.
 *
 * A flag of the same family given to node itself (`NODE_OPTIONS`: `--semi-space-growth-factor`, `--maglev`,
 * or an optimizer flag such as `--no-opt`) wins: that part is left as the user set it. Only defaults are
 * restored, since V8 cannot tell a flag's current value: `--turbofan` and growth factor 2, which V8 has had
 * for years, and `--maglev` only where node was built with Maglev (`process.config`), which is what turns
 * it on by default (Node 22 and later; Node 20's V8 is built without it).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { nodeFlagGiven } from './heap.js';

// Only the growth factor itself: semi-space sizes given to node (`--max-semi-space-size=8`, the setting
// docs/performance.md recommends for a 128 MiB pod) bound the young generation's growth after ready, not the hold.
const YOUNG_GENERATION_FLAGS = ['--semi-space-growth-factor'] as const;
const OPTIMIZER_FLAGS = ['--turbofan', '--no-turbofan', '--opt', '--no-opt', '--jitless', '--max-opt'] as const;
const MAGLEV_FLAGS = ['--maglev', '--no-maglev'] as const;

// V8's code-flushing flags (a negation is its own flag name for nodeFlagGiven).
const CODE_FLUSH_FLAGS = ['--stress-flush-code', '--no-stress-flush-code', '--flush-bytecode', '--no-flush-bytecode'] as const;

/**
 * Whether this node's V8 runs Maglev by default: built with it (Node 22 and later on x64 and arm64), V8
 * turns it on. Node 20's V8 is built without it.
 */
export const MAGLEV_ON_BY_DEFAULT = (process.config.variables as Record<string, unknown>)['v8_enable_maglev'] === 1;

/** The hold {@link holdStartup} takes; `release` once attache is ready. */
export interface StartupHold {
  /** Whether the young generation is held (false when node was given `--semi-space-growth-factor`). */
  readonly holdsYoungGeneration: boolean;
  /** Whether TurboFan is held (false when node was given an optimizer flag). */
  readonly holdsOptimizer: boolean;
  /**
   * Whether Maglev is held (false where it is not on by default, or when node was given `--maglev`,
   * `--no-maglev` or an optimizer flag).
   */
  readonly holdsMaglev: boolean;
  /**
   * Whether the collection at release also flushes the bytecode of every function not running (false when
   * node was given a code-flushing flag).
   */
  readonly flushesCode: boolean;
  /** Restores what was held and runs one full collection. Only the first call does anything. */
  release(): void;
}

/** What {@link holdStartup} acts through; tests pass recorders. */
export interface HeapControls {
  readonly setFlags: (flags: string) => void;
  /** One full collection; with `flushCode`, one that also drops the bytecode of functions not running. */
  readonly collectGarbage: (flushCode: boolean) => void;
}

/**
 * Runs one full, synchronous collection. Node has no API for it short of `--expose-gc` on its command line,
 * which attache cannot add to `node dist/cli.js`; setting the flag at run time installs `gc` in contexts
 * created afterwards, so one fresh context hands it over, and the main context's globals stay as they were.
 */
function fullCollection(flushCode: boolean): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
  v8.setFlagsFromString('--no-expose-gc');
  // Start-up's code ran once (the config and proto loaders, protobufjs's parser, the route compiler), but
  // V8 flushes a function's bytecode only once it has been idle through several full collections, which a
  // quiet sidecar may not see for minutes. Flushing every idle function in this one collection drops it now:
  // the live heap when ready 23.1 → 21.5 MiB on the 25-package set (bench/RESULTS.md §21). A function that
  // runs again later (little of start-up's code does) is compiled again from its source, lazily, as on
  // its first call. V8 reads the flag at each collection.
  if (!flushCode) {
    collectOnce(gc);
    return;
  }
  v8.setFlagsFromString('--stress-flush-code');
  try {
    collectOnce(gc);
  } finally {
    v8.setFlagsFromString('--no-stress-flush-code');
  }
}

/** The collection itself, for this V8 (see {@link fullCollection}). */
function collectOnce(gc: (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void): void {
  if (V8_POOLS_FREED_PAGES) {
    // V8 12 and later keep the pages a full collection frees in a pool, committed, for reuse: after start-up's
    // collection that is 36 MiB of a 25-package set's 128 MiB RSS on Node 24 (--trace-gc-verbose: "Pool
    // buffering 146 chunks"), released only by the memory reducer or a memory-reducing collection. The
    // last-resort flavor is V8's memory-reducing one (CollectAllAvailableGarbage: compacting full
    // collections until nothing more is freed, then the pool released): RssAnon 83 → 35 MiB there.
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    return;
  }
  // Compacting: a plain full collection frees start-up's garbage but keeps the old generation's pages it
  // was spread over (the protos' parse and the full Root of a large set: heap 80 MiB committed for 20 MiB
  // live, bench/realworld 25 packages); moving the survivors together lets V8 return the emptied pages to
  // the system (RssAnon 76 → 59 MiB there). It costs one copy of the live heap, once.
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

/** Whether this V8 pools the pages it frees (V8 12, Node 22, and later); Node 20's V8 unmaps them. */
const V8_POOLS_FREED_PAGES = Number(process.versions.v8.split('.')[0]) >= 12;

const NODE_CONTROLS: HeapControls = { setFlags: v8.setFlagsFromString, collectGarbage: fullCollection };

/**
 * Holds TurboFan, Maglev (where it is on by default: `maglevOnByDefault`) and the young generation's growth
 * until `release`, each unless node was started with a flag of its family (in `execArgv` or `NODE_OPTIONS`).
 * Must run before the libraries load: see src/ops/startup-hold-taken.ts.
 */
export function holdStartup(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
  controls: HeapControls = NODE_CONTROLS,
  maglevOnByDefault: boolean = MAGLEV_ON_BY_DEFAULT,
): StartupHold {
  const holdsYoungGeneration = !nodeFlagGiven(YOUNG_GENERATION_FLAGS, execArgv, nodeOptions);
  const holdsOptimizer = !nodeFlagGiven(OPTIMIZER_FLAGS, execArgv, nodeOptions);
  const holdsMaglev = maglevOnByDefault && holdsOptimizer && !nodeFlagGiven(MAGLEV_FLAGS, execArgv, nodeOptions);
  const flushesCode = !nodeFlagGiven(CODE_FLUSH_FLAGS, execArgv, nodeOptions);
  if (holdsYoungGeneration) controls.setFlags('--semi-space-growth-factor=1');
  if (holdsOptimizer) controls.setFlags('--no-turbofan');
  if (holdsMaglev) controls.setFlags('--no-maglev');
  let released = false;
  return {
    holdsYoungGeneration,
    holdsOptimizer,
    holdsMaglev,
    flushesCode,
    release(): void {
      if (released) return;
      released = true;
      if (holdsYoungGeneration) controls.setFlags('--semi-space-growth-factor=2');
      if (holdsOptimizer) controls.setFlags('--turbofan');
      if (holdsMaglev) controls.setFlags('--maglev');
      controls.collectGarbage(flushesCode);
    },
  };
}
