/**
 * A set of values that come and go all the time (one per request in flight), held in an array of slots.
 *
 * Why not a Set: a long-lived Set or Map whose entries are added and deleted per request makes V8 promote
 * every request's objects to the old generation. Its hash table is rebuilt every few dozen adds and deletes
 * (deleted entries fill it up), and once the table is old, V8 allocates the new one in old space too; the
 * table it replaces is garbage there but keeps the entries it held. Until the next full collection, the
 * scavenger takes those stale pointers from old objects as roots, so the requests that were in flight at each
 * rebuild survive two scavenges and are promoted, with everything they reach. bench/RESULTS.md §23 measured
 * it: ~1.4 KB promoted per request, a full collection every ~1.2 s at c=16. An array of slots is never
 * rebuilt while the number in flight stays under its peak, and a freed slot holds nothing.
 */
export class SlotSet<T> {
  private readonly slots: (T | undefined)[] = [];
  /** Freed slot numbers, reused last-freed first (numbers: they keep nothing alive). */
  private readonly free: number[] = [];
  private count = 0;

  /** How many values are held. */
  get size(): number {
    return this.count;
  }

  /** Adds `value` and returns its slot: the handle `delete` takes. */
  add(value: T): number {
    const slot = this.free.length > 0 ? this.free.pop()! : this.slots.length;
    this.slots[slot] = value;
    this.count++;
    return slot;
  }

  /** Removes the value in `slot` (a handle from `add`, used once). */
  delete(slot: number): void {
    if (this.slots[slot] === undefined) return;
    this.slots[slot] = undefined;
    this.free.push(slot);
    this.count--;
  }

  /** The values held, in no particular order (a copy: deleting while looping over it is safe). */
  values(): T[] {
    const out: T[] = [];
    for (const v of this.slots) if (v !== undefined) out.push(v);
    return out;
  }
}
