import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../config/load.js';
import type { RouteTable } from '../routing/routes.js';
import { createReloader, restartOnlyChanges, type BuildOutcome } from './reload.js';

interface FakeSnapshot {
  readonly config: Config;
  readonly table: RouteTable;
  readonly n: number;
}

const EMPTY_TABLE = { routes: [], matcher: undefined } as unknown as RouteTable;

function configOf(args: string[]): Config {
  const loaded = loadConfig(args, {});
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.config;
}

/** A reloader over fake snapshots numbered 0, 1, 2…; `build` decides each outcome. */
function harness(build: (config: Config, n: number) => BuildOutcome<FakeSnapshot>, args: () => string[] = () => []) {
  let current: FakeSnapshot = { config: configOf([]), table: EMPTY_TABLE, n: 0 };
  const counts = { success: 0, failure: 0 };
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) }));
  let builds = 0;
  const reloader = createReloader<FakeSnapshot>({
    current: () => current,
    loadConfig: () => ({ ok: true, config: configOf(args()) }),
    build: (config) => build(config, ++builds),
    swap(next) {
      current = next;
      return { keptUpstreams: [] };
    },
    logger,
    configReload: (ok) => void (ok ? counts.success++ : counts.failure++),
  });
  return { reloader, current: () => current, counts, lines, builds: () => builds };
}

describe('createReloader', () => {
  it('swaps in a snapshot that builds; keeps the current one and reports every problem when it does not', async () => {
    const h = harness((config, n) => (n === 2 ? { ok: false, problems: ['a.yaml:3: bad', 'b.yaml:4: worse'] } : { ok: true, snapshot: { config, table: EMPTY_TABLE, n } }));
    expect(await h.reloader.reload('test')).toMatchObject({ ok: true });
    expect(h.current().n).toBe(1);
    expect(await h.reloader.reload('test')).toEqual({ ok: false, problems: ['a.yaml:3: bad', 'b.yaml:4: worse'] });
    expect(h.current().n).toBe(1);
    expect(h.counts).toEqual({ success: 1, failure: 1 });
    const rejected = h.lines.find((l) => String(l['msg']).startsWith('configuration reload rejected'))!;
    expect(rejected['msg']).toContain('a.yaml:3: bad');
    expect(rejected['msg']).toContain('b.yaml:4: worse');
  });

  it('a build that throws is a failed reload, and later reloads still run', async () => {
    const h = harness((config, n) => {
      if (n === 1) throw new Error('boom');
      return { ok: true, snapshot: { config, table: EMPTY_TABLE, n } };
    });
    expect(await h.reloader.reload('test')).toEqual({ ok: false, problems: ['boom'] });
    expect(await h.reloader.reload('test')).toMatchObject({ ok: true });
    expect(h.current().n).toBe(2);
  });

  it('triggers that come before a queued reload starts join it', async () => {
    const h = harness((config, n) => ({ ok: true, snapshot: { config, table: EMPTY_TABLE, n } }));
    const results = await Promise.all([h.reloader.reload('a'), h.reloader.reload('b'), h.reloader.reload('c')]);
    expect(h.builds()).toBe(1);
    expect(new Set(results).size).toBe(1);
  });

  it('a restart-only setting that changed keeps its running value, with a warning naming it', async () => {
    let args = ['--listen', '127.0.0.1:8080'];
    const h = harness((config, n) => ({ ok: true, snapshot: { config, table: EMPTY_TABLE, n } }), () => args);
    args = ['--listen', '127.0.0.1:9999', '--default-deadline', '2s'];
    await h.reloader.reload('test');
    expect(h.current().config.listen.port).toBe(8080);
    expect(h.current().config.defaultDeadlineMs).toBe(2000);
    expect(h.lines.find((l) => l['level'] === 40)?.['settings']).toEqual(['listen']);
  });
});

describe('restartOnlyChanges', () => {
  it.each<[string[], string[], string[]]>([
    [[], [], []],
    [[], ['--workers', '2'], ['workers']],
    [[], ['--upstream', 'a:1', '--mappings', 'm'], []],
    [[], ['--log-level', 'debug', '--watch'], ['logLevel', 'watch']],
  ])('%j → %j', (before, after, changed) => {
    expect(restartOnlyChanges(configOf(before), configOf(after))).toEqual(changed);
  });
});
