/**
 * The retry throttle of one upstream (gRFC A6 "Throttling Retry Attempts and Hedged RPCs").
 *
 * A token bucket per server name: it starts full at `maxTokens`; every attempt that fails with a retryable
 * (retry policy) or non-fatal (hedging policy) code takes one token, floor 0; every successful call returns
 * `tokenRatio`, capped at `maxTokens`. Retries and hedges are sent only while the count is above
 * `maxTokens / 2`, so a dead upstream cannot turn every call into `maxAttempts` calls (a retry storm). The
 * first attempt of a call is never throttled.
 *
 * Tokens are kept in thousandths: A6 gives `tokenRatio` up to 3 decimal places, and integer arithmetic keeps
 * a long run of refills exact (0.1 added ten times is 1, not 0.9999999999999999).
 */

/** One upstream's bucket, shared by every call to it (whatever the method). */
export interface RetryThrottle {
  /** Whether a retry or hedge may be sent now: tokens > maxTokens / 2. */
  allows(): boolean;
  /** An attempt failed with a retryable or non-fatal code: one token less (floor 0). */
  failed(): void;
  /** A call succeeded: `tokenRatio` tokens more (cap maxTokens). */
  succeeded(): void;
  /** The current token count (tests, metrics). */
  tokens(): number;
}

const MILLI = 1000;

class TokenBucket implements RetryThrottle {
  private milli: number;

  constructor(
    private readonly maxMilli: number,
    private readonly ratioMilli: number,
  ) {
    this.milli = maxMilli;
  }

  allows(): boolean {
    return this.milli * 2 > this.maxMilli;
  }

  failed(): void {
    this.milli = this.milli > MILLI ? this.milli - MILLI : 0;
  }

  succeeded(): void {
    if (this.milli < this.maxMilli) this.milli = Math.min(this.maxMilli, this.milli + this.ratioMilli);
  }

  tokens(): number {
    return this.milli / MILLI;
  }
}

/**
 * A full bucket of `maxTokens` refilled by `tokenRatio` per success (config `outbound.retryThrottleMaxTokens`
 * and `retryThrottleTokenRatio`, validated by the schema). Load-time: throws a RangeError for a value A6
 * does not allow (maxTokens not positive, tokenRatio not positive or rounding to 0 at 3 decimals).
 */
export function createRetryThrottle(maxTokens: number, tokenRatio: number): RetryThrottle {
  const maxMilli = Math.round(maxTokens * MILLI);
  const ratioMilli = Math.round(tokenRatio * MILLI);
  if (!Number.isFinite(maxTokens) || maxMilli <= 0) throw new RangeError(`retry throttling maxTokens must be greater than 0, got ${maxTokens}`);
  if (!Number.isFinite(tokenRatio) || ratioMilli <= 0) throw new RangeError(`retry throttling tokenRatio must be at least 0.001, got ${tokenRatio}`);
  return new TokenBucket(maxMilli, ratioMilli);
}
