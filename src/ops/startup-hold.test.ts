import { describe, expect, it } from 'vitest';
import { holdStartup, MAGLEV_ON_BY_DEFAULT } from './startup-hold.js';
import { nodeFlagGiven } from './heap.js';
import { runModuleScript } from '../../test/support/process.js';

function recorder(): { calls: string[]; controls: { setFlags: (f: string) => void; collectGarbage: (flushCode: boolean) => void } } {
  const calls: string[] = [];
  return { calls, controls: { setFlags: (f) => calls.push(f), collectGarbage: (flushCode) => calls.push(flushCode ? 'gc+flush' : 'gc') } };
}

describe('holdStartup', () => {
  it('holds the young generation and TurboFan until release, then restores V8’s defaults and collects once', () => {
    const { calls, controls } = recorder();
    const hold = holdStartup(['--enable-source-maps'], '--heap-growing-percent=20', controls, false);
    expect(hold.holdsYoungGeneration).toBe(true);
    expect(hold.holdsOptimizer).toBe(true);
    expect(hold.holdsMaglev).toBe(false);
    expect(calls).toEqual(['--semi-space-growth-factor=1', '--no-turbofan']);
    hold.release();
    hold.release();
    expect(hold.flushesCode).toBe(true);
    expect(calls).toEqual(['--semi-space-growth-factor=1', '--no-turbofan', '--semi-space-growth-factor=2', '--turbofan', 'gc+flush']);
  });

  it('also holds Maglev where this node runs it by default, and turns it back on at release', () => {
    const { calls, controls } = recorder();
    const hold = holdStartup([], undefined, controls, true);
    expect(hold.holdsMaglev).toBe(true);
    expect(calls).toEqual(['--semi-space-growth-factor=1', '--no-turbofan', '--no-maglev']);
    hold.release();
    expect(calls.slice(3)).toEqual(['--semi-space-growth-factor=2', '--turbofan', '--maglev', 'gc+flush']);
  });

  it.each([
    [['--no-maglev'], undefined],
    [[], '--maglev'],
    [[], '--no_maglev --inspect'],
    [['--no-opt'], undefined],
    [[], '--jitless'],
  ])('leaves Maglev to node when given %j / NODE_OPTIONS %j', (execArgv, nodeOptions) => {
    const { calls, controls } = recorder();
    const hold = holdStartup(execArgv, nodeOptions, controls, true);
    expect(hold.holdsMaglev).toBe(false);
    hold.release();
    expect(calls.filter((c) => c.includes('maglev'))).toEqual([]);
  });

  it('knows whether this node runs Maglev by default: built with it from Node 22 on', () => {
    const [major] = process.versions.node.split('.').map(Number);
    if (major !== undefined && major >= 22 && (process.arch === 'x64' || process.arch === 'arm64')) expect(MAGLEV_ON_BY_DEFAULT).toBe(true);
    if (major === 20) expect(MAGLEV_ON_BY_DEFAULT).toBe(false);
  });

  it.each([
    [['--no-flush-bytecode'], undefined],
    [[], '--stress-flush-code'],
    [[], '--no_stress_flush_code --inspect'],
  ])('leaves code flushing to node when given %j / NODE_OPTIONS %j', (execArgv, nodeOptions) => {
    const { calls, controls } = recorder();
    const hold = holdStartup(execArgv, nodeOptions, controls, false);
    expect(hold.flushesCode).toBe(false);
    hold.release();
    expect(calls.at(-1)).toBe('gc');
  });

  it.each([
    [['--no-opt'], undefined],
    [[], '--jitless'],
    [[], '--max-opt=2'],
    [['--turbofan'], undefined],
    [[], '--no_turbofan'],
  ])('leaves TurboFan to node when given %j / NODE_OPTIONS %j', (execArgv, nodeOptions) => {
    const { calls, controls } = recorder();
    const hold = holdStartup(execArgv, nodeOptions, controls, false);
    expect(hold.holdsOptimizer).toBe(false);
    hold.release();
    expect(calls).toEqual(['--semi-space-growth-factor=1', '--semi-space-growth-factor=2', 'gc+flush']);
  });

  it.each([
    [['--semi-space-growth-factor=4'], undefined],
    [[], '--semi-space-growth-factor=4'],
    [[], '--semi_space_growth_factor=3 --inspect'],
  ])('leaves the young generation to node when given %j / NODE_OPTIONS %j, and still collects at ready', (execArgv, nodeOptions) => {
    const { calls, controls } = recorder();
    const hold = holdStartup(execArgv, nodeOptions, controls, false);
    expect(hold.holdsYoungGeneration).toBe(false);
    hold.release();
    expect(calls).toEqual(['--no-turbofan', '--turbofan', 'gc+flush']);
  });

  it('still holds the young generation when node was given semi-space sizes: they bound growth after ready', () => {
    const { calls, controls } = recorder();
    const hold = holdStartup(['--max-semi-space-size=8'], '--min-semi-space-size=1', controls, false);
    expect(hold.holdsYoungGeneration).toBe(true);
    expect(calls).toEqual(['--semi-space-growth-factor=1', '--no-turbofan']);
  });

  it('collects for real with the node controls: the process keeps running and `gc` stays out of the main context', () => {
    // Node's own controls: the flags are set and restored, and the collection runs.
    const hold = holdStartup([], undefined);
    expect(() => hold.release()).not.toThrow();
    expect('gc' in globalThis).toBe(false);
  });

  it("returns start-up's freed pages to the system on this V8 (Node 24's pools them: 146 MiB kept without the last-resort flavor)", async () => {
    // A child node with start-up's shape: a lot allocated and dropped, then the hold released.
    const script = `
      import fs from 'node:fs';
      import { holdStartup } from ${JSON.stringify(new URL('../../dist/ops/startup-hold.js', import.meta.url).href)};
      const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const hold = holdStartup([], undefined);
      let keep = [];
      for (let i = 0; i < 1_500_000; i++) keep.push({ a: i, b: 'x' + i });
      const before = anon();
      keep = null;
      hold.release();
      // Node 20's V8 unmaps freed pages on a background thread: give it up to 3 s on a busy machine.
      for (let i = 0; i < 30 && anon() >= before / 2; i++) await new Promise((r) => setTimeout(r, 100));
      process.stdout.write(JSON.stringify({ before, after: anon() }));`;
    const { before, after } = JSON.parse(await runModuleScript(script)) as { before: number; after: number };
    expect(before).toBeGreaterThan(100 * 2 ** 20);
    expect(after).toBeLessThan(before / 2);
  }, 70_000);
});

