/**
 * What the running node process offers for replacing itself with node started again: `process.execve`, and
 * whether its C library is glibc. Shared by the two places that restart node (src/launch.ts for glibc's
 * malloc setting, src/ops/heap-settings-taken.ts for the young generation's size) and by their tests.
 */
import fs from 'node:fs';
import { mapsShowGlibc } from './malloc-settings.js';

/** `process.execve`'s shape: it replaces the process and does not return (it throws if execve(2) fails). */
export type Execve = (file: string, args: readonly string[], env: Record<string, string | undefined>) => never;

/**
 * `process.execve`, or undefined where this node has none (before Node 22.15, and on Windows). Looked up
 * here because @types/node does not declare it yet.
 */
export function processExecve(): Execve | undefined {
  const execve = (process as { execve?: unknown }).execve;
  return typeof execve === 'function' ? (execve.bind(process) as Execve) : undefined;
}

/** Whether this process runs on glibc, from its memory map (one file read, ~0.2 ms; false off Linux). */
export function runsOnGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    return mapsShowGlibc(fs.readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
}
