/**
 * A test's view into a child node process through its inspector (started with `--inspect=127.0.0.1:0`):
 * run a full garbage collection there and read its memory. A leak check that compares what survives a full
 * collection does not depend on when V8 chose to collect, as RSS sampled under load does. The inspector client
 * is the benches' (bench/lib/inspector.mjs).
 */
import { collectedMemory as collectInspected, inspector, inspectorUrl as urlIn } from '../../bench/lib/inspector.mjs';
import type { Spawned } from './process.js';

/** The inspector's WebSocket URL, from the "Debugger listening on ws://…" line node prints to stderr. */
export async function inspectorUrl(child: Spawned, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const url = urlIn(child.stderr());
    if (url !== undefined) return url;
    if (Date.now() > until) throw new Error(`no inspector URL in the child's stderr:\n${child.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What survives a full collection in the child, in bytes (process.memoryUsage() right after it). */
export interface CollectedMemory {
  readonly heapUsed: number;
  readonly external: number;
  readonly rss: number;
}

/** Runs a full, compacting collection in the child (HeapProfiler.collectGarbage), then reads its memory. */
export async function collectedMemory(url: string, timeoutMs = 30_000): Promise<CollectedMemory> {
  const insp = await inspector(url, { timeoutMs });
  try {
    const usage = await collectInspected(insp);
    return { heapUsed: usage.heapUsed, external: usage.external, rss: usage.rss };
  } finally {
    insp.close();
  }
}
