/**
 * The heap settings in a pod (issue 17), as a user sees them: the built CLI started inside a 128 MiB memory
 * cgroup with no NODE_OPTIONS re-executes node once with `--max-semi-space-size=8` (process.execve, so the
 * PID the orchestrator started is the one that serves), logs one line saying so, shows it on /metrics, and
 * serves; `--heap-tuning off` and a flag given to node are left alone.
 *
 * A memory cgroup needs root and a writable cgroup file system (v1 `memory` or v2 with the memory
 * controller); without them the cgroup tests are skipped and the reason is printed. The test without a
 * limit-dependent outcome (a flag given to node wins) runs everywhere.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { CLI, ensureBuilt, freePort, spawnCollected, untilReady, type Spawned } from '../support/process.js';
import { processExecve, runsOnGlibc } from '../../src/ops/process-image.js';

const LIMIT_MIB = 128;
const CAN_REEXECUTE = processExecve() !== undefined;
/** glibc's malloc setting in force in the children (src/ops/malloc-settings.ts): given, or set by the launcher. */
const MALLOC_IN_FORCE = process.env['MALLOC_MMAP_THRESHOLD_'] ??
  (CAN_REEXECUTE && runsOnGlibc() ? '32768' : undefined);

/** A memory cgroup with a hard limit that processes can be started in, or why there is none. */
interface MemoryCgroup {
  readonly dir: string;
  remove(): void;
}

