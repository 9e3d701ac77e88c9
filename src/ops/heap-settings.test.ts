import { describe, expect, it } from 'vitest';
import { decideHeapSettings, semiSpaceMiBFor, type HeapInputs } from './heap-settings.js';

const MIB = 1024 * 1024;
const HOST = 24 * 1024 * MIB;
/** A 128 MiB pod on Node 24, no flags: the case the issue is about. */
const POD: HeapInputs = {
  limitBytes: 128 * MIB, totalBytes: HOST, execArgv: [], nodeOptions: undefined, guard: undefined, tuning: 'auto', growth: 'auto', workers: 1, canReExecute: true,
};

describe('semiSpaceMiBFor', () => {
  it.each([
    [32, 2], [64, 4], [100, 4], [128, 8], [192, 8], [256, 16], [384, 16], [512, 16], [900, 16], [8, 2],
  ])('a %d MiB share → %d MiB semi-spaces', (budget, semi) => {
    expect(semiSpaceMiBFor(budget * MIB)).toBe(semi);
  });
});

describe('decideHeapSettings', () => {
  it('re-executes with semi-spaces sized to the limit when node was given none', () => {
    expect(decideHeapSettings(POD)).toEqual({
      action: 're-execute',
      flags: ['--max-semi-space-size=8'],
      settings: { source: 'memory-limit', semiSpaceMiB: 8, limitBytes: 128 * MIB, reason: '8 MiB semi-spaces, chosen by attache for the 128 MiB limit', growthPercent: 0 },
    });
    expect(decideHeapSettings({ ...POD, limitBytes: 256 * MIB })).toMatchObject({ action: 're-execute', flags: ['--max-semi-space-size=16'] });
  });

  it("sizes each worker's share: --workers 2 in 384 MiB gets a 192 MiB share each", () => {
    expect(decideHeapSettings({ ...POD, limitBytes: 384 * MIB, workers: 2 })).toMatchObject({ action: 're-execute', flags: ['--max-semi-space-size=8'] });
  });

  it.each([
    ['no limit (0)', { limitBytes: 0 }],
    ['a "limit" of 2^64 (Node 24 with no cgroup limit)', { limitBytes: 2 ** 64 }],
    ['a limit at the host memory', { limitBytes: HOST }],
    ['a 1 GiB limit (V8 already picks 16 MiB)', { limitBytes: 1024 * MIB }],
  ] as const)('does not re-execute for %s, and holds the young generation at 8 MiB semi-spaces at run time', (_name, change) => {
    const d = decideHeapSettings({ ...POD, ...change });
    expect(d.action).toBe('keep');
    expect(d.settings).toMatchObject({ source: 'held', semiSpaceMiB: 8 });
    expect(d.settings.reason).toContain('held at 8 MiB semi-spaces at run time');
  });

  it('holds nothing where node was given the growth factor: V8 sizes and grows it as told', () => {
    const d = decideHeapSettings({ ...POD, limitBytes: 0, execArgv: ['--semi-space-growth-factor=4'] });
    expect(d.settings).toMatchObject({ source: 'node-default', semiSpaceMiB: undefined });
  });

  it.each([
    ['--heap-tuning off', { tuning: 'off' }, 'opted-out'],
    ['--heap-tuning off, no limit', { tuning: 'off', limitBytes: 0 }, 'opted-out'],
    ['no process.execve (Node 20, Windows)', { canReExecute: false }, 'not-possible'],
  ] as const)('keeps V8 sizing for %s', (_name, change, source) => {
    const d = decideHeapSettings({ ...POD, ...change });
    expect(d.action).toBe('keep');
    expect(d.settings.source).toBe(source);
    expect(d.settings.semiSpaceMiB).toBeUndefined();
  });

  it('says what to do where it cannot re-execute', () => {
    expect(decideHeapSettings({ ...POD, canReExecute: false }).settings.reason).toContain('NODE_OPTIONS=--max-semi-space-size=8');
  });

  it.each([
    ['execArgv', { execArgv: ['--max-semi-space-size=4'] }, 4],
    ['execArgv, underscores', { execArgv: ['--max_semi_space_size=32'] }, 32],
    ['NODE_OPTIONS', { nodeOptions: '--enable-source-maps --max-semi-space-size=2' }, 2],
    ['--min-semi-space-size', { nodeOptions: '--min-semi-space-size=4' }, undefined],
    ['NODE_OPTIONS, even with --heap-tuning off', { nodeOptions: '--max-semi-space-size=4', tuning: 'off' }, 4],
  ] as const)('leaves a semi-space flag given to node alone (%s)', (_name, change, semi) => {
    const d = decideHeapSettings({ ...POD, ...change });
    expect(d).toMatchObject({ action: 'keep', settings: { source: 'node-flag', semiSpaceMiB: semi } });
  });

  it('reports its own choice in the re-executed process and in its workers (guard set, flag in execArgv)', () => {
    const d = decideHeapSettings({ ...POD, execArgv: ['--max-semi-space-size=8', '--enable-source-maps'], guard: '8' });
    expect(d).toEqual({
      action: 'keep',
      settings: { source: 'memory-limit', semiSpaceMiB: 8, limitBytes: 128 * MIB, reason: '8 MiB semi-spaces, chosen by attache for the 128 MiB limit', growthPercent: 0 },
    });
  });

  describe('heap growth', () => {
    it.each([
      ['no limit: auto fixes it at 100%', { limitBytes: 0 }, 100],
      ['a limit of 1 GiB or more: as no limit', { limitBytes: 1024 * MIB }, 100],
      ["a 128 MiB limit: V8's own factor, which it already scales down there", {}, 0],
      ["a 512 MiB limit: V8's own", { limitBytes: 512 * MIB }, 0],
      ["--heap-tuning off, no limit: V8's own", { limitBytes: 0, tuning: 'off' }, 0],
      ['a number is used anywhere: in a limit', { growth: 50 }, 50],
      ['a number is used anywhere: no limit, tuning off', { growth: 20, limitBytes: 0, tuning: 'off' }, 20],
      ["0 is V8's own, with no limit too", { growth: 0, limitBytes: 0 }, 0],
      ['node given --heap-growing-percent: left as given', { limitBytes: 0, nodeOptions: '--heap-growing-percent=30' }, undefined],
      ['node given it in execArgv, over a number', { growth: 50, execArgv: ['--heap_growing_percent=30'] }, undefined],
      ['with a semi-space flag given to node too', { limitBytes: 0, execArgv: ['--max-semi-space-size=4'] }, 100],
    ] as const)('%s', (_name, change, growth) => {
      expect(decideHeapSettings({ ...POD, ...change }).settings.growthPercent).toBe(growth);
    });

    it('comes with a re-execution too', () => {
      expect(decideHeapSettings({ ...POD, growth: 40 })).toMatchObject({ action: 're-execute', settings: { growthPercent: 40 } });
    });
  });

  it('never re-executes twice: a guard without the flag keeps V8 sizing and says so', () => {
    const d = decideHeapSettings({ ...POD, guard: '8' });
    expect(d).toMatchObject({ action: 'keep', settings: { source: 'not-possible', semiSpaceMiB: undefined } });
  });
});
