import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { contentFingerprint, watchPaths, type Watcher } from './watch.js';

const dirs: string[] = [];
let watcher: Watcher | undefined;
afterEach(() => {
  watcher?.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-watch-'));
  dirs.push(d);
  return d;
}

describe('contentFingerprint', () => {
  it('changes with a file\'s content, a new file or a removed one; not with a rewrite of the same bytes', () => {
    const d = tempDir();
    fs.mkdirSync(path.join(d, 'sub'));
    fs.writeFileSync(path.join(d, 'sub', 'a.proto'), 'syntax = "proto3";');
    const first = contentFingerprint([d]);
    fs.writeFileSync(path.join(d, 'sub', 'a.proto'), 'syntax = "proto3";');
    expect(contentFingerprint([d])).toBe(first);
    fs.writeFileSync(path.join(d, 'sub', 'a.proto'), 'syntax = "proto2";');
    const second = contentFingerprint([d]);
    expect(second).not.toBe(first);
    fs.writeFileSync(path.join(d, 'b.yaml'), '');
    expect(contentFingerprint([d])).not.toBe(second);
    fs.rmSync(path.join(d, 'b.yaml'));
    expect(contentFingerprint([d])).toBe(second);
  });

  it('reads through symlinks but not the ..data folders of a ConfigMap volume twice', () => {
    const d = tempDir();
    fs.mkdirSync(path.join(d, '..v1'));
    fs.writeFileSync(path.join(d, '..v1', 'm.yaml'), 'one');
    fs.symlinkSync('..v1', path.join(d, '..data'));
    fs.symlinkSync('..data/m.yaml', path.join(d, 'm.yaml'));
    const first = contentFingerprint([d]);
    fs.mkdirSync(path.join(d, '..v2'));
    fs.writeFileSync(path.join(d, '..v2', 'm.yaml'), 'two');
    fs.symlinkSync('..v2', path.join(d, '..tmp'));
    fs.renameSync(path.join(d, '..tmp'), path.join(d, '..data'));
    expect(contentFingerprint([d])).not.toBe(first);
  });
});

describe('watchPaths', () => {
  it('calls onChange once for a burst of writes, and not for a touch', async () => {
    const d = tempDir();
    const file = path.join(d, 'api.yaml');
    fs.writeFileSync(file, 'a');
    let changes = 0;
    watcher = watchPaths({ paths: () => [file], onChange: () => void changes++, logger: pino({ level: 'silent' }), debounceMs: 50 });
    for (const text of ['b', 'bc', 'bcd']) fs.writeFileSync(file, text);
    await expect.poll(() => changes, { timeout: 5000, interval: 20 }).toBe(1);
    const now = new Date();
    fs.utimesSync(file, now, now);
    fs.writeFileSync(file, 'bcd');
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toBe(1);
  });
});
