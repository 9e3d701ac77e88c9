/**
 * Running attache (or anything) as a child process in tests: a free loopback port, a spawned process whose
 * output is collected, and waiting for the admin listener's /readyz.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { request } from './http.js';

/** The repo's root folder. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The bundled CLI, as users run it (scripts/bundle.mjs). */
export const CLI = path.join(REPO, 'dist', 'cli.js');

/** Newest modification time of the files under `dir` that `npm run build` compiles. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than a source file (`npm test` builds first, so usually not). */
export function ensureBuilt(): void {
  const built = fs.existsSync(CLI) ? fs.statSync(CLI).mtimeMs : 0;
  const sources = Math.max(
    newestSource(path.join(REPO, 'src')),
    fs.statSync(path.join(REPO, 'tsconfig.build.json')).mtimeMs,
    fs.statSync(path.join(REPO, 'scripts', 'bundle.mjs')).mtimeMs,
  );
  if (built >= sources) return;
  try {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'pipe' });
  } catch (err) {
    // tsc reports compile errors on stdout.
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
    throw new Error(`npm run build failed:\n${out}`, { cause: err });
  }
}

/** Runs `source` as an ES module in a child node (this one's binary) and resolves with what it wrote to stdout. */
export function runModuleScript(source: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', source], { timeout: timeoutMs }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
}

/** Whether `port` can be listened on on loopback right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A loopback port that was free a moment ago, for a child process to listen on.
 *
 * Picked at random below Linux's ephemeral range (32768–60999), not by listening on port 0: a port the
 * kernel hands out from that range can be handed out again, between our close and the child's listen, as
 * the source port of any outbound connection the suite makes (CI saw a child fail with EADDRINUSE on one).
 * Ports below the range are only ever taken by an explicit listen.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free loopback port found in 10000–31999 after 50 tries');
}

/** A process started by {@link spawnCollected}. */
export interface Spawned {
  readonly child: ChildProcess;
  /** Its stdout so far. */
  stdout(): string;
  /** Its stderr so far. */
  stderr(): string;
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
  let stderr = '';
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
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
