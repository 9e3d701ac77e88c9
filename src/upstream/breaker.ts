/**
 * A circuit breaker per upstream: closed → open on `consecutiveFailures` failures in a row, or when the
 * failure ratio over a sliding window of `windowMs` reaches `failureRatio` with at least `minimumCalls`
 * calls; open → half-open after `openMs`, letting `halfOpenProbes` calls through; half-open → closed when
 * they all succeed, or back to open on the first failure (the pattern as Nygard's "Release It!" and
 * resilience4j describe it).
 *
 * Written here rather than taken from cockatiel or opossum: both wrap the call in `execute(fn)`, which hides
 * the admission decision we need to answer 503 at once with our own Retry-After and Status body, and costs
 * a closure and a promise per call; cockatiel's breakers are either consecutive or sampling, not both, and
 * opossum adds its own call timeout, rolling-window interval timers and an EventEmitter per breaker. This
 * one is ~100 lines of state with no timers (state moves on admission and on recording, from an injected
 * clock) and no allocation per call: the window is a fixed ring of buckets.
 *
 * Recovery. An upstream that restarted is back long before `openMs` has passed; the guard (guard.ts) tells the
 * breaker when the transport's connection, lost while the breaker was open, is READY again, and the breaker
 * then lets its probes through at once ({@link Breaker.connectionReady}). If such an early probe fails, the
 * upstream is flapping: that open period runs its whole `openMs`, and early probes are allowed again only
 * after a probe succeeds.
 *
 * Which outcomes count: UNAVAILABLE, DEADLINE_EXCEEDED and INTERNAL (how grpc-js reports transport
 * errors: connection refused or reset, protocol errors, a keepalive timeout) are failures; every other code
 * means the upstream answered, so it is a success; CANCELLED (the client went away) counts as neither.
 */
import { Code } from '../status/status.js';

export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** How a call was let through: as an ordinary call, or as one of the half-open probes. */
export type Admission = 'call' | 'probe';

/** The breaker's settings (policy.ts BreakerPolicy). */
export interface BreakerOptions {
  readonly consecutiveFailures: number;
  readonly failureRatio: number;
  readonly windowMs: number;
  readonly minimumCalls: number;
  readonly openMs: number;
  readonly halfOpenProbes: number;
}

export interface Breaker {
  /** Lets a call through (`'call'` or `'probe'`), or refuses it (undefined): then see {@link retryAfterMs}. */
  admit(now: number): Admission | undefined;
  /** The outcome of an admitted call. Outcomes of calls admitted before the state changed are ignored. */
  record(admission: Admission, code: number, now: number): void;
  /** Milliseconds until a refused call may be tried again (at least 1). */
  retryAfterMs(now: number): number;
  state(now: number): BreakerState;
  /**
   * The upstream's connection became READY again while the breaker is open: go half-open now, unless an early
   * probe already failed (flapping). Returns whether it did.
   */
  connectionReady(now: number): boolean;
}

/** Whether a final status code counts against the upstream. */
export function isBreakerFailure(code: number): boolean {
  return code === Code.UNAVAILABLE || code === Code.DEADLINE_EXCEEDED || code === Code.INTERNAL;
}

/** Buckets in the sliding window; the window slides in steps of windowMs / BUCKETS. */
const BUCKETS = 10;

/** Creates a closed breaker. `options` must be valid (service-config.ts breakerPolicyProblems). */
export function createBreaker(o: BreakerOptions): Breaker {
  let state: BreakerState = 'closed';
  let consecutive = 0;
  let openedAt = 0;
  let probesInFlight = 0;
  let probeSuccesses = 0;
  /** The current half-open state came early (connectionReady), and whether early probes are allowed. */
  let early = false;
  let earlyAllowed = true;
  const bucketMs = Math.max(1, o.windowMs / BUCKETS);
  // bucket i covers [epoch[i], epoch[i] + bucketMs); a bucket whose epoch is out of the window is stale.
  const epoch = new Float64Array(BUCKETS).fill(-Infinity);
  const calls = new Uint32Array(BUCKETS);
  const failures = new Uint32Array(BUCKETS);

  const resetWindow = (): void => {
    epoch.fill(-Infinity);
    calls.fill(0);
    failures.fill(0);
    consecutive = 0;
  };
  const open = (now: number): void => {
    // A failed early probe means the upstream flaps: no early probe until a probe succeeds.
    if (state === 'halfOpen' && early) earlyAllowed = false;
    early = false;
    state = 'open';
    openedAt = now;
    probesInFlight = 0;
    probeSuccesses = 0;
    resetWindow();
  };
  const tick = (now: number): void => {
    if (state === 'open' && now - openedAt >= o.openMs) {
      state = 'halfOpen';
      probesInFlight = 0;
      probeSuccesses = 0;
    }
  };
  const count = (failed: boolean, now: number): void => {
    const start = Math.floor(now / bucketMs) * bucketMs;
    const i = Math.floor(now / bucketMs) % BUCKETS;
    if (epoch[i] !== start) {
      epoch[i] = start;
      calls[i] = 0;
      failures[i] = 0;
    }
    calls[i]!++;
    if (failed) failures[i]!++;
    let n = 0;
    let f = 0;
    for (let j = 0; j < BUCKETS; j++) {
      if (now - epoch[j]! < o.windowMs) {
        n += calls[j]!;
        f += failures[j]!;
      }
    }
    if (failed && n >= o.minimumCalls && f / n >= o.failureRatio) open(now);
  };

  return {
    admit(now) {
      tick(now);
      if (state === 'closed') return 'call';
      if (state === 'halfOpen' && probesInFlight < o.halfOpenProbes) {
        probesInFlight++;
        return 'probe';
      }
      return undefined;
    },
    record(admission, code, now) {
      if (code === Code.CANCELLED) {
        if (admission === 'probe' && state === 'halfOpen') probesInFlight--;
        return;
      }
      const failed = isBreakerFailure(code);
      if (admission === 'probe') {
        if (state !== 'halfOpen') return;
        if (failed) {
          open(now);
        } else if (++probeSuccesses >= o.halfOpenProbes) {
          state = 'closed';
          early = false;
          earlyAllowed = true;
          resetWindow();
        }
        return;
      }
      if (state !== 'closed') return;
      consecutive = failed ? consecutive + 1 : 0;
      if (failed && consecutive >= o.consecutiveFailures) open(now);
      else count(failed, now);
    },
    retryAfterMs(now) {
      tick(now);
      // Half-open with every probe slot taken: the probes decide within about one call's time.
      return state === 'open' ? Math.max(1, o.openMs - (now - openedAt)) : Math.max(1, Math.min(o.openMs, 1000));
    },
    state(now) {
      tick(now);
      return state;
    },
    connectionReady(now) {
      tick(now);
      if (state !== 'open' || !earlyAllowed) return false;
      state = 'halfOpen';
      early = true;
      probesInFlight = 0;
      probeSuccesses = 0;
      return true;
    },
  };
}
