/**
 * The young generation's size inside a memory limit, chosen by attache itself at start-up (issue 17), and
 * the heap growth that goes with the memory seen (src/ops/heap.ts).
 *
 * Node sizes V8's heap from the memory it may use (`process.constrainedMemory()`, the cgroup limit): below
 * 1 GiB it gets 1 MiB semi-spaces (measured on Node 20 and 24: 128, 256 and 512 MiB limits; 1 GiB gives
 * 16 MiB), so a busy attache scavenges ~38 times per 1,000 requests (6 with 8 MiB) and spends about twice the
 * GC time per request (bench/RESULTS.md §14). The semi-space size is fixed when the isolate is created: V8
 * reads `--max-semi-space-size` and `--min-semi-space-size` once, in `Heap::ConfigureHeap`, and setting
 * them (or `--semi-space-growth-factor`) later with `v8.setFlagsFromString` leaves the young generation at
 * its start-up maximum (measured, §14). So the only way to change it from inside is a new isolate: a new
 * process. `process.execve` (Node ≥ 22.15 / 23.11, POSIX) replaces the process image with node started
 * again with the flag: same PID (PID 1 in a container stays PID 1 and gets the orchestrator's signals),
 * same stdio, same environment plus a guard variable, so it happens at most once.
 *
 * This module is the pure decision; src/ops/heap-settings-taken.ts reads the process and acts on it.
 */
import { HEAP_GROWTH_NODE_FLAG, heapGrowthPercentFor, nodeFlagGiven, PLENTY_OF_MEMORY_BYTES } from './heap.js';

/** V8 flags that size the young generation; when node was given one, it is left as given. */
export const SEMI_SPACE_FLAGS = ['--max-semi-space-size', '--min-semi-space-size'] as const;

/** The young generation's growth factor: given to node, attache does not hold the young generation. */
const GROWTH_FLAGS = ['--semi-space-growth-factor'] as const;

/**
 * Set in the environment of the process attache re-executes (and inherited by its `--workers`): a process
 * that sees it never re-executes again, whatever else it sees.
 */
export const REEXEC_GUARD_ENV = 'ATTACHE_HEAP_REEXECUTED';

/** At and above this limit V8's own choice is already ≥ 16 MiB semi-spaces; attache does not re-execute. */
const V8_SIZES_WELL_FROM = PLENTY_OF_MEMORY_BYTES;

/**
 * The semi-space size attache holds the young generation at where it does not re-execute (no limit, or one
 * of 1 GiB or more): what it chooses for a 128 MiB pod (semiSpaceMiBFor), which scavenges about as rarely
 * per request as 16 MiB (bench/RESULTS.md §14).
 */
export const HELD_SEMI_SPACE_MIB = 8;

/** Why the heap settings in force are what they are. */
export type HeapSource =
  /** attache chose the semi-space size from the memory limit (this process was re-executed with it). */
  | 'memory-limit'
  /** node was given a semi-space flag (command line or NODE_OPTIONS); attache left it as given. */
  | 'node-flag'
  /** No memory limit below 1 GiB: V8's own sizing, which is good there. */
  | 'node-default'
  /**
   * No memory limit below 1 GiB, and attache holds the young generation at {@link HELD_SEMI_SPACE_MIB} MiB
   * semi-spaces at run time (src/ops/young-generation.ts): V8 would let it grow to 16 MiB (Node 20) or 64
   * MiB (Node 24) semi-spaces there, a large part of the peak RSS under load for no CPU gain.
   */
  | 'held'
  /** `--heap-tuning off`: V8's own sizing, by request. */
  | 'opted-out'
  /** A limit where attache would choose, but this Node cannot re-execute itself (Node < 22.15, Windows) or it failed. */
  | 'not-possible';

/** The heap settings in force, for the start-up log line and the admin metric. */
export interface HeapSettings {
  readonly source: HeapSource;
  /** The maximum semi-space size in MiB, when known (attache's choice or node's flag); undefined: V8's own. */
  readonly semiSpaceMiB: number | undefined;
  /** The memory limit seen (bytes), if any. */
  readonly limitBytes: number | undefined;
  /** One sentence for the log: what is in force and why. */
  readonly reason: string;
  /**
   * The heap growth percent attache sets (src/ops/heap.ts): 0 leaves V8's own growing factor; undefined when
   * node was given `--heap-growing-percent`, which is left as given.
   */
  readonly growthPercent: number | undefined;
}

/** What {@link decideHeapSettings} decides: keep the process as it is, or re-execute it with `flags`. */
export type HeapDecision =
  | { readonly action: 'keep'; readonly settings: HeapSettings }
  | { readonly action: 're-execute'; readonly flags: readonly string[]; readonly settings: HeapSettings };

/** Everything the decision depends on; src/ops/heap-settings-taken.ts reads it from the process. */
export interface HeapInputs {
  /** `process.constrainedMemory()`: the cgroup limit, 0 when none is known (some Node versions give 2^64 then). */
  readonly limitBytes: number;
  /** `os.totalmem()`: a "limit" at or above it is no limit (as Node itself decides when it sizes the heap). */
  readonly totalBytes: number;
  readonly execArgv: readonly string[];
  readonly nodeOptions: string | undefined;
  /** The value of {@link REEXEC_GUARD_ENV}. */
  readonly guard: string | undefined;
  /** The `--heap-tuning` setting. */
  readonly tuning: 'auto' | 'off';
  /** The `--heap-growth` setting. */
  readonly growth: 'auto' | number;
  /** `--workers`: the processes sharing the limit (the supervising primary's own share is small). */
  readonly workers: number;
  /** Whether `process.execve` exists here. */
  readonly canReExecute: boolean;
}

