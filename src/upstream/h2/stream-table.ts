/**
 * A session's open streams by id, in an array of slots indexed by the id (this client numbers its streams
 * 1, 3, 5, …: slot `(id >>> 1) & mask`), with a Map only for a stream that outlives a whole lap of the array.
 *
 * Why not a Map: a long-lived Map with one set and one delete per call makes V8 promote every call's objects
 * (collections/slot-set.ts says how). Unary calls close roughly in the order they opened, so each slot is
 * free again long before the id that next maps to it comes: the array is only rebuilt when the number of
 * open streams passes half its length, and the Map stays empty. A stream that is still open when a later id
 * needs its slot (a long stream among many unary calls) moves to the Map, where it stays until it closes.
 */
export interface Identified {
  /** The stream id: odd, and unique within the table. */
  readonly id: number;
}

const INITIAL_SLOTS = 64;

export class StreamTable<T extends Identified> {
  /** A power of two long, so that an id's slot is a mask away. */
  private slots: (T | undefined)[] = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  private readonly overflow = new Map<number, T>();
  private count = 0;

  /** How many streams are held. */
  get size(): number {
    return this.count;
  }

  /** The stream with `id`, if held. */
  get(id: number): T | undefined {
    const s = this.slots[this.slotOf(id)];
    if (s !== undefined && s.id === id) return s;
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  /** Adds `s` (its id must not be held). */
  add(s: T): void {
    if (this.count >= this.slots.length >>> 1) this.grow();
    this.place(s);
    this.count++;
  }

  /** Removes `s` if it is held. */
  delete(s: T): void {
    const i = this.slotOf(s.id);
    if (this.slots[i] === s) this.slots[i] = undefined;
    else if (!this.overflow.delete(s.id)) return;
    this.count--;
  }

  /** The streams held, in no particular order (a copy: closing streams while looping over it is safe). */
  values(): T[] {
    const out: T[] = [];
    for (const s of this.slots) if (s !== undefined) out.push(s);
    for (const s of this.overflow.values()) out.push(s);
    return out;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.overflow.clear();
    this.count = 0;
  }

  /** Ids are odd and consecutive ones differ by 2: halved, they take consecutive slots. */
  private slotOf(id: number): number {
    return (id >>> 1) & (this.slots.length - 1);
  }

  private place(s: T): void {
    const i = this.slotOf(s.id);
    const held = this.slots[i];
    // The stream in the slot has outlived a lap of the array: it moves aside rather than the new one, since
    // it is the one likely to stay open.
    if (held !== undefined) this.overflow.set(held.id, held);
    this.slots[i] = s;
  }

  private grow(): void {
    const all = this.values();
    this.slots = new Array<T | undefined>(this.slots.length * 2).fill(undefined);
    this.overflow.clear();
    for (const s of all) this.place(s);
  }
}
