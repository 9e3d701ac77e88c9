// The processes a bench run is made of: the grpc-js backend (bench/backend.mjs), attache from a dist/ folder
// (as a child on free loopback ports, ready once its admin /readyz answers 200, or in this process), and wrk
// with bench/lib/wrk.lua. Everything here is bounded (readiness 15 s, wrk -d plus a hard kill) and only
// 127.0.0.1 is used, on ports the OS picks. Every child started through startNode is stopped by PID:
// stopAll() does it gracefully, and a process 'exit' hook SIGKILLs whatever is still running when the
// script exits or throws, so no run leaves a backend or an attache behind.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { BENCH_DIR, MAPPING_FILE, PROTOS_DIR, REPO_DIR } from './proto.mjs';

const started = new Set();
let exitHookSet = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The port in a `listening N` line (what bench/backend.mjs and baseline.mjs print when bound), or undefined. */
export function listening(out) {
  const m = /listening (\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

/**
 * Starts `node ...argv` and resolves once `await ready(output)` returns something other than undefined, polled
 * every 50 ms: `{ name, child, pid, readyMs, info }` (`info` is what `ready` returned). The child's stdout and
 * stderr are kept (last 20 kB) for the error messages. Rejects if the child exits first or is not ready
 * after 300 polls (15 s plus the time `ready` itself takes); the child stays registered for stopAll.
 */
export async function startNode(name, argv, ready, { cwd = REPO_DIR, env = process.env } = {}) {
  if (!exitHookSet) {
    exitHookSet = true;
    process.on('exit', () => {
      for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
  }
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let out = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20000)));
  const t0 = performance.now();
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${out}`);
    const r = await ready(out);
    if (r !== undefined) return { name, child, pid: child.pid, readyMs: performance.now() - t0, info: r };
    await sleep(50);
  }
  throw new Error(`${name} not ready after 15 s:\n${out}`);
}

/** Starts bench/backend.mjs; resolves with startNode's answer plus `target`, its `127.0.0.1:PORT`. */
export async function startBackend() {
  const s = await startNode('backend', [path.join(BENCH_DIR, 'backend.mjs')], async (out) => listening(out));
  return { ...s, target: `127.0.0.1:${s.info}` };
}

/** attache's flags for the bench: the bench protos and mapping, upstream `upstream`, these listeners, warn logs. */
export function attacheFlags(upstream, listen, adminListen) {
  return [
    '--protos', PROTOS_DIR, '--mappings', MAPPING_FILE, '--upstream', upstream,
    '--listen', listen, '--admin-listen', adminListen, '--log-level', 'warn',
  ];
}

/** 200 from `url` within 1 s. */
async function httpOk(url) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts `node ...nodeArgs DIST/cli.js` with the bench flags (attacheFlags) on two free loopback ports, then
 * `extraArgs`; resolves once its admin /readyz answers 200, with startNode's answer plus `port` and `url`.
 * `dist` may be another build's dist/ folder (an A/B against an older commit). The environment is this
 * process's without ATTACHE_* and GRPC_TARGET, so only the flags configure it. Rejects as startNode does.
 */
export async function startAttache({ name = 'attache', dist = path.join(REPO_DIR, 'dist'), upstream, nodeArgs = [], extraArgs = [], cwd = REPO_DIR }) {
  const port = await freePort();
  const admin = await freePort();
  const argv = [...nodeArgs, path.join(dist, 'cli.js'), ...attacheFlags(upstream, `127.0.0.1:${port}`, `127.0.0.1:${admin}`), ...extraArgs];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTACHE_') && k !== 'GRPC_TARGET'));
  const s = await startNode(name, argv, async () => ((await httpOk(`http://127.0.0.1:${admin}/readyz`)) ? port : undefined), { cwd, env });
  return { ...s, port, url: `http://127.0.0.1:${port}` };
}

/**
 * Starts attache inside this process from `dist` (its config/load.js and main.js), with the bench flags on
 * port 0 and an empty environment; resolves with what main.js's start() returns (`port`, `stop()`).
 * Throws what loading or starting throws.
 */
export async function startAttacheInProcess(dist, upstream) {
  const { loadConfig } = await import(path.join(dist, 'config/load.js'));
  const { start, createLogger } = await import(path.join(dist, 'main.js'));
  const loaded = loadConfig(attacheFlags(upstream, '127.0.0.1:0', '127.0.0.1:0'), {});
  return start(loaded.config, createLogger(loaded.config));
}

/** Stops one child: SIGTERM, then SIGKILL if it has not exited 5 s later. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Stops every child startNode started that is still running, the last started first. */
export async function stopAll() {
  for (const c of [...started].reverse()) await stop(c);
}

/**
 * Runs `cmd argv` (cwd: the repo) and resolves with `{ code, out }` when it closes: `out` is its stdout, plus
 * its stderr unless `stderr` is 'inherit'. SIGKILLed after `timeoutMs`; never rejects.
 */
export function runBounded(cmd, argv, { timeoutMs, env = process.env, stderr = 'pipe' }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: REPO_DIR, env, stdio: ['ignore', 'pipe', stderr] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/**
 * wrk -t1 -c`conc` -d`secs`s against `url`, resolving with its output. With `lua` (the default): `--latency`
 * and bench/lib/wrk.lua, which prints the `BENCHJSON {...}` line benchJson reads; `env` is added to the
 * environment (wrk.lua reads BENCH_MAX_REQUESTS and BENCH_BODY_FILE). Without: wrk's plain GET and its own
 * summary only. SIGKILLed `killAfterS` seconds after -d runs out; never rejects.
 */
export async function wrk(url, { conc, secs, lua = true, env = {}, killAfterS = 15, stderr = 'pipe' }) {
  const argv = ['-t1', `-c${conc}`, `-d${secs}s`, ...(lua ? ['--latency', '-s', path.join(BENCH_DIR, 'lib', 'wrk.lua')] : []), url];
  const r = await runBounded('wrk', argv, { timeoutMs: (secs + killAfterS) * 1000, env: { ...process.env, ...env }, stderr });
  return r.out;
}

/**
 * The object on the `BENCHJSON {...}` line of `out` (printed by wrk.lua and bench/direct.mjs: requests,
 * duration_s, rps, p50_ms, p99_ms, errors), or undefined when there is none.
 */
export function benchJson(out) {
  const m = /BENCHJSON (\{.*\})/.exec(out);
  return m ? JSON.parse(m[1]) : undefined;
}