describe('the optimizing compilers during the hold', () => {
  it('optimize nothing while held, and the hot code again once released (Maglev first, where this node has it)', async () => {
    // A child node: one hot function called while the hold is on, then again after release. V8's
    // %GetOptimizationStatus says whether it was optimized (bit 4) and, on a V8 with Maglev, by Maglev (bit 5).
    const script = `
      import v8 from 'node:v8';
      import { holdStartup, MAGLEV_ON_BY_DEFAULT } from ${JSON.stringify(new URL('../../dist/ops/startup-hold.js', import.meta.url).href)};
      const hold = holdStartup([], undefined);
      v8.setFlagsFromString('--allow-natives-syntax');
      const status = new Function('f', 'return %GetOptimizationStatus(f)');
      v8.setFlagsFromString('--no-allow-natives-syntax');
      const source = 'let s = 0; for (let j = 0; j < a.length; j++) s += a[j] * j; return s;';
      const input = Array.from({ length: 50 }, (_, i) => i);
      // Calls a fresh function until it is optimized (or 400,000 calls), polling its status every 200 calls
      // so that Maglev's code is seen before TurboFan's replaces it; returns every status bit seen.
      const heat = async () => {
        const hot = new Function('a', source);
        let seen = 0;
        for (let round = 0; round < 2000 && !(seen & 16); round++) {
          for (let i = 0; i < 200; i++) hot(input);
          if (round % 10 === 9) await new Promise((r) => setTimeout(r, 2));
          seen |= status(hot);
        }
        return seen;
      };
      const held = await heat();
      hold.release();
      const released = await heat();
      process.stdout.write(JSON.stringify({ held, released, maglev: MAGLEV_ON_BY_DEFAULT }));`;
    const { held, released, maglev } = JSON.parse(await runModuleScript(script)) as { held: number; released: number; maglev: boolean };
    expect(held & 16).toBe(0);
    expect(released & 16).toBe(16);
    // Maglev tiers up first: where it is on, a fresh function is Maglev's before it is TurboFan's.
    if (maglev) expect(released & 32).toBe(32);
  }, 70_000);
});

describe('the collection at ready', () => {
  it("drops the bytecode of code that ran once (start-up's), which is compiled again if it runs again", async () => {
    // A child node with start-up's shape: much code run once, then the hold released.
    const script = `
      import v8 from 'node:v8';
      import { holdStartup } from ${JSON.stringify(new URL('../../dist/ops/startup-hold.js', import.meta.url).href)};
      const hold = holdStartup([], undefined);
      const once = [];
      for (let i = 0; i < 2000; i++) once.push(new Function('a', 'let s = 0; for (let j = 0; j < a; j++) s += j * ' + i + '; return s + ' + i + ';'));
      let sum = 0;
      for (const f of once) sum += f(3);
      const bytecode = () => v8.getHeapCodeStatistics().bytecode_and_metadata_size;
      const before = bytecode();
      hold.release();
      const after = bytecode();
      // Run again: compiled again, the same results.
      let again = 0;
      for (const f of once) again += f(3);
      process.stdout.write(JSON.stringify({ before, after, same: again === sum }));`;
    const { before, after, same } = JSON.parse(await runModuleScript(script)) as { before: number; after: number; same: boolean };
    expect(after).toBeLessThan(before / 2);
    expect(same).toBe(true);
  }, 70_000);
});

describe('nodeFlagGiven', () => {
  it.each([
    [['--a-b'], ['--a-b'], undefined, true],
    [['--a-b'], ['--a-b=3'], undefined, true],
    [['--a-b'], [], ' --a_b=3 ', true],
    [['--a-b'], ['--a-bc=3'], '--x-a-b', false],
    [['--a-b', '--c'], [], '--c', true],
  ] as const)('%j in %j / %j → %s', (flags, execArgv, nodeOptions, given) => {
    expect(nodeFlagGiven(flags, execArgv, nodeOptions)).toBe(given);
  });
});
