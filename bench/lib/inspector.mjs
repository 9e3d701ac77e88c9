// node's inspector of a child started with --inspect=127.0.0.1:0, for what reads attache's memory from inside:
// the benches (bench/realworld/load-memory.mjs, bench/inflight-memory.mjs) and the soak test
// (test/support/inspector.ts). `call` sends one DevTools protocol command and resolves with its result
// (events that arrive meanwhile go to `onEvent`), `evaluate` returns the value of a JSON-able expression.
// Every call is bounded (`timeoutMs`, 120 s unless given).
import WebSocket from 'ws';

/** The inspector's WebSocket URL from the child's stderr ("Debugger listening on ws://…"), or undefined. */
export function inspectorUrl(stderr) {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
}

export async function inspector(url, { timeoutMs = 120_000 } = {}) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let next = 0;
  const call = (method, params = {}, onEvent = undefined) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => reject(new Error(`inspector ${method}: no answer in ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (data) => {
        const m = JSON.parse(String(data));
        if (m.method !== undefined) {
          onEvent?.(m);
          return;
        }
        if (m.id !== id) return;
        clearTimeout(timer);
        ws.off('message', onMessage);
        if (m.error || m.result?.exceptionDetails) reject(new Error(`inspector ${method}: ${JSON.stringify(m.error ?? m.result.exceptionDetails)}`));
        else resolve(m.result);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const evaluate = async (expression) => JSON.parse((await call('Runtime.evaluate', { expression: `JSON.stringify(${expression})`, returnByValue: true })).result.value);
  return { call, evaluate, close: () => ws.close() };
}

/** Runs a full, compacting collection in the inspected process (HeapProfiler.collectGarbage), then returns its process.memoryUsage(). */
export async function collectedMemory(insp) {
  await insp.call('HeapProfiler.collectGarbage');
  return insp.evaluate('process.memoryUsage()');
}
