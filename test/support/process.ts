/**
 * Running attache (or anything) as a child process in tests: a free loopback port, a spawned process whose
 * output is collected, and waiting for the admin listener's /readyz.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';
import { expect } from 'vitest';
import { request } from './http.js';

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A process started by {@link spawnCollected}. */
export interface Spawned {
  readonly child: ChildProcess;
  /** Its stdout so far. */
  stdout(): string;
  /** Its stdout and stderr so far, interleaved as they came, for assertion messages. */
  output(): string;
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** SIGKILLs it if it still runs (for afterEach/afterAll). */
  kill(): void;
}

/** Spawns `command args` with stdout and stderr collected. */
export function spawnCollected(command: string, args: readonly string[], options: SpawnOptions = {}): Spawned {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    output: () => output,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Resolves once `GET http://127.0.0.1:PORT/readyz` answers 200 (fails after `timeoutMs`). */
export async function untilReady(adminPort: number, timeoutMs = 15_000): Promise<void> {
  await expect
    .poll(async () => (await request(`http://127.0.0.1:${adminPort}/readyz`, { timeoutMs: 2000 }).catch(() => undefined))?.status, { timeout: timeoutMs, interval: 50 })
    .toBe(200);
}
