// A/B of an upstream credential's cost per call (src/upstream/credentials.ts): Upstream.call on the lean
// transport against bench/backend.mjs, without a credential and with a token file (the held `Bearer …`
// attached with CallMetadata.with, the outcome watched for UNAUTHENTICATED). Blocks of --block calls with
// --c in flight alternate A, B, A, B… (--blocks each); the figure is this process's CPU per call
// (process.cpuUsage), median over blocks. An OAuth2 token costs the same per call once fetched: both keep
// the header value ready. Usage: npm run build && node bench/micro-credentials.mjs [--c 16] [--block 3000] [--blocks 8]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, BENCH_DIR, GET_ID, MAPPING_FILE, PROTOS_DIR, REPO_DIR } from './lib/proto.mjs';

const dist = (m) => import(path.join(REPO_DIR, 'dist', m));
const { loadConfig } = await dist('config/load.js');
const { buildSnapshot } = await dist('snapshot.js');
const { createUpstreams } = await dist('upstream/channels.js');
const { CallMetadata } = await dist('upstream/call-metadata.js');
const C = Number(arg('c', '16'));
const BLOCK = Number(arg('block', '3000'));
const BLOCKS = Number(arg('blocks', '8'));

const backend = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => backend.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && resolve(Number(/listening (\d+)/.exec(String(d))[1]))));
const tokenFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attache-bench-')), 'token');
fs.writeFileSync(tokenFile, `${'x'.repeat(Number(arg('token-bytes', '800')))}\n`); // about the size of a signed JWT access token

async function upstream(extra) {
  const loaded = loadConfig(['--protos', PROTOS_DIR, '--protos', path.join(REPO_DIR, 'protos'), '--mappings', MAPPING_FILE, '--upstream', `127.0.0.1:${port}`, ...extra], {});
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const built = buildSnapshot(loaded.config, {});
  if (!built.ok) throw new Error(JSON.stringify(built.problems));
  const route = built.snapshot.table.routes.find((r) => r.selector === 'bench.v1.PaymentService.GetPayment');
  const ups = await createUpstreams(built.snapshot.upstreams, loaded.config.outbound, {});
  return { ups, up: ups.get(route.policy.upstream.key), route };
}
const plain = await upstream([]);
const withToken = await upstream(['--upstream-token-file', tokenFile]);
// GetPaymentRequest { payment_id: GET_ID, include_items: true }
const req = Buffer.concat([Buffer.from([0x0a, GET_ID.length]), Buffer.from(GET_ID), Buffer.from([0x10, 1])]);
const md = CallMetadata.of([['x-request-id', 'bench']]);
// The same header on the wire without the credential code: what the header itself costs.
const withHeader = { ...plain, md: md.with('authorization', `Bearer ${fs.readFileSync(tokenFile, 'utf8').trim()}`) };

async function block({ up, route, md: metadata = md }) {
  let left = BLOCK;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (left-- > 0) {
        const o = await up.call(route, req, metadata, 15000).done;
        if (o.response === undefined) throw new Error(`call failed: ${o.error?.details}`);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / BLOCK, wallUs: ((performance.now() - t0) * 1000) / BLOCK };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
await block(plain);
await block(withToken);
const a = [];
const b = [];
const h = [];
for (let i = 0; i < BLOCKS; i++) {
  a.push(await block(plain));
  h.push(await block(withHeader));
  b.push(await block(withToken));
}
const ra = median(a.map((x) => x.cpuUs));
const rb = median(b.map((x) => x.cpuUs));
const rh = median(h.map((x) => x.cpuUs));
process.stdout.write(
  `upstream call (lean transport), c=${C}, ${BLOCKS}×${BLOCK} calls each, CPU µs/call (median of blocks):\n` +
    `  no credential:      ${ra.toFixed(1)}   wall µs/call ${median(a.map((x) => x.wallUs)).toFixed(1)}\n` +
    `  the same authorization header, sent by the caller: ${rh.toFixed(1)}   wall µs/call ${median(h.map((x) => x.wallUs)).toFixed(1)}\n` +
    `  token file:         ${rb.toFixed(1)}   wall µs/call ${median(b.map((x) => x.wallUs)).toFixed(1)}\n` +
    `  token file − no credential: ${(rb - ra).toFixed(1)} µs/call, of which the header itself ${(rh - ra).toFixed(1)}\n`,
);
plain.ups.close();
withToken.ups.close();
backend.kill('SIGTERM');
fs.rmSync(path.dirname(tokenFile), { recursive: true, force: true });
