// A/B of the request side in one process: two builds of attache (a reference dist and this one) run the
// same request stages on the bench API, alternating round by round, so machine noise hits both alike.
// Stages: buildRequest (JSON/query → message) and encode (message → protobuf) for the GET and POST of
// bench/micro-stages.mjs, and the two together for POST. CPU time (process.cpuUsage) per call.
// Usage: node bench/request-ab.mjs --ref <dist dir> [--new dist] [--n 20000] [--rounds 9]
// Prints, per stage, the median µs of each side and the median (min–max) of the per-round ratios new/ref.
import path from 'node:path';
import { arg, createBody, GET_ID, MAPPING_FILE, PROTOS_DIR, REPO_DIR } from './lib/proto.mjs';

const N = Number(arg('n', '20000'));
const ROUNDS = Number(arg('rounds', '9'));
const refDir = path.resolve(arg('ref', ''));
const newDir = path.resolve(REPO_DIR, arg('new', 'dist'));
if (arg('ref', '') === '') throw new Error('--ref <dist dir> is required');

async function side(dir) {
  const { loadConfig } = await import(path.join(dir, 'config/load.js'));
  const { buildSnapshot } = await import(path.join(dir, 'snapshot.js'));
  const { buildRequest } = await import(path.join(dir, 'transcode/request.js'));
  const cfg = loadConfig(['--protos', PROTOS_DIR, '--mappings', MAPPING_FILE, '--upstream', '127.0.0.1:1'], {});
  const built = buildSnapshot(cfg.config);
  if (!built.ok) throw new Error(JSON.stringify(built.problems));
  const snap = built.snapshot;
  const stages = {};
  for (const [method, p, query, body] of [['GET', `/v1/payments/${GET_ID}`, 'include_items=true', undefined], ['POST', '/v1/payments', '', createBody()]]) {
    const found = snap.table.matcher.lookup(method, p);
    const route = found.value;
    const msg = buildRequest(snap.codec, route, found.bindings, query, body);
    stages[`${method} JSON/query → message`] = () => buildRequest(snap.codec, route, found.bindings, query, body);
    stages[`${method} message → protobuf`] = () => snap.codec.encode(route.requestType, msg);
    if (method === 'POST') {
      stages['POST both'] = () => snap.codec.encode(route.requestType, buildRequest(snap.codec, route, found.bindings, query, body));
    }
  }
  // Both sides must produce the same bytes.
  const bytes = {};
  for (const [method, p, query, body] of [['GET', `/v1/payments/${GET_ID}`, 'include_items=true', undefined], ['POST', '/v1/payments', '', createBody()]]) {
    const found = snap.table.matcher.lookup(method, p);
    bytes[method] = Buffer.from(snap.codec.encode(found.value.requestType, buildRequest(snap.codec, found.value, found.bindings, query, body))).toString('hex');
  }
  return { stages, bytes };
}

function time(fn) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / N;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const ref = await side(refDir);
const neu = await side(newDir);
for (const m of ['GET', 'POST']) if (ref.bytes[m] !== neu.bytes[m]) throw new Error(`${m}: encodings differ`);

process.stdout.write(`ref ${refDir}\nnew ${newDir}\nN ${N}, ${ROUNDS} rounds alternating (first round is warm-up)\n\n`);
process.stdout.write('| stage | ref µs | new µs | new/ref median (min–max) |\n|---|---:|---:|---:|\n');
for (const name of Object.keys(ref.stages)) {
  const a = [];
  const b = [];
  for (let r = 0; r <= ROUNDS; r++) {
    // Alternate which side goes first; round 0 warms both up.
    let x;
    let y;
    if (r % 2 === 1) {
      x = time(ref.stages[name]);
      y = time(neu.stages[name]);
    } else {
      y = time(neu.stages[name]);
      x = time(ref.stages[name]);
    }
    if (r > 0) {
      a.push(x);
      b.push(y);
    }
  }
  const ratios = a.map((v, i) => b[i] / v);
  process.stdout.write(
    `| ${name} | ${median(a).toFixed(2)} | ${median(b).toFixed(2)} | ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |\n`,
  );
}
