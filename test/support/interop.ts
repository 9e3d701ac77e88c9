/**
 * Servers of other gRPC stacks for interoperability tests, each serving the resilience fixture's
 * res.v1.Flaky service (test/fixtures/resilience/resilience.proto) and reporting every execution:
 * - grpc-go (test/interop/go/flaky/main.go), built with Debian's golang-go and golang-google-grpc-dev in
 *   GOPATH mode into a cache folder keyed by the source's hash;
 * - gRPC C-core through Debian's python3-grpcio (test/interop/python/flaky_server.py), run by Debian's
 *   /usr/bin/python3 (the package installs for it, not for another python3 on the PATH).
 * .ci/run installs those packages. A missing one fails the test with the install command, never skips it.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GO_DIR = path.join(ROOT, 'test/interop/go');
const PY_SERVER = path.join(ROOT, 'test/interop/python/flaky_server.py');
const GOPATH = '/usr/share/gocode';
const PYTHON = '/usr/bin/python3';
const INSTALL = 'apt-get install -y golang-go golang-google-grpc-dev golang-google-protobuf-dev python3-grpcio nginx-light';

export type Stack = 'grpc-go' | 'c-core';

/** A running server of another stack. */
export interface InteropServer {
  readonly stack: Stack;
  readonly port: number;
  readonly target: string;
  /** Executions of `method` (`Get`, `Post`, `Idem`) for `key` seen so far. */
  ran(method: string, key: string): number;
  /** Whether the server saw the call of `method` for `key` cancelled while it ran (deadline, client cancel). */
  cancelled(method: string, key: string): boolean;
  /** What the server printed on stderr (its own logs). */
  stderr(): string;
  /** SIGTERM: a graceful stop (calls in flight finish); resolves when the process has exited. */
  terminate(): Promise<void>;
  /** SIGKILL. */
  stop(): Promise<void>;
}

/** How to start a server. */
export interface InteropOptions {
  /** Scales the server's ping policy down (default: the stack's own, 5 minutes). */
  readonly minPingIntervalMs?: number;
  /** A fixed port (default: a free one). */
  readonly port?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS (default: the stack's own). */
  readonly maxStreams?: number;
}

/** Builds the Go program `name` once per source hash; returns the binary's path. */
export function goBinary(name: string): string {
  const dir = path.join(GO_DIR, name);
  const hash = crypto.createHash('sha256');
  for (const f of fs.readdirSync(dir).sort()) hash.update(f).update(fs.readFileSync(path.join(dir, f)));
  const cache = path.join(os.tmpdir(), 'attache-interop-go');
  const bin = path.join(cache, `${name}-${hash.digest('hex').slice(0, 16)}`);
  if (fs.existsSync(bin)) return bin;
  if (!fs.existsSync(path.join(GOPATH, 'src/google.golang.org/grpc'))) throw new Error(`grpc-go is not installed: ${INSTALL}`);
  fs.mkdirSync(cache, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  execFileSync('go', ['build', '-o', tmp, '.'], {
    cwd: dir,
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: path.join(cache, 'gocache') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  fs.renameSync(tmp, bin); // atomic: test files building at once both end with a whole binary
  return bin;
}

/** Sends `sig` and resolves once the process has exited. */
function signal(child: ChildProcess, sig: NodeJS.Signals): Promise<void> {
  return new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill(sig);
  });
}

function watch(stack: Stack, child: ChildProcess): Promise<InteropServer> {
  const counts = new Map<string, number>();
  const cancelled = new Set<string>();
  let err = '';
  let buffered = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${stack} server did not start: ${err}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${stack} server exited with ${code}: ${err}`)));
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const ran = /^RAN (\S+) (\S*) (\d+)$/.exec(line);
        if (ran !== null) counts.set(`${ran[1]} ${ran[2]}`, Number(ran[3]));
        const gone = /^CANCELLED (\S+) (\S*)$/.exec(line);
        if (gone !== null) cancelled.add(`${gone[1]} ${gone[2]}`);
        const listening = /^LISTENING (\d+)$/.exec(line);
        if (listening === null) continue;
        clearTimeout(timer);
        const port = Number(listening[1]);
        resolve({
          stack,
          port,
          target: `127.0.0.1:${port}`,
          ran: (method, key) => counts.get(`${method} ${key}`) ?? 0,
          cancelled: (method, key) => cancelled.has(`${method} ${key}`),
          stderr: () => err,
          terminate: () => signal(child, 'SIGTERM'),
          stop: () => signal(child, 'SIGKILL'),
        });
      }
    });
  });
}

/** Starts a server of `stack`. */
export function startInteropServer(stack: Stack, o: InteropOptions = {}): Promise<InteropServer> {
  if (stack === 'grpc-go') {
    const args = [
      ...(o.minPingIntervalMs !== undefined ? [`-min-time=${o.minPingIntervalMs}ms`] : []),
      ...(o.port !== undefined ? [`-port=${o.port}`] : []),
      ...(o.maxStreams !== undefined ? [`-max-streams=${o.maxStreams}`] : []),
    ];
    return watch(stack, spawn(goBinary('flaky'), args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  }
  if (!fs.existsSync(PYTHON)) throw new Error(`Debian's python3 is not installed: ${INSTALL}`);
  const args = [
    PY_SERVER,
    ...(o.minPingIntervalMs !== undefined ? ['--min-ping-interval-ms', String(o.minPingIntervalMs)] : []),
    ...(o.port !== undefined ? ['--port', String(o.port)] : []),
    ...(o.maxStreams !== undefined ? ['--max-streams', String(o.maxStreams)] : []),
  ];
  return watch(stack, spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } }));
}
