// CPU cost of the call policy driver (dist/upstream/retrying.js) per call, over a scripted Transport that
// answers without any I/O, so the figures are the driver's own work plus a floor shared by every variant
// (the transport double building its AttemptEnd, one metadata per call, awaiting `done`).
// Variants, alternating in blocks so all see the same machine state (median over blocks, process.cpuUsage):
//   floor        transport.start + a bare promise: what any consumer of the Transport pays anyway
//   no-policy    callWithPolicy with neither retry nor hedging (one attempt)
//   retry-ok     retry policy, the first attempt answers OK (the default policy's common case)
//   retry-once   retry policy, UNAVAILABLE then OK after a real backoff timer (initialBackoff 1 ms)
//   retry-now    the same, the failure carrying grpc-retry-pushback-ms: 0 (no timer: the second attempt's own cost)
//   hedge-2      hedging, maxAttempts 2, hedgingDelay 0: both sent, the first OK wins, the other cancelled
// Usage: npm run build && node bench/micro-retrying.mjs [--mode sync|immediate] [--c 16] [--block 20000] [--blocks 7]
import path from 'node:path';
import { arg, REPO_DIR } from './lib/proto.mjs';

const { callWithPolicy, createRetryThrottle } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'retrying.js'));
const { CallMetadata } = await import(path.join(REPO_DIR, 'dist', 'upstream', 'call-metadata.js'));
const MODE = arg('mode', 'immediate');
const C = Number(arg('c', '16'));
const BLOCK = Number(arg('block', '20000'));
const BLOCKS = Number(arg('blocks', '7'));
if (MODE !== 'sync' && MODE !== 'immediate') throw new Error('--mode is sync or immediate');

const RESPONSE = Buffer.from('response');
const MESSAGE = Buffer.from('request');
const UNAVAILABLE = 14;

/** Answers every attempt OK, or fails the first `failFirst` attempts of each call with UNAVAILABLE. */
function scriptedTransport(failFirst, pushback) {
  const failTrailers = () => (pushback !== undefined ? CallMetadata.of([['grpc-retry-pushback-ms', pushback]]) : CallMetadata.EMPTY);
  const answer = (listener, md) => {
    const fail = failFirst > 0 && md.get('grpc-previous-rpc-attempts') === undefined;
    listener.onEnd(
      fail
        ? { code: UNAVAILABLE, details: 'down', response: undefined, headers: undefined, trailers: failTrailers(), unprocessed: false }
        : { code: 0, details: '', response: RESPONSE, headers: undefined, trailers: CallMetadata.EMPTY, unprocessed: false },
    );
  };
  return {
    start(_path, md, _message, _deadline, listener) {
      let done = false;
      if (MODE === 'sync') answer(listener, md);
      else
        setImmediate(() => {
          if (!done) answer(listener, md);
        });
      return {
        cancel() {
          if (done) return;
          done = true;
          listener.onEnd({ code: 1, details: 'Cancelled', response: undefined, headers: undefined, trailers: CallMetadata.EMPTY, unprocessed: false });
        },
      };
    },
    connectivity: () => 'READY',
    close() {},
  };
}

const upstream = {};
const retry = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 10, backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'], perTryTimeoutMs: undefined };
const NO_POLICY = Object.freeze({ safe: true, retry: undefined, hedging: undefined, upstream });
const RETRY = Object.freeze({ safe: true, retry, hedging: undefined, upstream });
const HEDGE = Object.freeze({ safe: true, retry: undefined, hedging: { maxAttempts: 2, hedgingDelayMs: 0, nonFatalStatusCodes: ['UNAVAILABLE'] }, upstream });
// A throttle that never closes (every retry-once call fails one attempt and succeeds once).
const throttle = createRetryThrottle(1000, 1);

const ok = scriptedTransport(0);
const failOnce = scriptedTransport(1);
const failOnceNow = scriptedTransport(1, '0');
const floorCall = (md) => {
  let resolve;
  const done = new Promise((r) => (resolve = r));
  ok.start('/bench.v1.S/M', md, MESSAGE, Date.now() + 15000, { onHeaders() {}, onEnd: (end) => resolve(end) });
  return done;
};
const variants = {
  floor: (md) => floorCall(md),
  'no-policy': (md) => callWithPolicy(ok, '/bench.v1.S/M', MESSAGE, md, 15000, NO_POLICY, throttle).done,
  'retry-ok': (md) => callWithPolicy(ok, '/bench.v1.S/M', MESSAGE, md, 15000, RETRY, throttle).done,
  'retry-once': (md) => callWithPolicy(failOnce, '/bench.v1.S/M', MESSAGE, md, 15000, RETRY, throttle).done,
  'retry-now': (md) => callWithPolicy(failOnceNow, '/bench.v1.S/M', MESSAGE, md, 15000, RETRY, throttle).done,
  'hedge-2': (md) => callWithPolicy(ok, '/bench.v1.S/M', MESSAGE, md, 15000, HEDGE, throttle).done,
};

async function block(fn, n) {
  let left = n;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (left-- > 0) {
        const o = await fn(CallMetadata.of([['x-request-id', 'bench']]));
        if (o.response === undefined) throw new Error(`call failed: ${o.error?.details ?? o.details}`);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs: ((performance.now() - t0) * 1000) / n };
}

// The driver unrefs its backoff timer (in attache the client's socket keeps the process up): keep it up here.
const keepAlive = setInterval(() => {}, 1000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const names = Object.keys(variants);
for (const name of names) await block(variants[name], BLOCK / 4); // warm-up
const results = Object.fromEntries(names.map((n) => [n, []]));
for (let i = 0; i < BLOCKS; i++) for (const name of names) results[name].push(await block(variants[name], BLOCK));
const floor = median(results.floor.map((x) => x.cpuUs));
let out = `call policy driver, transport answering ${MODE === 'sync' ? 'synchronously' : 'on setImmediate'}, c=${C}, ${BLOCKS}×${BLOCK} calls each, CPU µs/call (median of blocks):\n`;
for (const name of names) {
  const cpu = median(results[name].map((x) => x.cpuUs));
  out += `  ${name.padEnd(11)} ${cpu.toFixed(2).padStart(7)}   over floor ${(cpu - floor).toFixed(2).padStart(6)}   wall µs/call ${median(results[name].map((x) => x.wallUs)).toFixed(2)}\n`;
}
process.stdout.write(out);
clearInterval(keepAlive);
