/**
 * A ceiling on V8's young generation, kept at run time, where attache does not restart node with one
 * (src/ops/heap-settings.ts decides: no memory limit, or one of 1 GiB or more, and no flag given to node).
 *
 * Why: on a host with memory to spare (a laptop, a VM, a gateway node) V8 lets the young generation grow to
 * 16 MiB semi-spaces on Node 20 and 64 MiB on Node 24 (32 and 128 MiB committed), and it grows there under
 * any sustained load: a large part of attache's peak RSS under load (bench/RESULTS.md §16) for no gain,
 * since 8 MiB semi-spaces scavenge about as rarely per request (bench/RESULTS.md §14). The size limit itself (`--max-semi-space-size`) is fixed when the isolate
 * is created, but V8 reads `--semi-space-growth-factor` each time it decides to grow the young generation
 * (src/ops/startup-hold.ts relies on that too): so after every collection this looks at the young
 * generation's size and holds the factor at 1 (no growth) once one more doubling would pass the ceiling, 2
 * (V8's default) below that. V8 may still shrink it when allocation slows down; it then grows back up.
 *
 * Exact on Node 20's V8. Newer V8 (Node 24) also resizes the young generation by rules besides the growth
 * factor, and the hold is looser there: 16–32 MiB in a sustained allocation loop against V8's own 128 MiB
 * (measured in young-generation.test.ts). The PerformanceObserver reports collections after the fact, so a
 * burst that collects twice before it runs can also grow the young generation one step past the ceiling.
 */
import v8 from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';

/** What the ceiling acts through; tests pass recorders. */
export interface YoungGenerationControls {
  readonly setFlags: (flags: string) => void;
  /** The young generation's committed size in bytes. */
  readonly size: () => number;
  /** Calls `f` after every collection; returns a function that stops calling it. */
  readonly afterEachCollection: (f: () => void) => () => void;
}

const NODE_CONTROLS: YoungGenerationControls = {
  setFlags: v8.setFlagsFromString,
  size: () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0,
  afterEachCollection: (f) => {
    const observer = new PerformanceObserver(f);
    observer.observe({ entryTypes: ['gc'] });
    return () => observer.disconnect();
  },
};

/**
 * Holds the young generation at or below `ceilingBytes` from now on (call it once start-up's own hold is
 * released). Returns a function that stops holding and restores V8's growth factor.
 */
export function holdYoungGeneration(ceilingBytes: number, controls: YoungGenerationControls = NODE_CONTROLS): () => void {
  let held = false;
  const check = (): void => {
    // Held once one more growth step (a doubling) would pass the ceiling: V8 may have shrunk the young
    // generation to a size that is not a power of two (Node 24 shrinks it to what survived, in pages), and
    // doubling that from just under the ceiling would pass it by up to twice.
    const nextStepPasses = controls.size() * 2 > ceilingBytes;
    if (nextStepPasses !== held) {
      held = nextStepPasses;
      controls.setFlags(`--semi-space-growth-factor=${held ? 1 : 2}`);
    }
  };
  check();
  const stop = controls.afterEachCollection(check);
  return () => {
    stop();
    if (held) controls.setFlags('--semi-space-growth-factor=2');
  };
}
