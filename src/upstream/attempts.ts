/**
 * Per-try timeouts: each attempt gets `min(perTryTimeout, what is left of the call's deadline)`, and an
 * attempt that ends DEADLINE_EXCEEDED while the call's own deadline has not passed is tried again, with the
 * gRFC A6 backoff (a random delay up to min(initialBackoff × multiplier^(n-1), maxBackoff)).
 *
 * grpc-js implements gRFC A6 retries but has no per-attempt timeout (A6 left it out; Envoy's `per_try_timeout`
 * is the model), so this thin loop sits around the grpc-js call; grpc-js still retries UNAVAILABLE inside
 * each attempt. policy.ts allows a per-try timeout on safe methods only. The whole loop is bounded by the
 * call's deadline and by maxAttempts.
 */
import { Code } from '../status/status.js';
import type { RunningCall, UnaryOutcome } from './call.js';
import type { RetryPolicy } from './policy.js';

/**
 * Runs `start(attemptTimeoutMs)` until an attempt ends other than by its own per-try deadline.
 * `retry.perTryTimeoutMs` must be set. Cancelling cancels the running attempt and stops the loop.
 */
export function callWithPerTryTimeout(
  start: (timeoutMs: number) => RunningCall,
  retry: RetryPolicy & { readonly perTryTimeoutMs: number },
  timeoutMs: number,
  now: () => number = Date.now,
): RunningCall {
  const deadline = now() + timeoutMs;
  let current: RunningCall | undefined;
  let cancelled = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
      timer.unref();
    });

  const run = async (): Promise<UnaryOutcome> => {
    for (let attempt = 1; ; attempt++) {
      const left = deadline - now();
      const tryMs = Math.max(1, Math.min(retry.perTryTimeoutMs, left));
      current = start(tryMs);
      const outcome = await current.done;
      const perTryExpired = outcome.error?.code === Code.DEADLINE_EXCEEDED && tryMs < left;
      if (!perTryExpired || cancelled || attempt >= retry.maxAttempts) return outcome;
      const backoff = Math.random() * Math.min(retry.initialBackoffMs * retry.backoffMultiplier ** (attempt - 1), retry.maxBackoffMs);
      if (now() + backoff >= deadline) return outcome;
      await sleep(backoff);
      if (cancelled) return outcome;
    }
  };
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
      wake?.();
      current?.cancel();
    },
    done: run(),
  };
}
