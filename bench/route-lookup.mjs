// Route lookup cost against the rule count: the matcher (src/routing/matcher.ts, a segment trie per verb and method)
// built from 10 and from 10,000 rules of realistic shapes — literal prefixes, `{name}`,
// `{name=shelves/*/books/*}`, `**`, custom verbs, several methods — then the same lookups timed on both:
// a literal+variable hit, a multi-segment variable hit, a custom-verb hit, a 405 and a 404.
// Median of --rounds loops of --n lookups each. Usage: node bench/route-lookup.mjs [--n 200000] [--rounds 5]
import path from 'node:path';
import { arg, REPO_DIR } from './lib/proto.mjs';

const { buildMatcher } = await import(path.join(REPO_DIR, 'dist', 'routing', 'matcher.js'));
const { parseTemplate } = await import(path.join(REPO_DIR, 'dist', 'routing', 'template.js'));
const N = Number(arg('n', '200000'));
const ROUNDS = Number(arg('rounds', '5'));

/** `count` rules: every 10 share one service prefix, in 5 shapes. */
function rules(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const svc = `s${Math.floor(i / 10)}`;
    const k = i % 10;
    const shapes = [
      ['GET', `/v1/${svc}/things/{name}`],
      ['POST', `/v1/${svc}/things`],
      ['GET', `/v1/${svc}/{name=shelves/*/books/*}`],
      ['DELETE', `/v1/${svc}/things/{name}`],
      ['POST', `/v1/${svc}/things/{name}:archive`],
      ['GET', `/v1/${svc}/files/{path=**}`],
      ['PATCH', `/v1/${svc}/things/{thing.name}`],
      ['GET', `/v1/${svc}/users/{user}/things/{thing}`],
      ['POST', `/v1/${svc}/users/{user}/things:batchGet`],
      ['GET', `/v2/${svc}/things/{name}`],
    ];
    const [method, t] = shapes[k];
    out.push({ method, template: parseTemplate(t), value: i, source: `rule ${i}` });
  }
  return out;
}

const LOOKUPS = [
  ['GET', '/v1/s0/things/thing_01HZX3K9Q7'],
  ['GET', '/v1/s0/shelves/12/books/abc'],
  ['POST', '/v1/s0/things/t1:archive'],
  ['PUT', '/v1/s0/things/t1'],
  ['GET', '/v1/s0/nothing/here'],
];

function bench(matcher, method, p) {
  const xs = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) matcher.lookup(method, p);
    if (r > 0) xs.push(Number(process.hrtime.bigint() - t0) / N);
  }
  return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

const built = {};
for (const count of [10, 10_000]) {
  const t0 = performance.now();
  const { matcher, conflicts } = buildMatcher(rules(count));
  if (conflicts.length > 0) throw new Error(`conflicts: ${conflicts[0].reason}`);
  built[count] = { matcher, ms: performance.now() - t0 };
}
process.stdout.write(`| lookup | kind | 10 rules ns | 10,000 rules ns | ratio |\n|---|---|---:|---:|---:|\n`);
for (const [m, p] of LOOKUPS) {
  // Interleave the two sizes so that both see the same machine load.
  const a = bench(built[10].matcher, m, p);
  const b = bench(built[10_000].matcher, m, p);
  const kind = built[10].matcher.lookup(m, p).kind;
  process.stdout.write(`| ${m} ${p} | ${kind} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(2)}× |\n`);
}
process.stdout.write(`\nbuild time: 10 rules ${built[10].ms.toFixed(1)} ms, 10,000 rules ${built[10_000].ms.toFixed(0)} ms\n`);
