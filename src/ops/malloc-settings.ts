/**
 * glibc's malloc setting attache starts node with: allocations of 32 KiB and more are mapped on their own
 * (`MALLOC_MMAP_THRESHOLD_=32768`) and given back to the system when freed, instead of being carved out of
 * malloc's heaps.
 *
 * Why: V8 parses and compiles into zones, memory it takes from malloc in segments of about 32 KiB (strace:
 * `Zone::Expand` → `AccountingAllocator::AllocateSegment`), on its worker threads (TurboFan, Turboshaft) as
 * well as the main one. glibc serves them from its heaps, which keep the space resident once a burst of
 * compilation has freed it (only a heap's free top is ever returned). Every route's first requests, and the
 * first minutes under load, compile a lot: on the 25-package set that is ~12 MiB after one request on every
 * route and ~13 MiB of the peak under load, and on the bench protos ~20 MiB of the peak at c=64, for no
 * change in CPU per request (bench/RESULTS.md §23). glibc reads the setting once, when the process starts,
 * from its environment, so the only way to have it is to start node with it: src/launch.ts re-executes node
 * once (`process.execve`: same PID, stdio and arguments) with the variable added; the image sets it itself.
 *
 * This module is the pure decision; src/launch.ts reads the process and acts on it.
 */

/** glibc's environment variable for M_MMAP_THRESHOLD (mallopt(3)). */
export const MMAP_THRESHOLD_ENV = 'MALLOC_MMAP_THRESHOLD_';

/** The threshold attache sets: V8's zone segments (32 KiB) and anything larger get their own mapping. */
export const MMAP_THRESHOLD_BYTES = 32 * 1024;

/** Commands that print and exit: not worth a restart. */
const QUICK_COMMANDS = new Set(['--help', '-h', '--version', '--check']);

/** What the decision looks at. */
export interface MallocInputs {
  readonly platform: string;
  /** Whether node runs on glibc (musl and other C libraries ignore the variable). */
  readonly glibc: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** attache's own arguments (after the script). */
  readonly args: readonly string[];
  /** Whether this node can replace itself (`process.execve`: Node ≥ 22.15, not Windows). */
  readonly canReExecute: boolean;
  /** Whether node's inspector is open (`--inspect…`): a debugger attached to this image would be lost. */
  readonly inspecting: boolean;
}

/**
 * The variables to start node again with, or undefined to carry on as is: off Linux/glibc, where node cannot
 * re-execute itself, for a command that only prints, and whenever the environment already has a say — the
 * variable set (to anything; 131072, glibc's initial threshold, is the nearest to glibc's own behaviour) or
 * `GLIBC_TUNABLES` setting `glibc.malloc.mmap_threshold`; nor with node's inspector open, whose debugger (and
 * the URL it printed) belong to this image. The variable set also ends the re-execution.
 */
export function mallocEnvToSet(i: MallocInputs): Record<string, string> | undefined {
  if (i.platform !== 'linux' || !i.glibc || !i.canReExecute || i.inspecting) return undefined;
  if (i.env[MMAP_THRESHOLD_ENV] !== undefined) return undefined;
  if (/(^|:)glibc\.malloc\.mmap_threshold=/.test(i.env['GLIBC_TUNABLES'] ?? '')) return undefined;
  if (i.args.some((a) => QUICK_COMMANDS.has(a) || a.startsWith('--check='))) return undefined;
  return { [MMAP_THRESHOLD_ENV]: String(MMAP_THRESHOLD_BYTES) };
}

/** Whether the process's memory map shows glibc's C library (`/proc/self/maps` text). */
export function mapsShowGlibc(maps: string): boolean {
  return /\/libc\.so\.6$/m.test(maps);
}
