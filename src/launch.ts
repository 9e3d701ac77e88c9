#!/usr/bin/env node
/**
 * attache's entry, the `attache` bin (dist/cli.js, bundled on its own by scripts/bundle.mjs): before the
 * bundle loads, node may be started again with glibc's malloc setting (src/ops/malloc-settings.ts says
 * why); then Node's compile cache is turned on and the bundle (dist/attache.js, src/cli.ts) runs.
 *
 * Node's compile cache (module.enableCompileCache, Node 22.1 and later) keeps V8's code cache of a module on
 * disk, keyed by its content, so that later starts skip compiling it: ~100 ms of the 1.2 s a 25-package set
 * takes to be ready on Node 24 (bench/RESULTS.md §18). It only applies to modules loaded after it is turned
 * on, hence this launcher rather than a call inside the bundle. The cache goes where Node puts it
 * (NODE_COMPILE_CACHE, else the system's temporary folder); NODE_DISABLE_COMPILE_CACHE=1 turns it off, and
 * where it cannot be written (a read-only filesystem) Node carries on without it.
 *
 * The restart happens here, not in the bundle, because here it costs only node's own boot (~35 ms): the
 * bundle is not yet compiled nor the configuration read.
 */
import inspector from 'node:inspector';
import module from 'node:module';
import { mallocEnvToSet } from './ops/malloc-settings.js';
import { processExecve, runsOnGlibc } from './ops/process-image.js';

const execve = processExecve();
const add = mallocEnvToSet({
  platform: process.platform,
  glibc: runsOnGlibc(),
  env: process.env,
  args: process.argv.slice(2),
  canReExecute: execve !== undefined,
  inspecting: inspector.url() !== undefined,
});
if (add !== undefined) {
  try {
    execve!(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, ...add });
  } catch {
    // execve(2) failed and the process is unchanged: serve with glibc's own setting.
  }
}

// Typed here too: the @types/node in use predates it (Node 22.1).
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
// A variable, so that neither tsc nor esbuild looks for it: the bundle is built beside this file.
const bundle = './attache.js';
await import(bundle);
