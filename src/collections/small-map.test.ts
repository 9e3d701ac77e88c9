import { describe, expect, it } from 'vitest';
import { SmallMap } from './small-map.js';

describe('SmallMap', () => {
  it('reads as the Map of the same entries', () => {
    const entries: [string, number][] = [['a', 1], ['b.c', 2], ['a', 3], ['d', 4]];
    const small = new SmallMap(entries);
    const map = new Map(entries);
    expect(small.size).toBe(map.size);
    for (const k of ['a', 'b.c', 'd', 'x', '']) {
      expect(small.get(k)).toBe(map.get(k));
      expect(small.has(k)).toBe(map.has(k));
    }
    expect([...small]).toEqual([...map]);
    expect([...small.entries()]).toEqual([...map.entries()]);
    expect([...small.keys()]).toEqual([...map.keys()]);
    expect([...small.values()]).toEqual([...map.values()]);
    const seen: [string, number][] = [];
    small.forEach((v, k, m) => {
      expect(m).toBe(small);
      seen.push([k, v]);
    });
    expect(seen).toEqual([...map]);
  });

  it('is empty for no entries, and cannot be changed', () => {
    const small = new SmallMap<string, number>([]);
    expect(small.size).toBe(0);
    expect(small.get('a')).toBeUndefined();
    expect([...small]).toEqual([]);
    expect(Object.isFrozen(small)).toBe(true);
  });
});
