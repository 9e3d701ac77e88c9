// What attache's JavaScript heap holds on a real-world set: a heap snapshot when ready and another after one
// request on every route (node --heapsnapshot-signal; a snapshot first runs a full collection, so both count
// live objects only), summarised: total, the largest groups by type and constructor when ready, the groups
// that grew, and how many of the set's .proto source texts are still alive (a sliced string keeps its whole
// parent string, so one kept substring of a file keeps the file).
// Usage: node bench/realworld/heap.mjs [--size 25] [--dist DIR] [--top 15] [--owners]
// With --owners, also what holds the objects the pass over the routes added (bench/lib/heap-snapshot.mjs
// newObjectOwners; build with `ATTACHE_BUNDLE_NAMES=1 npm run build` first for readable class names).
// The snapshots stay in .bench-out/realworld/heap-{ready,after}.heapsnapshot (Chrome DevTools opens them).
// Bounded: readiness 60 s, the pass over the routes 180 s, each snapshot 120 s; processes stopped by PID.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { newObjectOwners, snapshotGroups } from '../lib/heap-snapshot.mjs';
import { freePort } from '../lib/processes.mjs';
import { arg, REPO_DIR } from '../lib/proto.mjs';
import { startBackend } from './backend.mjs';
import { buildSet } from './build-set.mjs';
import { checkRoutes, requestsFor } from './requests.mjs';
import { loadSet } from './set.mjs';

const SIZE = Number(arg('size', '25'));
const DIST = path.resolve(arg('dist', path.join(REPO_DIR, 'dist')));
const TOP = Number(arg('top', '15'));
const OWNERS = process.argv.includes('--owners');
const OUT = path.join(REPO_DIR, '.bench-out', 'realworld');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = (b) => (b / 2 ** 20).toFixed(2);

async function until(what, ms, cond) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

/** Sends SIGUSR2 and resolves with the path of the finished snapshot, renamed to heap-`label`. */
async function snapshot(child, cwd, label) {
  const before = new Set(fs.readdirSync(cwd));
  child.kill('SIGUSR2');
  const file = await until('heap snapshot file', 120_000, () => fs.readdirSync(cwd).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)));
  let size = -1;
  await until('heap snapshot written', 120_000, () => {
    const s = fs.statSync(path.join(cwd, file)).size;
    const done = s > 0 && s === size;
    size = s;
    return done;
  });
  const to = path.join(OUT, `heap-${label}.heapsnapshot`);
  fs.renameSync(path.join(cwd, file), to);
  return to;
}

/**
 * Whether a string looks like a whole .proto file: snapshots name a string by its first characters only, so
 * it is told by its opening (comments, then `syntax`/`package` early on) and its size (≥ 1 KiB).
 */
function isProtoSource(name) {
  return /^\s*(\/\/|\/\*|syntax\b)/.test(name) && /\bsyntax\s*=\s*"proto|\bpackage\s+[\w.]+\s*;/.test(name);
}

/** The snapshot's groups (bench/lib/heap-snapshot.mjs), and how many of its strings are whole .proto sources. */
function groups(file) {
  let srcCount = 0;
  let srcBytes = 0;
  const { total, by } = snapshotGroups(file, (type, name, size) => {
    if (type === 'string' && size >= 1024 && isProtoSource(name)) {
      srcCount++;
      srcBytes += size;
    }
  });
  return { total, by, srcCount, srcBytes };
}

async function main() {
  const dir = path.join(OUT, String(SIZE));
  buildSet(SIZE, dir);
  const set = loadSet(dir);
  const requests = requestsFor(set, checkRoutes(DIST, dir));
  const files = fs.readdirSync(dir, { recursive: true }).filter((p) => p.endsWith('.proto')).length;
  const backend = await startBackend(set);
  const cwd = fs.mkdtempSync(path.join(OUT, 'heap-'));
  fs.mkdirSync(path.join(cwd, 'mappings'));
  const port = await freePort();
  const admin = await freePort();
  const child = spawn(process.execPath, [
    '--heapsnapshot-signal=SIGUSR2', path.join(DIST, 'cli.js'), '--protos', dir, '--mappings', path.join(cwd, 'mappings'),
    '--upstream', backend.target, '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${admin}`, '--log-level', 'warn',
  ], { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await until('readyz', 60_000, async () => {
      try {
        return (await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 200;
      } catch {
        return false;
      }
    });
    await sleep(300);
    const readyFile = await snapshot(child, cwd, 'ready');
    const a = groups(readyFile);
    const end = Date.now() + 180_000;
    for (const q of requests) {
      if (Date.now() > end) throw new Error('the pass over every route took over 180 s');
      const r = await fetch(`http://127.0.0.1:${port}${q.path}`, { method: q.method, body: q.body, headers: q.contentType ? { 'content-type': q.contentType } : {} });
      await r.arrayBuffer();
    }
    const afterFile = await snapshot(child, cwd, 'after');
    const b = groups(afterFile);
    const keys = [...new Set([...a.by.keys(), ...b.by.keys()])].map((k) => ({ k, a: a.by.get(k) ?? { count: 0, size: 0 }, b: b.by.get(k) ?? { count: 0, size: 0 } }));
    const lines = [
      `# attache heap on the ${SIZE}-package set (${requests.length} routes), build ${DIST}`,
      '',
      `Live heap (snapshot self sizes): ${mib(a.total)} MiB when ready, ${mib(b.total)} MiB after one request per route.`,
      `Strings that are whole .proto sources (the set has ${files} files): ${a.srcCount} (${mib(a.srcBytes)} MiB) when ready, ${b.srcCount} (${mib(b.srcBytes)} MiB) after.`,
      '',
      '| when ready: group | count | MiB |',
      '|---|---:|---:|',
      ...keys.sort((x, y) => y.a.size - x.a.size).slice(0, TOP).map((g) => `| ${g.k} | ${g.a.count} | ${mib(g.a.size)} |`),
      '',
      '| grew after one request per route: group | count | MiB |',
      '|---|---:|---:|',
      ...keys.sort((x, y) => y.b.size - y.a.size - (x.b.size - x.a.size)).slice(0, TOP).map((g) => `| ${g.k} | +${g.b.count - g.a.count} | +${mib(g.b.size - g.a.size)} |`),
    ];
    if (OWNERS) {
      const { total, owners } = newObjectOwners(readyFile, afterFile);
      lines.push(
        '',
        `| what holds the objects added by the pass (${mib(total)} MiB): nearest owner | objects | MiB |`,
        '|---|---:|---:|',
        ...owners.slice(0, TOP).map((o) => `| ${o.owner} | ${o.count} | ${mib(o.size)} |`),
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    child.kill('SIGTERM');
    await backend.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`heap: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});
