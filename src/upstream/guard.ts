/**
 * Admission to one upstream: its circuit breaker, then its bulkhead. The request path asks before the call
 * and reports the outcome after it; a refusal is an RpcStatus answered at once, without touching the
 * upstream:
 * - breaker open: UNAVAILABLE (HTTP 503) with a google.rpc.RetryInfo detail, which the error writer also
 *   turns into `Retry-After` (docs/resilience.md, "Circuit breaker");
 * - bulkhead and its queue full: RESOURCE_EXHAUSTED with HTTP 503 (not the table's 429: the caller is not
 *   over a quota of its own, the upstream is saturated);
 * - the call's deadline passes while it waits in the queue: DEADLINE_EXCEEDED (504).
 *
 * While the breaker is open, each refused call also looks at the wire's connectivity (asking an idle wire to
 * connect): once the connection was seen lost and is READY again, the breaker probes at once
 * (breaker.ts "Recovery"), so an upstream restart costs a reconnect, not the whole open time.
 */
import { Code, RpcStatus } from '../status/status.js';
import { createBreaker, type Admission, type Breaker, type BreakerState } from './breaker.js';
import { createBulkhead, type Bulkhead } from './bulkhead.js';
import type { UpstreamPolicy } from './policy.js';
import type { Connectivity } from './transport.js';

export type { Admission } from './breaker.js';

export interface Guard {
  /**
   * Admits a call (an Admission to hand back to {@link settle}), refuses it (an RpcStatus), or, when the
   * bulkhead is full and its queue is not, returns a promise of either. Synchronous on the common path.
   */
  admit(timeoutMs: number): Admission | RpcStatus | Promise<Admission | RpcStatus>;
  /**
   * The final status code of an admitted call: frees its bulkhead slot and feeds the breaker. With
   * `callerDeadline` (the caller shortened the call's deadline below the rule's or the default), a
   * DEADLINE_EXCEEDED is the caller's impatience, not the upstream's failure, and counts as neither: a client
   * sending 50 ms deadlines must not open the breaker for every other caller of the upstream.
   */
  settle(admission: Admission, code: number, callerDeadline?: boolean): void;
  breakerState(): BreakerState;
  readonly bulkhead: Bulkhead;
}

const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * Creates the guard of one upstream. `connectivity` is its wire's (`connect` asks an idle wire to connect);
 * `now` is the clock (ms).
 */
export function createGuard(policy: UpstreamPolicy, connectivity: (connect: boolean) => Connectivity, now: () => number = Date.now): Guard {
  const b = policy.breaker;
  const breaker: Breaker | undefined = b.enabled ? createBreaker(b) : undefined;
  const bulkhead = createBulkhead(policy.bulkhead);
  const key = policy.key;

  const refuseOpen = (): RpcStatus => {
    const ms = breaker!.retryAfterMs(now());
    const seconds = Math.ceil(ms / 1000);
    return new RpcStatus(Code.UNAVAILABLE, `the circuit breaker for ${key} is open after repeated upstream failures; retry in ${seconds} s`, [
      { '@type': RETRY_INFO, retryDelay: `${seconds}s` },
    ]);
  };
  const full = (): RpcStatus =>
    new RpcStatus(
      Code.RESOURCE_EXHAUSTED,
      `too many concurrent calls to ${key}: ${policy.bulkhead.maxConcurrent} in flight and ${policy.bulkhead.maxQueue} waiting`,
      [],
      { httpStatus: 503 },
    );
  const giveBack = (a: Admission): void => breaker?.record(a, Code.CANCELLED, now());
  /** The connection was seen not READY while the breaker was open. */
  let sawLost = false;
  /** Refused by the open breaker: a probe instead, if the connection came back (see the module comment). */
  const readmit = (): Admission | undefined => {
    if (connectivity(true) !== 'READY') {
      sawLost = true;
      return undefined;
    }
    if (!sawLost) return undefined;
    sawLost = false;
    return breaker!.connectionReady(now()) ? breaker!.admit(now()) : undefined;
  };

  return {
    admit(timeoutMs) {
      const a: Admission | undefined = breaker === undefined ? 'call' : (breaker.admit(now()) ?? readmit());
      if (a === undefined) return refuseOpen();
      if (bulkhead.tryAcquire()) return a;
      const waiting = bulkhead.enqueue(timeoutMs);
      if (waiting === false) {
        giveBack(a);
        return full();
      }
      return waiting.then((ok) => {
        if (ok) return a;
        giveBack(a);
        return new RpcStatus(Code.DEADLINE_EXCEEDED, `the call's deadline of ${timeoutMs} ms passed while waiting for a free slot to ${key}`);
      });
    },
    settle(a, code, callerDeadline = false) {
      bulkhead.release();
      breaker?.record(a, code === Code.DEADLINE_EXCEEDED && callerDeadline ? Code.CANCELLED : code, now());
    },
    breakerState: () => breaker?.state(now()) ?? 'closed',
    bulkhead,
  };
}
