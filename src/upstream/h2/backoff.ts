/**
 * Reconnect backoff per grpc/doc/connection-backoff.md: INITIAL_BACKOFF, MULTIPLIER 1.6, JITTER 0.2,
 * MAX_BACKOFF, and MIN_CONNECT_TIMEOUT 20 s. Each attempt's next start is fixed when the attempt starts
 * (`current_deadline = now + current_backoff ± jitter`), so a slow failure does not add to the wait; a
 * successful connection resets it.
 */

export const BACKOFF_MULTIPLIER = 1.6;
export const BACKOFF_JITTER = 0.2;
/** connection-backoff.md MIN_CONNECT_TIMEOUT. */
export const MIN_CONNECT_TIMEOUT_MS = 20_000;

/** The backoff state of one connection. Not shared. */
export class Backoff {
  private current: number;
  private nextAt = 0;

  constructor(private readonly initialMs: number, private readonly maxMs: number, private readonly random: () => number = Math.random) {
    this.current = initialMs;
  }

  /**
   * An attempt starts now: returns how long it may take (max(backoff deadline, MIN_CONNECT_TIMEOUT)) and
   * fixes when the next one may start.
   */
  attemptStarted(now: number, minConnectTimeoutMs = MIN_CONNECT_TIMEOUT_MS): number {
    const jitter = this.current * BACKOFF_JITTER * (this.random() * 2 - 1);
    this.nextAt = now + this.current + jitter;
    this.current = Math.min(this.current * BACKOFF_MULTIPLIER, this.maxMs);
    return Math.max(this.nextAt - now, minConnectTimeoutMs);
  }

  /** The attempt failed at `now`: how long to wait before the next one (0 when its time has come). */
  delayAfterFailure(now: number): number {
    return Math.max(0, this.nextAt - now);
  }

  /** A connection succeeded: the next failure starts again from the initial backoff. */
  reset(): void {
    this.current = this.initialMs;
    this.nextAt = 0;
  }
}
