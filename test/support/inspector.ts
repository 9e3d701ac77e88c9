/**
 * A test's view into a child node process through its inspector (started with `--inspect=127.0.0.1:0`):
 * run a full garbage collection there and read its memory. A leak check that compares what survives a full
 * collection does not depend on when V8 chose to collect, as RSS sampled under load does.
 */
import WebSocket from 'ws';
import type { Spawned } from './process.js';

/** The inspector's WebSocket URL, from the "Debugger listening on ws://…" line node prints to stderr. */
export async function inspectorUrl(child: Spawned, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = /Debugger listening on (ws:\/\/\S+)/.exec(child.stderr());
    if (m) return m[1]!;
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
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let nextId = 0;
    const call = (method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => reject(new Error(`inspector ${method}: no answer in ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (data: WebSocket.RawData): void => {
          const msg = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
          if (msg.id !== id) return;
          clearTimeout(timer);
          ws.off('message', onMessage);
          if (msg.error) reject(new Error(`inspector ${method}: ${msg.error.message}`));
          else resolve(msg.result ?? {});
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method, params }));
      });
    await call('HeapProfiler.collectGarbage');
    const r = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const usage = JSON.parse((r['result'] as { value: string }).value) as { heapUsed: number; external: number; rss: number };
    return { heapUsed: usage.heapUsed, external: usage.external, rss: usage.rss };
  } finally {
    ws.close();
  }
}
