// Summarises a V8 .cpuprofile: top functions by self time, and self time grouped by package / src module.
// Usage: node bench/lib/top.mjs FILE.cpuprofile [N]
import fs from 'node:fs';

const file = process.argv[2];
const n = Number(process.argv[3] ?? 40);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fnSelf = new Map();
const modSelf = new Map();
const where = (url) => {
  if (!url) return '(native/vm)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const s = /\/(dist|src)\/(.+)$/.exec(url);
  if (s) return `attache:${s[2]}`;
  if (url.startsWith('node:')) return url;
  return url;
};
for (const [id, t] of self) {
  const node = byId.get(id);
  const cf = node.callFrame;
  const key = `${cf.functionName || '(anonymous)'}  ${where(cf.url)}:${cf.lineNumber + 1}`;
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
  const mod = where(cf.url);
  modSelf.set(mod, (modSelf.get(mod) ?? 0) + t);
}
const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nby module/package (self):\n`);
for (const [k, t] of [...modSelf].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${pct(t)}  ${k}\n`);
process.stdout.write(`\ntop ${n} functions (self):\n`);
for (const [k, t] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${pct(t)}  ${k}\n`);

// `--callers NAME`: who calls the functions named NAME (self time of NAME, attributed to the call stack above it).
const ci = process.argv.indexOf('--callers');
if (ci > 0) {
  const name = process.argv[ci + 1];
  const parent = new Map();
  for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const stacks = new Map();
  for (const [id, t] of self) {
    const node = byId.get(id);
    if (node.callFrame.functionName !== name) continue;
    const chain = [];
    let p = parent.get(id);
    for (let d = 0; d < 8 && p !== undefined; d++, p = parent.get(p)) {
      const cf = byId.get(p).callFrame;
      chain.push(`${cf.functionName || '(anon)'}@${where(cf.url)}:${cf.lineNumber + 1}`);
    }
    const key = chain.join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + t);
  }
  process.stdout.write(`\ncallers of ${name}:\n`);
  for (const [k, t] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) process.stdout.write(`${pct(t)}  ${k}\n`);
}

// `--inclusive`: functions by total time (self + callees; counted once per stack).
if (process.argv.includes('--inclusive')) {
  const parent = new Map();
  for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const incl = new Map();
  for (const [id, t] of self) {
    const seen = new Set();
    for (let p = id; p !== undefined; p = parent.get(p)) {
      const cf = byId.get(p).callFrame;
      const key = `${cf.functionName || '(anon)'}  ${where(cf.url)}:${cf.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + t);
    }
  }
  const filter = process.argv[process.argv.indexOf('--inclusive') + 1] ?? '';
  process.stdout.write(`\ninclusive (${filter || 'all'}):\n`);
  for (const [k, t] of [...incl].filter(([k]) => k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${pct(t)}  ${k}\n`);
}