const MIB = 1024 * 1024;

/**
 * The semi-space size for a process whose share of the memory limit is `budgetBytes`: a sixteenth of it,
 * rounded down to a power of two (V8 rounds semi-spaces to one), at least 2 and at most 16 MiB. A 128 MiB
 * pod gets 8 MiB (4 MiB scavenged twice as often; 16 MiB left the pod ~27 MiB of room) and 256 MiB gets 16
 * (the GC time of 8; 32 added ~45 MiB of peak for nothing): bench/RESULTS.md §14.
 */
export function semiSpaceMiBFor(budgetBytes: number): number {
  const sixteenth = Math.max(1, Math.floor(budgetBytes / MIB / 16));
  return Math.min(16, Math.max(2, 2 ** Math.floor(Math.log2(sixteenth))));
}

/** `--max-semi-space-size=N` (either spelling) in `args`, as N; undefined when absent or not `=N`. */
function semiSpaceValue(args: readonly string[]): number | undefined {
  for (const a of args) {
    const m = /^--max[-_]semi[-_]space[-_]size=(\d+)$/.exec(a);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

const mib = (bytes: number): string => `${Math.round(bytes / MIB)} MiB`;

/**
 * Decides the young generation's size. In order: a semi-space flag given to node wins (and is reported as
 * attache's own choice when this process is the one attache re-executed, or one of its workers); then
 * `--heap-tuning off`; then no limit, or one of 1 GiB or more, keeps V8's sizing but holds the young
 * generation at {@link HELD_SEMI_SPACE_MIB} MiB semi-spaces at run time; then a process that was
 * re-executed already (the guard) or cannot be keeps it too, saying so; otherwise re-execute with the size
 * {@link semiSpaceMiBFor} the process's share of the limit. Whatever the young generation gets, the heap
 * growth in force comes with it (heapGrowthPercentFor; none when node was given `--heap-growing-percent`).
 */
export function decideHeapSettings(i: HeapInputs): HeapDecision {
  const limited = i.limitBytes > 0 && i.limitBytes < i.totalBytes;
  const limitBytes = limited ? i.limitBytes : undefined;
  const growthPercent = nodeFlagGiven([HEAP_GROWTH_NODE_FLAG], i.execArgv, i.nodeOptions) ? undefined : heapGrowthPercentFor(i.growth, i.tuning, limitBytes);
  const keep = (source: HeapSource, semiSpaceMiB: number | undefined, reason: string): HeapDecision =>
    ({ action: 'keep', settings: { source, semiSpaceMiB, limitBytes, reason, growthPercent } });

  if (nodeFlagGiven(SEMI_SPACE_FLAGS, i.execArgv, i.nodeOptions)) {
    const ours = i.guard !== undefined ? semiSpaceValue(i.execArgv) : undefined;
    if (ours !== undefined) {
      return keep('memory-limit', ours, `${ours} MiB semi-spaces, chosen by attache for the ${limitBytes === undefined ? 'memory' : mib(limitBytes)} limit`);
    }
    const given = semiSpaceValue([...i.execArgv, ...(i.nodeOptions ?? '').split(/\s+/)]);
    return keep('node-flag', given, 'semi-space size given to node (command line or NODE_OPTIONS); left as given');
  }
  if (i.tuning === 'off') return keep('opted-out', undefined, "--heap-tuning off: V8's own heap sizing");
  if (limitBytes === undefined || limitBytes >= V8_SIZES_WELL_FROM) {
    const where = limitBytes === undefined ? 'no memory limit' : `a ${mib(limitBytes)} memory limit`;
    if (nodeFlagGiven(GROWTH_FLAGS, i.execArgv, i.nodeOptions)) return keep('node-default', undefined, `${where}: V8's own heap sizing (node was given its growth factor)`);
    return keep('held', HELD_SEMI_SPACE_MIB, `${where}: the young generation held at ${HELD_SEMI_SPACE_MIB} MiB semi-spaces at run time`);
  }
  const semiSpaceMiB = semiSpaceMiBFor(limitBytes / Math.max(1, i.workers));
  if (i.guard !== undefined) {
    return keep('not-possible', undefined, `a ${mib(limitBytes)} memory limit, but the re-executed process has no semi-space flag; V8's own 1 MiB semi-spaces`);
  }
  if (!i.canReExecute) {
    return keep(
      'not-possible',
      undefined,
      `a ${mib(limitBytes)} memory limit, but this Node cannot re-execute itself (process.execve: Node >= 22.15, not Windows); ` +
        `V8's own 1 MiB semi-spaces cost CPU: set NODE_OPTIONS=--max-semi-space-size=${semiSpaceMiB}`,
    );
  }
  return {
    action: 're-execute',
    flags: [`--max-semi-space-size=${semiSpaceMiB}`],
    settings: { source: 'memory-limit', semiSpaceMiB, limitBytes, reason: `${semiSpaceMiB} MiB semi-spaces, chosen by attache for the ${mib(limitBytes)} limit`, growthPercent },
  };
}
