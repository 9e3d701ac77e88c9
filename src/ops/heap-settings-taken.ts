/**
 * The heap settings decided (src/ops/heap-settings.ts) and acted on when this module is evaluated: when
 * attache runs inside a memory limit under 1 GiB and node was given no semi-space size, the process is
 * replaced here, by `process.execve`, with node started again with `--max-semi-space-size=N`.
 *
 * A module of its own, imported by src/cli.ts right after the start-up hold and before the libraries, for
 * the hold's reason (ES modules evaluate their imports in order): the re-execution then throws away node's
 * boot, the bundle's compilation and the config, not the loading of Fastify, grpc-js and OpenTelemetry
 * (~400 ms of CPU at a load average of 10, against ~650 ms for a whole start: bench/RESULTS.md §14).
 * It reads the configuration with the same loader cli.ts uses (for `--heap-tuning` and `--workers`); when
 * that fails, or for `--check`, `--help` and `--version`, it does nothing and cli.ts reports as usual.
 */
import os from 'node:os';
import { loadConfig } from '../config/load.js';
import { decideHeapSettings, REEXEC_GUARD_ENV, type HeapSettings } from './heap-settings.js';
import { processExecve } from './process-image.js';

function take(): HeapSettings | undefined {
  const argv = process.argv.slice(2);
  // `attache dev` only adds flags of its own (src/dev.ts), none about the heap.
  const loaded = loadConfig(argv[0] === 'dev' ? argv.slice(1) : argv, process.env);
  if (!loaded.ok) return undefined;
  const { config } = loaded;
  if (config.check || config.help || config.version) return undefined;
  const execve = processExecve();
  const decision = decideHeapSettings({
    limitBytes: process.constrainedMemory(),
    totalBytes: os.totalmem(),
    execArgv: process.execArgv,
    nodeOptions: process.env['NODE_OPTIONS'],
    guard: process.env[REEXEC_GUARD_ENV],
    tuning: config.heapTuning,
    growth: config.heapGrowthPercent,
    workers: config.workers,
    canReExecute: execve !== undefined,
  });
  if (decision.action === 'keep') return decision.settings;
  const args = [process.execPath, ...decision.flags, ...process.execArgv, ...process.argv.slice(1)];
  try {
    execve!(process.execPath, args, { ...process.env, [REEXEC_GUARD_ENV]: String(decision.settings.semiSpaceMiB) });
  } catch (err) {
    // execve(2) failed (the process is unchanged): serve with V8's sizing, and say why.
    const reason = `re-executing node with ${decision.flags.join(' ')} failed (${err instanceof Error ? err.message : String(err)}); V8's own 1 MiB semi-spaces`;
    return { ...decision.settings, source: 'not-possible', semiSpaceMiB: undefined, reason };
  }
  return undefined;
}

/** What is in force, for cli.ts's start-up log line and the admin metric; undefined when nothing was decided. */
export const heapSettings: HeapSettings | undefined = take();
