import { describe, expect, it } from 'vitest';
import { applyHeapGrowth, AUTO_HEAP_GROWTH_PERCENT, heapGrowthPercentFor, heapGrowthText } from './heap.js';

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

describe('heapGrowthPercentFor', () => {
  const GIB = 1024 * 1024 * 1024;
  it.each([
    ['auto', 'auto', undefined, AUTO_HEAP_GROWTH_PERCENT],
    ['auto', 'auto', GIB, AUTO_HEAP_GROWTH_PERCENT],
    ['auto', 'auto', GIB - 1, 0],
    ['auto', 'off', undefined, 0],
    [0, 'auto', undefined, 0],
    [250, 'off', 128 * 1024 * 1024, 250],
  ] as const)('%j with --heap-tuning %s and a limit of %j bytes → %d', (setting, tuning, limit, percent) => {
    expect(heapGrowthPercentFor(setting, tuning, limit)).toBe(percent);
  });
});

describe('heapGrowthText', () => {
  it('says what is in force', () => {
    expect(heapGrowthText(100)).toBe('heap growth 100% (the old generation may reach 2x its live size between full collections)');
    expect(heapGrowthText(0)).toBe("V8's own heap growing factor");
    expect(heapGrowthText(undefined)).toBe('heap growth as given to node (--heap-growing-percent)');
  });
});
