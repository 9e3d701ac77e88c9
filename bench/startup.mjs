// Start-up time: launch → GET /readyz 200 on the admin port (polled every 5 ms), and RSS when ready, for
// (a) the demo (`--demo`: embedded backend, the repo's protos and mappings) and (b) 2,000 rules over 200
// generated proto files (10 methods each, google.api.http annotations, 6 messages per file with nested
// messages, enums, maps, repeated fields and a Timestamp), generated into a temp dir that is removed after.
// Median of --runs (3) launches each. Usage: node bench/startup.mjs [--runs 3] [--files 200] [--methods 10]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { arg, memMiB, REPO_DIR } from './lib/proto.mjs';

const RUNS = Number(arg('runs', '3'));
const FILES = Number(arg('files', '200'));
const METHODS = Number(arg('methods', '10'));

function generate(dir) {
  for (let f = 0; f < FILES; f++) {
    const pkg = `gen.p${f}.v1`;
    const lines = [
      'syntax = "proto3";',
      `package ${pkg};`,
      'import "google/api/annotations.proto";',
      'import "google/protobuf/timestamp.proto";',
      f > 0 ? `import "gen/p${f - 1}.proto";` : '',
      `enum State${f} { STATE${f}_UNSPECIFIED = 0; STATE${f}_ACTIVE = 1; STATE${f}_CLOSED = 2; }`,
      `message Item${f} { string sku = 1; int32 quantity = 2; int64 amount_minor = 3; }`,
      `message Resource${f} { string name = 1; int64 size = 2; State${f} state = 3; repeated Item${f} items = 4; map<string, string> labels = 5; google.protobuf.Timestamp create_time = 6; ${f > 0 ? `gen.p${f - 1}.v1.Item${f - 1} previous = 7;` : ''} }`,
      `message GetRequest${f} { string name = 1; bool full = 2; }`,
      `message ListRequest${f} { string parent = 1; int32 page_size = 2; string page_token = 3; State${f} state = 4; }`,
      `message ListResponse${f} { repeated Resource${f} resources = 1; string next_page_token = 2; }`,
      `message CreateRequest${f} { string parent = 1; Resource${f} resource = 2; }`,
      `service Service${f} {`,
    ];
    for (let m = 0; m < METHODS; m++) {
      const kind = m % 3;
      if (kind === 0) lines.push(`  rpc Get${m}(GetRequest${f}) returns (Resource${f}) { option (google.api.http) = { get: "/v1/p${f}/m${m}/{name=things/*}" }; }`);
      else if (kind === 1) lines.push(`  rpc List${m}(ListRequest${f}) returns (ListResponse${f}) { option (google.api.http) = { get: "/v1/p${f}/m${m}/{parent=shelves/*}/things" }; }`);
      else lines.push(`  rpc Create${m}(CreateRequest${f}) returns (Resource${f}) { option (google.api.http) = { post: "/v1/p${f}/m${m}/{parent=shelves/*}/things" body: "resource" }; }`);
    }
    lines.push('}');
    fs.writeFileSync(path.join(dir, 'gen', `p${f}.proto`), `${lines.filter(Boolean).join('\n')}\n`);
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function launch(args) {
  const admin = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(REPO_DIR, 'dist', 'cli.js'), ...args, '--listen', '127.0.0.1:0', '--admin-listen', `127.0.0.1:${admin}`, '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    for (let i = 0; i < 6000; i++) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err}`);
      try {
        const r = await fetch(`http://127.0.0.1:${admin}/readyz`);
        await r.arrayBuffer();
        if (r.status === 200) return { ms: performance.now() - t0, rss: memMiB(child.pid, 'VmRSS') };
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('not ready within 30 s');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
async function measure(label, args) {
  const rs = [];
  for (let i = 0; i < RUNS; i++) rs.push(await launch(args));
  const ms = rs.map((r) => r.ms);
  process.stdout.write(`| ${label} | ${median(ms).toFixed(0)} | ${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)} | ${median(rs.map((r) => r.rss)).toFixed(1)} |\n`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-startup-'));
try {
  fs.mkdirSync(path.join(tmp, 'protos', 'gen'), { recursive: true });
  fs.mkdirSync(path.join(tmp, 'mappings'));
  const g0 = performance.now();
  generate(path.join(tmp, 'protos'));
  process.stderr.write(`generated ${FILES} files, ${FILES * METHODS} rules in ${(performance.now() - g0).toFixed(0)} ms under ${tmp}\n`);
  const node0 = performance.now();
  await new Promise((r) => spawn(process.execPath, ['-e', '0']).once('exit', r));
  process.stdout.write(`Node itself (node -e 0): ${(performance.now() - node0).toFixed(0)} ms\n\n`);
  process.stdout.write('| start-up | ready after ms (median) | range | RSS when ready MiB |\n|---|---:|---|---:|\n');
  await measure('demo (`--demo`)', ['--demo']);
  await measure(`${FILES * METHODS} rules over ${FILES} proto files`, ['--protos', path.join(tmp, 'protos'), '--mappings', path.join(tmp, 'mappings'), '--upstream', '127.0.0.1:1']);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
