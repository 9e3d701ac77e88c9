import { describe, expect, it } from 'vitest';
import { createBulkhead } from './bulkhead.js';

describe('createBulkhead', () => {
  it('admits up to maxConcurrent, queues up to maxQueue, refuses the rest at once', async () => {
    const b = createBulkhead({ maxConcurrent: 2, maxQueue: 1 });
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    const waiting = b.enqueue(1000);
    expect(waiting).toBeInstanceOf(Promise);
    expect(b.enqueue(1000)).toBe(false);
    expect(b.queued).toBe(1);
    b.release(); // the slot passes to the waiter
    expect(await waiting).toBe(true);
    expect(b.active).toBe(2);
    expect(b.queued).toBe(0);
    b.release();
    b.release();
    expect(b.active).toBe(0);
  });

  it('a waiter gives up at its timeout', async () => {
    const b = createBulkhead({ maxConcurrent: 1, maxQueue: 5 });
    b.tryAcquire();
    const waiting = b.enqueue(20);
    expect(await waiting).toBe(false);
    expect(b.queued).toBe(0);
    b.release();
    expect(b.active).toBe(0);
  });

  it('rejectQueued ends every wait at once and leaves the slots as they were', async () => {
    const b = createBulkhead({ maxConcurrent: 1, maxQueue: 5 });
    b.tryAcquire();
    const waits = [b.enqueue(60_000), b.enqueue(60_000)];
    b.rejectQueued();
    expect(await Promise.all(waits)).toEqual([false, false]);
    expect(b.queued).toBe(0);
    expect(b.active).toBe(1);
    b.release();
    expect(b.active).toBe(0);
  });

  it('newcomers do not overtake waiters', () => {
    const b = createBulkhead({ maxConcurrent: 1, maxQueue: 5 });
    b.tryAcquire();
    void b.enqueue(1000);
    b.release(); // to the waiter
    expect(b.tryAcquire()).toBe(false);
    b.release();
    expect(b.tryAcquire()).toBe(true);
  });

  it('maxConcurrent 0 means no limit; maxQueue 0 means no queue', () => {
    const unlimited = createBulkhead({ maxConcurrent: 0, maxQueue: 0 });
    for (let i = 0; i < 1000; i++) expect(unlimited.tryAcquire()).toBe(true);
    const noQueue = createBulkhead({ maxConcurrent: 1, maxQueue: 0 });
    noQueue.tryAcquire();
    expect(noQueue.enqueue(1000)).toBe(false);
  });
});
