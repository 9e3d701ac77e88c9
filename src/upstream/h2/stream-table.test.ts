import { describe, expect, it } from 'vitest';
import { StreamTable } from './stream-table.js';

const stream = (id: number) => ({ id });

describe('StreamTable', () => {
  it('finds each stream by id until it is deleted', () => {
    const t = new StreamTable<{ id: number }>();
    const a = stream(1);
    const b = stream(3);
    t.add(a);
    t.add(b);
    expect(t.get(1)).toBe(a);
    expect(t.get(3)).toBe(b);
    expect(t.get(5)).toBeUndefined();
    expect(t.size).toBe(2);
    t.delete(a);
    expect(t.get(1)).toBeUndefined();
    expect(t.get(3)).toBe(b);
    expect(t.size).toBe(1);
    t.delete(a);
    expect(t.size).toBe(1);
  });

  it('keeps a long stream when later ids lap the array, and the short ones around it', () => {
    const t = new StreamTable<{ id: number }>();
    const long = stream(1);
    t.add(long);
    // Thousands of short calls, 8 open at a time: ids wrap around the 64 slots many times, and 129, 257, …
    // land on the long stream's slot.
    const open: { id: number }[] = [];
    for (let id = 3; id < 20_000; id += 2) {
      const s = stream(id);
      t.add(s);
      open.push(s);
      if (open.length > 8) t.delete(open.shift()!);
      expect(t.get(1)).toBe(long);
    }
    for (const s of open) expect(t.get(s.id)).toBe(s);
    expect(t.size).toBe(1 + open.length);
    expect(t.values().map((s) => s.id).sort((x, y) => x - y)).toEqual([1, ...open.map((s) => s.id)]);
    t.delete(long);
    expect(t.get(1)).toBeUndefined();
    expect(t.size).toBe(open.length);
  });

  it('grows past its first size without losing a stream', () => {
    const t = new StreamTable<{ id: number }>();
    const all = Array.from({ length: 500 }, (_, i) => stream(2 * i + 1));
    for (const s of all) t.add(s);
    expect(t.size).toBe(500);
    for (const s of all) expect(t.get(s.id)).toBe(s);
    for (const s of all.filter((_, i) => i % 2 === 0)) t.delete(s);
    for (const [i, s] of all.entries()) expect(t.get(s.id)).toBe(i % 2 === 0 ? undefined : s);
    expect(t.size).toBe(250);
  });

  it('gives a copy of its values, and clear empties it', () => {
    const t = new StreamTable<{ id: number }>();
    for (let id = 1; id < 40; id += 2) t.add(stream(id));
    for (const s of t.values()) if (s.id > 20) t.delete(s);
    expect(t.values().map((s) => s.id).sort((x, y) => x - y)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get(1)).toBeUndefined();
    expect(t.values()).toEqual([]);
  });
});
