import { describe, expect, it } from 'vitest';
import { applyHeapGrowth } from './heap.js';

describe('applyHeapGrowth', () => {
  it.each([
    [20, [], undefined, 'applied', ['--heap-growing-percent=20']],
    [50, ['--enable-source-maps'], '--max-semi-space-size=8', 'applied', ['--heap-growing-percent=50']],
    [0, [], undefined, 'off', []],
    [20, ['--heap-growing-percent=80'], undefined, 'node-flag-wins', []],
    [20, [], '--max-semi-space-size=8 --heap-growing-percent=80', 'node-flag-wins', []],
    [20, [], '--heap_growing_percent=80', 'node-flag-wins', []],
  ] as const)('%d with execArgv %j and NODE_OPTIONS %j → %s', (percent, execArgv, nodeOptions, result, set) => {
    const calls: string[] = [];
    expect(applyHeapGrowth(percent, execArgv, nodeOptions, (f) => calls.push(f))).toBe(result);
    expect(calls).toEqual(set);
  });
});
