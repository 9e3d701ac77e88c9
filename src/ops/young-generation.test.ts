import { describe, expect, it } from 'vitest';
import { holdYoungGeneration, type YoungGenerationControls } from './young-generation.js';

const MiB = 1024 * 1024;

function recorder(sizes: number[]): { controls: YoungGenerationControls; flags: string[]; collect: () => void; stopped: () => boolean } {
  const flags: string[] = [];
  let after: (() => void) | undefined;
  let size = sizes.shift()!;
  return {
    flags,
    controls: {
      setFlags: (f) => flags.push(f),
      size: () => size,
      afterEachCollection: (f) => {
        after = f;
        return () => (after = undefined);
      },
    },
    collect: () => {
      size = sizes.shift() ?? size;
      after?.();
    },
    stopped: () => after === undefined,
  };
}

describe('the young generation ceiling', () => {
  it('holds growth once the young generation reaches the ceiling, and lets it grow again below it', () => {
    const r = recorder([4 * MiB, 8 * MiB, 16 * MiB, 16 * MiB, 8 * MiB, 16 * MiB]);
    const stop = holdYoungGeneration(16 * MiB, r.controls);
    expect(r.flags).toEqual([]);
    r.collect(); // 8
    expect(r.flags).toEqual([]);
    r.collect(); // 16: at the ceiling
    expect(r.flags).toEqual(['--semi-space-growth-factor=1']);
    r.collect(); // still 16: nothing new
    expect(r.flags).toHaveLength(1);
    r.collect(); // V8 shrank it to 8
    expect(r.flags).toEqual(['--semi-space-growth-factor=1', '--semi-space-growth-factor=2']);
    r.collect(); // 16 again
    expect(r.flags.at(-1)).toBe('--semi-space-growth-factor=1');
    stop();
    expect(r.stopped()).toBe(true);
    expect(r.flags.at(-1)).toBe('--semi-space-growth-factor=2');
  });
});

describe('the young generation ceiling on this V8', () => {
  // A child node allocating objects that survive a while (as start-up, or many requests in flight, do), with
  // and without the hold: V8 grows the young generation to its own maximum (Node 20: 32 MiB, Node 24: 128
  // MiB committed) without it, and stops at the ceiling with it.
  const script = (ceiling: number): string => `
    import v8 from 'node:v8';
    import { holdYoungGeneration } from ${JSON.stringify(new URL('../../dist/ops/young-generation.js', import.meta.url).href)};
    if (${ceiling} > 0) holdYoungGeneration(${ceiling});
    const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    let keep = [];
    let most = 0;
    for (let round = 0; round < 120; round++) {
      for (let i = 0; i < 20000; i++) keep.push({ a: i, b: 'x' + i, c: [i] });
      if (keep.length > 100000) keep = keep.slice(50000);
      await new Promise((r) => setImmediate(r));
      most = Math.max(most, size());
    }
    process.stdout.write(String(most));`;
  const largest = async (ceiling: number): Promise<number> => {
    const { execFile } = await import('node:child_process');
    return new Promise((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script(ceiling)], { timeout: 60_000 }, (err, out) => (err ? reject(err) : resolve(Number(out)))),
    );
  };

  it('holds it at 16 MiB, where V8 alone grows it further', async () => {
    expect(await largest(0)).toBeGreaterThan(16 * MiB);
    expect(await largest(16 * MiB)).toBeLessThanOrEqual(16 * MiB);
  }, 130_000);
});
