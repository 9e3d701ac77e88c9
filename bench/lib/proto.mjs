// Loads bench/v1/bench.proto with @grpc/proto-loader, the way a hand-written Node service would
// (camelCase names, int64 as decimal strings, enums as names), plus the fixed payment the backend serves.
// Shared by the backend, the hand-written baseline and the direct client; attache loads the proto itself.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(BENCH_DIR, '..');
export const PROTOS_DIR = path.join(BENCH_DIR, 'protos');
export const MAPPING_FILE = path.join(BENCH_DIR, 'bench.mapping.yaml');
export const CREATE_BODY_FILE = path.join(BENCH_DIR, 'fixtures', 'create-payment.json');

export const GET_ID = 'pay_01HZX3K9Q7V2M4N8R6T0W5Y1AB';
export const GET_PATH = `/v1/payments/${GET_ID}?include_items=true`;
export const CREATED_ID = 'pay_new_0001';
export const MISSING_PREFIX = 'missing';

export function loadBench() {
  const def = protoLoader.loadSync('bench/v1/bench.proto', {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: [PROTOS_DIR, path.join(REPO_DIR, 'protos'), path.join(REPO_DIR, 'third_party', 'googleapis')],
  });
  const pkg = grpc.loadPackageDefinition(def);
  return { grpc, def, PaymentService: pkg.bench.v1.PaymentService };
}

/** The fixed payment (the same values the peer gateways' fixture uses): int64s, an enum, 3 items, a map, a Timestamp. */
export function newPayment(id, withItems, status) {
  const p = {
    id,
    amountMinor: '24597',
    currency: 'EUR',
    status,
    metadata: { order_id: 'ord_7731', channel: 'web', region: 'eu-west' },
    createdAt: { seconds: '1715937704', nanos: 123000000 },
    customerId: 'cus_4Qx9T2',
    description: 'Order #7731',
  };
  if (withItems) {
    p.items = [
      { sku: 'SKU-KB-001', description: 'Mechanical keyboard, US layout', quantity: 1, unitAmountMinor: '12900' },
      { sku: 'SKU-MS-014', description: 'Wireless mouse', quantity: 2, unitAmountMinor: '3900' },
      { sku: 'SKU-CB-203', description: 'USB-C cable, 2 m', quantity: 3, unitAmountMinor: '1299' },
    ];
  }
  return p;
}

export function createBody() {
  return fs.readFileSync(CREATE_BODY_FILE, 'utf8');
}

/** A protobuf varint of `buf` at `pos.i` (advanced past it), as a number: the bench backends read wire bytes. */
export function readVarint(buf, pos) {
  let v = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos.i++];
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return v;
    shift += 7;
  }
}

/** `--name value` from argv, or the default. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

/** utime+stime of a process in seconds (all threads), from /proc/<pid>/stat; NaN when unknown. */
export function cpuSeconds(pid, ticksPerSecond = 100) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** VmHWM / VmRSS of a process in MiB; NaN when unknown. */
export function memMiB(pid, field = 'VmHWM') {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
