/**
 * A bulkhead per upstream: at most `maxConcurrent` calls in flight, at most `maxQueue` more waiting for a
 * slot, and everything beyond that refused at once, so a slow upstream costs a bounded amount of memory and
 * sockets instead of an unbounded backlog (the pattern from Nygard's "Release It!"; cockatiel's `bulkhead`
 * is the same idea behind an `execute(fn)` wrapper, which would hide the refusal we answer ourselves).
 *
 * A waiter gives up when its call's deadline passes; a slot freed while someone waits goes straight to the
 * oldest waiter. No timers exist unless someone waits; each waiter's timer is unref'd and cleared.
 */

export interface Bulkhead {
  /** Takes a slot when one is free. Synchronous and allocation-free on the common path. */
  tryAcquire(): boolean;
  /**
   * Waits up to `timeoutMs` for a slot: resolves true with the slot taken, or false on timeout. Returns
   * false at once (no promise) when the queue is full or disabled (maxQueue 0).
   */
  enqueue(timeoutMs: number): Promise<boolean> | false;
  /** Gives back a slot taken by tryAcquire or a successful enqueue. */
  release(): void;
  /** Ends every wait at once, as a timeout would (the drain's last step: nothing may outlive it). */
  rejectQueued(): void;
  /** Calls holding a slot. */
  readonly active: number;
  /** Calls waiting. */
  readonly queued: number;
}

export interface BulkheadOptions {
  /** 0 means no limit. */
  readonly maxConcurrent: number;
  readonly maxQueue: number;
}

interface Waiter {
  resolve(ok: boolean): void;
  timer: NodeJS.Timeout | undefined;
}

/** Creates an empty bulkhead. */
export function createBulkhead(o: BulkheadOptions): Bulkhead {
  let active = 0;
  const waiters: Waiter[] = [];
  const unlimited = o.maxConcurrent === 0;
  return {
    tryAcquire() {
      if (!unlimited && (active >= o.maxConcurrent || waiters.length > 0)) return false;
      active++;
      return true;
    },
    enqueue(timeoutMs) {
      if (waiters.length >= o.maxQueue) return false;
      return new Promise<boolean>((resolve) => {
        const w: Waiter = { resolve, timer: undefined };
        w.timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          resolve(false);
        }, Math.max(0, timeoutMs));
        w.timer.unref();
        waiters.push(w);
      });
    },
    release() {
      const next = waiters.shift();
      if (next === undefined) {
        active--;
        return;
      }
      // The slot passes to the waiter: `active` stays the same.
      clearTimeout(next.timer);
      next.resolve(true);
    },
    rejectQueued() {
      for (const w of waiters.splice(0)) {
        clearTimeout(w.timer);
        w.resolve(false);
      }
    },
    get active() {
      return active;
    },
    get queued() {
      return waiters.length;
    },
  };
}
