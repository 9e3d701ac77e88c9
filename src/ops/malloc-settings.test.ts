import { describe, expect, it } from 'vitest';
import { mallocEnvToSet, mapsShowGlibc, MMAP_THRESHOLD_ENV, type MallocInputs } from './malloc-settings.js';

const linux: MallocInputs = { platform: 'linux', glibc: true, env: {}, args: ['--demo'], canReExecute: true, inspecting: false };

describe('mallocEnvToSet', () => {
  it('sets the mmap threshold to 32 KiB on Linux with glibc, where node can re-execute itself', () => {
    expect(mallocEnvToSet(linux)).toEqual({ [MMAP_THRESHOLD_ENV]: '32768' });
  });

  it.each([
    ['another platform', { platform: 'darwin' }],
    ['another C library (musl)', { glibc: false }],
    ['a node without process.execve', { canReExecute: false }],
    ["node's inspector open (--inspect)", { inspecting: true }],
    ['the variable already set (after the re-execution, or by the user)', { env: { [MMAP_THRESHOLD_ENV]: '131072' } }],
    ['the variable set empty', { env: { [MMAP_THRESHOLD_ENV]: '' } }],
    ['the threshold set through GLIBC_TUNABLES', { env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536' } }],
    ['--help', { args: ['--help'] }],
    ['-h', { args: ['-h'] }],
    ['--version', { args: ['--version'] }],
    ['--check', { args: ['--demo', '--check'] }],
  ] as const)('leaves the process alone with %s', (_name, change) => {
    expect(mallocEnvToSet({ ...linux, ...change })).toBeUndefined();
  });

  it('still sets it when GLIBC_TUNABLES sets other tunables only', () => {
    expect(mallocEnvToSet({ ...linux, env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' } })).toEqual({ [MMAP_THRESHOLD_ENV]: '32768' });
  });
});

describe('mapsShowGlibc', () => {
  it("tells glibc's libc.so.6 from musl's loader in /proc/self/maps", () => {
    expect(mapsShowGlibc('7f0000000000-7f0000001000 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6\n')).toBe(true);
    expect(mapsShowGlibc('7f0000000000-7f0000001000 r-xp 00000000 08:01 123 /lib/ld-musl-x86_64.so.1\n')).toBe(false);
    expect(mapsShowGlibc('')).toBe(false);
  });
});
