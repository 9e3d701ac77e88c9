/**
 * What a snapshot keeps: the schema store, not the protobufjs Root its routes were validated against (on
 * a large API set that Root is most of the process's memory; docs/performance.md "Large proto sets").
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import protobuf from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config/load.js';
import { buildSnapshot } from './snapshot.js';

/** A full, synchronous collection (as src/ops/startup-hold.ts runs one). */
function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  v8.setFlagsFromString('--no-expose-gc');
  gc();
}

const resolveAll = protobuf.Root.prototype.resolveAll;
afterEach(() => {
  protobuf.Root.prototype.resolveAll = resolveAll;
});

describe('a built snapshot', () => {
  it('lets the loaded protobufjs Root go, and materializes types only when a route needs them', async () => {
    // Every Root that loads protos is resolved once (registry/load.ts); keep a weak reference to each.
    const roots: WeakRef<protobuf.Root>[] = [];
    protobuf.Root.prototype.resolveAll = function (this: protobuf.Root) {
      roots.push(new WeakRef(this));
      return resolveAll.call(this);
    };
    const loaded = loadConfig(['--protos', 'test/fixtures/e2e', '--mappings', 'test/fixtures/e2e/mappings', '--upstream', '127.0.0.1:1'], {});
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const built = buildSnapshot(loaded.config);
    protobuf.Root.prototype.resolveAll = resolveAll;
    if (!built.ok) throw new Error(JSON.stringify(built.problems));
    const { snapshot } = built;
    expect(roots.length).toBeGreaterThan(0);
    expect(snapshot.types.stats().materialized).toBe(0);

    // Let the current task end (nothing in it may hold the Root), then collect.
    await new Promise((r) => setImmediate(r));
    collect();
    expect(roots.filter((r) => r.deref() !== undefined)).toHaveLength(0);

    const echo = snapshot.table.routes.find((r) => r.selector === 'e2e.v1.EchoService.Echo')!;
    expect(echo.requestType.fullName).toBe('.e2e.v1.EchoRequest');
    expect(snapshot.types.stats().materialized).toBeGreaterThan(0);
    expect(snapshot.types.stats().materialized).toBeLessThan(snapshot.types.stats().declarations);
  });
});
