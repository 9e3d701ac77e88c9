/**
 * A read-only map of a few entries (a route's path variables), kept as two arrays and looked up by a scan.
 *
 * Why not a Map: every route keeps such tables for the snapshot's life, and a Map of one or two entries
 * costs ~200–300 bytes of heap (its hash table is allocated for more), against ~100 for this. A real API set
 * has thousands of routes (bench/realworld's 25-package set: 1,218). Lookups scan, which for the handful of
 * variables a template binds is as fast as hashing.
 */
export class SmallMap<K, V> implements ReadonlyMap<K, V> {
  private readonly keyList: readonly K[];
  private readonly valueList: readonly V[];

  /** The map of `entries`, in their order; a repeated key keeps its first place and takes its last value. */
  constructor(entries: Iterable<readonly [K, V]>) {
    const keys: K[] = [];
    const values: V[] = [];
    for (const [k, v] of entries) {
      const i = keys.indexOf(k);
      if (i >= 0) {
        values[i] = v;
      } else {
        keys.push(k);
        values.push(v);
      }
    }
    // Copied to their length: an array grown by push keeps spare capacity.
    this.keyList = Object.freeze(keys.slice());
    this.valueList = Object.freeze(values.slice());
    Object.freeze(this);
  }

  get size(): number {
    return this.keyList.length;
  }

  get(key: K): V | undefined {
    const i = this.keyList.indexOf(key);
    return i < 0 ? undefined : this.valueList[i];
  }

  has(key: K): boolean {
    return this.keyList.includes(key);
  }

  forEach(f: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.keyList.length; i++) f.call(thisArg, this.valueList[i]!, this.keyList[i]!, this);
  }

  *entries(): MapIterator<[K, V]> {
    for (let i = 0; i < this.keyList.length; i++) yield [this.keyList[i]!, this.valueList[i]!];
  }

  *keys(): MapIterator<K> {
    yield* this.keyList;
  }

  *values(): MapIterator<V> {
    yield* this.valueList;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}
