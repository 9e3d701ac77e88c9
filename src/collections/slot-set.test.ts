import { describe, expect, it } from 'vitest';
import { SlotSet } from './slot-set.js';

describe('SlotSet', () => {
  it('holds what was added until its slot is deleted', () => {
    const s = new SlotSet<string>();
    const a = s.add('a');
    const b = s.add('b');
    expect(s.size).toBe(2);
    expect(s.values().sort()).toEqual(['a', 'b']);
    s.delete(a);
    expect(s.size).toBe(1);
    expect(s.values()).toEqual(['b']);
    s.delete(b);
    expect(s.size).toBe(0);
    expect(s.values()).toEqual([]);
  });

  it('ignores a slot deleted twice, so the count stays right', () => {
    const s = new SlotSet<number>();
    const a = s.add(1);
    s.add(2);
    s.delete(a);
    s.delete(a);
    expect(s.size).toBe(1);
    expect(s.values()).toEqual([2]);
  });

  it('reuses freed slots, so churn at a steady level never grows it', () => {
    const s = new SlotSet<object>();
    const inFlight: number[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const slot = s.add({ i });
      seen.add(slot);
      inFlight.push(slot);
      if (inFlight.length > 16) s.delete(inFlight.shift()!);
    }
    expect(s.size).toBe(16);
    expect(Math.max(...seen)).toBeLessThan(17);
  });

  it('gives a copy of its values: deleting while looping over them is safe', () => {
    const s = new SlotSet<string>();
    const slots = new Map(['x', 'y', 'z'].map((v) => [v, s.add(v)]));
    for (const v of s.values()) s.delete(slots.get(v)!);
    expect(s.size).toBe(0);
  });
});