function makeMemoryCgroup(limitMiB: number): MemoryCgroup | string {
  if (process.getuid?.() !== 0) return 'not root';
  const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  const parent = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
  if (!fs.existsSync(parent)) return 'no memory cgroup hierarchy (v1 memory or v2)';
  if (v2 && !fs.readFileSync(path.join(parent, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory')) {
    return 'cgroup v2 without the memory controller enabled for children';
  }
  const dir = path.join(parent, `attache-heap-test-${process.pid}-${limitMiB}`);
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    return `cannot create a memory cgroup: ${(err as Error).message}`;
  }
  try {
    fs.writeFileSync(path.join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(limitMiB * 1024 * 1024));
  } catch (err) {
    fs.rmdirSync(dir);
    return `cannot set a memory limit: ${(err as Error).message}`;
  }
  return {
    dir,
    remove: () => {
      try {
        fs.rmdirSync(dir);
      } catch {
        /* a process still in it; the OS keeps an empty cgroup harmlessly */
      }
    },
  };
}

interface HeapLine {
  readonly level: number;
  readonly msg: string;
  readonly heap: { readonly source: string; readonly semiSpaceMiB?: number; readonly limitMiB?: number; readonly growthPercent?: number };
}

/** The "heap settings: …" log lines written so far. */
function heapLines(s: Spawned): HeapLine[] {
  return s.stdout().split('\n').flatMap((l) => {
    try {
      const j = JSON.parse(l) as HeapLine;
      return typeof j.msg === 'string' && j.msg.startsWith('heap settings:') ? [j] : [];
    } catch {
      return [];
    }
  });
}

const running: Spawned[] = [];

/** Starts the built CLI with the demo backend, inside `cgroup` when given (the shell moves itself in, then becomes node). */
async function startCli(
  cgroup: MemoryCgroup | undefined,
  extra: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ s: Spawned; port: number; admin: number }> {
  const [port, admin] = [await freePort(), await freePort()];
  const args = [CLI, '--demo', '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${admin}`, '--log-format', 'json', ...extra];
  const childEnv = { ...process.env, NODE_OPTIONS: '', ...env };
  const s = cgroup === undefined
    ? spawnCollected(process.execPath, args, { env: childEnv })
    : spawnCollected('sh', ['-c', 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"', 'sh', cgroup.dir, process.execPath, ...args], { env: childEnv });
  running.push(s);
  await untilReady(admin).catch((err: unknown) => {
    throw new Error(`attache did not become ready:\n${s.output()}`, { cause: err });
  });
  return { s, port, admin };
}

async function heapMetric(admin: number): Promise<string | undefined> {
  const res = await request(`http://127.0.0.1:${admin}/metrics`);
  return res.body.split('\n').find((l) => l.startsWith('attache_heap_settings_info'));
}

async function serves(port: number): Promise<void> {
  const res = await request(`http://127.0.0.1:${port}/api/payments/pay_001`);
  expect(res.status).toBe(200);
  expect(JSON.parse(res.body)).toMatchObject({ id: 'pay_001' });
}

beforeAll(() => ensureBuilt(), 180_000);

afterEach(async () => {
  for (const s of running.splice(0)) {
    s.kill();
    await s.exited;
  }
});

describe('heap settings: a semi-space size given to node wins (any machine)', () => {
  it('NODE_OPTIONS=--max-semi-space-size=4: logged and shown as node-flag, not re-executed', async () => {
    const { s, port, admin } = await startCli(undefined, [], { NODE_OPTIONS: '--max-semi-space-size=4' });
    const [line] = heapLines(s);
    expect(line, s.output()).toMatchObject({ heap: { source: 'node-flag', semiSpaceMiB: 4 } });
    expect(await heapMetric(admin)).toMatch(/^attache_heap_settings_info\{source="node-flag",semi_space_mib="4",limit_mib="[0-9]*",heap_growth_percent="(?:0|100)"\} 1$/);
    await serves(port);
  });
});

describe('heap growth (any machine)', () => {
  // What `auto` gives on the machine running the tests: 100% with no memory limit (or one of 1 GiB or
  // more), V8's own factor inside a smaller one (src/ops/heap.ts).
  const limit = process.constrainedMemory();
  const unconstrained = !(limit > 0 && limit < os.totalmem() && limit < 1024 * 1024 * 1024);

  it('the default (auto): logged and shown with the heap settings', async () => {
    const { s, port, admin } = await startCli(undefined, []);
    const [line] = heapLines(s);
    expect(line, s.output()).toMatchObject({ heap: { growthPercent: unconstrained ? 100 : 0 } });
    expect(line!.msg).toContain(unconstrained ? '; heap growth 100% (the old generation may reach 2x its live size between full collections)' : "; V8's own heap growing factor");
    expect(await heapMetric(admin)).toContain(`heap_growth_percent="${unconstrained ? 100 : 0}"`);
    await serves(port);
  });

  it('--heap-growth 30 and ATTACHE_HEAP_GROWTH=0 are used as given', async () => {
    const a = await startCli(undefined, ['--heap-growth', '30']);
    expect(heapLines(a.s)[0], a.s.output()).toMatchObject({ heap: { growthPercent: 30 } });
    expect(await heapMetric(a.admin)).toContain('heap_growth_percent="30"');
    const b = await startCli(undefined, [], { ATTACHE_HEAP_GROWTH: '0' });
    expect(heapLines(b.s)[0]!.msg, b.s.output()).toContain("; V8's own heap growing factor");
    expect(await heapMetric(b.admin)).toContain('heap_growth_percent="0"');
  });
});

const cgroup = makeMemoryCgroup(LIMIT_MIB);
if (typeof cgroup === 'string') {
  // Printed so that a CI log says what was not run, and why.
  console.warn(`heap-settings.test.ts: the ${LIMIT_MIB} MiB memory-cgroup tests are skipped: ${cgroup}`);
}

describe.skipIf(typeof cgroup === 'string')(`heap settings inside a ${LIMIT_MIB} MiB memory cgroup`, () => {
  const cg = cgroup as MemoryCgroup;
  afterAll(() => cg.remove());

  it.runIf(CAN_REEXECUTE)('no flags: re-executes once with 8 MiB semi-spaces, same PID, says so, serves, drains on SIGTERM', async () => {
    const { s, port, admin } = await startCli(cg, []);
    const pid = s.child.pid!;
    const lines = heapLines(s);
    expect(lines, s.output()).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, heap: { source: 'memory-limit', semiSpaceMiB: 8, limitMiB: LIMIT_MIB } });
    const malloc = MALLOC_IN_FORCE === undefined ? '' : `; malloc maps ${MALLOC_IN_FORCE} bytes and more on their own`;
    expect(lines[0]!.msg).toBe(`heap settings: 8 MiB semi-spaces, chosen by attache for the ${LIMIT_MIB} MiB limit; V8's own heap growing factor${malloc}`);
    // The PID the test started is now node with the flag (only the re-executed image has it), with no child:
    // the process that serves is the one an orchestrator started and signals.
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=8');
    expect(fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()).toBe('');
    expect(await heapMetric(admin)).toBe(`attache_heap_settings_info{source="memory-limit",semi_space_mib="8",limit_mib="${LIMIT_MIB}",heap_growth_percent="0"} 1`);
    await serves(port);
    s.child.kill('SIGTERM');
    expect(await s.exited, s.output()).toBe(0);
    expect(s.stdout()).toContain('"msg":"stopped"');
  });

  it.runIf(!CAN_REEXECUTE)('no flags, on a Node without process.execve: one warning that says what to set, and serves', async () => {
    const { s, port, admin } = await startCli(cg, []);
    const [line] = heapLines(s);
    expect(line, s.output()).toMatchObject({ level: 40, heap: { source: 'not-possible', limitMiB: LIMIT_MIB } });
    expect(line!.msg).toContain('NODE_OPTIONS=--max-semi-space-size=8');
    expect(await heapMetric(admin)).toBe(`attache_heap_settings_info{source="not-possible",semi_space_mib="",limit_mib="${LIMIT_MIB}",heap_growth_percent="0"} 1`);
    await serves(port);
  });

  it('--heap-tuning off: V8 sizing, not re-executed, serves', async () => {
    const { s, port, admin } = await startCli(cg, ['--heap-tuning', 'off']);
    const pid = s.child.pid!;
    expect(heapLines(s)[0], s.output()).toMatchObject({ heap: { source: 'opted-out', limitMiB: LIMIT_MIB } });
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain('semi-space');
    expect(await heapMetric(admin)).toBe(`attache_heap_settings_info{source="opted-out",semi_space_mib="",limit_mib="${LIMIT_MIB}",heap_growth_percent="0"} 1`);
    await serves(port);
  });

  it.runIf(CAN_REEXECUTE)('--workers 2 in 384 MiB: the primary restarts with 8 MiB (its 192 MiB share each), and the workers inherit it', async () => {
    const big = makeMemoryCgroup(384);
    if (typeof big === 'string') throw new Error(big);
    try {
      const { s, admin } = await startCli(big, ['--workers', '2']);
      await expect.poll(() => heapLines(s).length, { timeout: 15_000 }).toBe(3);
      for (const line of heapLines(s)) expect(line, s.output()).toMatchObject({ heap: { source: 'memory-limit', semiSpaceMiB: 8, limitMiB: 384 } });
      expect(fs.readFileSync(`/proc/${s.child.pid!}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=8');
      expect(await heapMetric(admin)).toBe('attache_heap_settings_info{source="memory-limit",semi_space_mib="8",limit_mib="384",heap_growth_percent="0"} 1');
      s.child.kill('SIGTERM');
      expect(await s.exited, s.output()).toBe(0);
    } finally {
      big.remove();
    }
  });

  it('ATTACHE_HEAP_TUNING=off works as the flag does', async () => {
    const { s } = await startCli(cg, [], { ATTACHE_HEAP_TUNING: 'off' });
    expect(heapLines(s)[0], s.output()).toMatchObject({ heap: { source: 'opted-out' } });
  });
});
