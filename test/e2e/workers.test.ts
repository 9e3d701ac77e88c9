/**
 * `--workers N` (node:cluster): the built CLI as a real process tree. The primary forks N workers that
 * share both listeners, replaces a worker that dies, and on SIGTERM stops them all and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli.js');

interface Ready {
  readonly pid: number;
  readonly listen: string;
  readonly adminListen: string;
}

/** Children of `pid` from /proc (all its threads). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    const text = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
    if (text !== '') out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Collects the workers' "attache ready" log lines as they come. */
function readyLines(child: ChildProcess): { lines: Ready[]; waitFor(n: number): Promise<Ready[]> } {
  const lines: Ready[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const j = JSON.parse(line) as { msg?: string; pid: number; listen: string; adminListen: string };
        if (j.msg === 'attache ready') lines.push({ pid: j.pid, listen: j.listen, adminListen: j.adminListen });
      } catch {
        /* not a log line */
      }
    }
  });
  return {
    lines,
    async waitFor(n) {
      for (let i = 0; i < 300 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 50));
      if (lines.length < n) throw new Error(`only ${lines.length} of ${n} workers became ready`);
      return lines.slice(0, n);
    },
  };
}

let primary: ChildProcess | undefined;
afterEach(() => {
  if (primary !== undefined && primary.exitCode === null) primary.kill('SIGKILL');
  primary = undefined;
});

function startPrimary(workers: number): ChildProcess {
  primary = spawn(process.execPath, [CLI, '--demo', '--log-format', 'json', '--workers', String(workers), '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--drain-timeout', '1s'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  });
  return primary;
}

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

describe('--workers N', () => {
  it('forks N workers sharing the REST and admin ports, serving requests; SIGTERM stops all and exits 0', async () => {
    const p = startPrimary(2);
    const ready = await readyLines(p).waitFor(2);
    expect(new Set(ready.map((r) => r.pid)).size).toBe(2);
    expect(ready[0]!.listen).toBe(ready[1]!.listen);
    expect(ready[0]!.adminListen).toBe(ready[1]!.adminListen);
    const workers = childrenOf(p.pid!);
    expect(workers.sort()).toEqual(ready.map((r) => r.pid).sort());

    expect((await fetch(`http://${ready[0]!.adminListen}/readyz`)).status).toBe(200);
    for (let i = 0; i < 4; i++) {
      // A fresh connection each time, so the primary's round robin reaches both workers.
      const res = await fetch(`http://${ready[0]!.listen}/api/payments/pay_001`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { id: string }).id).toBe('pay_001');
    }

    p.kill('SIGTERM');
    expect(await exited(p)).toBe(0);
    for (const pid of workers) expect(alive(pid)).toBe(false);
  });

  it('replaces a worker that dies', async () => {
    const p = startPrimary(2);
    const watch = readyLines(p);
    const ready = await watch.waitFor(2);
    process.kill(ready[0]!.pid, 'SIGKILL');
    const after = await watch.waitFor(3);
    expect(after[2]!.pid).not.toBe(ready[0]!.pid);
    expect(after[2]!.listen).toBe(ready[0]!.listen);
    expect(childrenOf(p.pid!)).toHaveLength(2);
    p.kill('SIGTERM');
    expect(await exited(p)).toBe(0);
  });
});
