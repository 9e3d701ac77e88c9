// A heap snapshot file (.heapsnapshot, as node writes it) summarised: self sizes and counts grouped by
// "type name", for the benches that compare two snapshots (bench/realworld/heap.mjs, bench/inflight-memory.mjs).
import fs from 'node:fs';

/**
 * Self sizes of the snapshot at `file` grouped by "type name" (strings, code, closures and numbers pooled per
 * type, other names cut at 50 characters): `{ total, by: Map<key, { count, size }> }`. `visit(type, name,
 * size)`, if given, sees every node (for a count of its own).
 */
export function snapshotGroups(file, visit = undefined) {
  const s = JSON.parse(fs.readFileSync(file, 'utf8'));
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [ti, ni, si, width] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size'), f.length];
  const by = new Map();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + ti]];
    const size = s.nodes[i + si];
    const name = s.strings[s.nodes[i + ni]];
    total += size;
    visit?.(type, name, size);
    const pooled = ['string', 'concatenated string', 'sliced string', 'code', 'closure', 'number'].includes(type);
    const key = pooled ? `(${type})` : `${type} ${name.slice(0, 50)}`;
    const g = by.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += size;
    by.set(key, g);
  }
  return { total, by };
}

/**
 * What holds the objects of snapshot `afterFile` that snapshot `beforeFile` (an earlier snapshot of the same
 * process: V8 keeps object ids across them) did not have: each new object's self size is charged to its
 * nearest owner on a shortest retaining path from the GC roots, where an owner is an object of a named
 * class or a named closure (plain objects, arrays, Maps, contexts and V8's internals are passed through).
 * A shortest path is not a dominator, but it names the structure that keeps a group of objects, which the
 * type groups of snapshotGroups do not: `fn bytesToJson` is the one-pass JSON writer's renderer cache,
 * `obj Type` protobufjs's reflection objects. Names are the bundle's: build with ATTACHE_BUNDLE_NAMES=1
 * (scripts/bundle.mjs) to keep them readable. Returns `{ total, owners: [{ owner, count, size }] }`, largest
 * first.
 */
export function newObjectOwners(beforeFile, afterFile) {
  const before = JSON.parse(fs.readFileSync(beforeFile, 'utf8'));
  const bf = before.snapshot.meta.node_fields;
  const seen = new Set();
  for (let i = bf.indexOf('id'); i < before.nodes.length; i += bf.length) seen.add(before.nodes[i]);
  const s = JSON.parse(fs.readFileSync(afterFile, 'utf8'));
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const [w, ew] = [nf.length, ef.length];
  const [ti, ni, si, ii, eci] = ['type', 'name', 'self_size', 'id', 'edge_count'].map((k) => nf.indexOf(k));
  const [eti, eto] = ['type', 'to_node'].map((k) => ef.indexOf(k));
  const types = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const n = s.nodes.length / w;
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += s.nodes[i * w + eci] * ew;
  }
  firstEdge[n] = s.edges.length;
  // Breadth-first from the snapshot's root over strong edges: parent[i] is i's predecessor on a shortest path.
  const parent = new Int32Array(n).fill(-1);
  parent[0] = 0;
  const queue = new Uint32Array(n);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  while (head < tail) {
    const from = queue[head++];
    for (let e = firstEdge[from]; e < firstEdge[from + 1]; e += ew) {
      const et = edgeTypes[s.edges[e + eti]];
      if (et === 'weak' || et === 'shortcut') continue;
      const to = s.edges[e + eto] / w;
      if (parent[to] === -1) {
        parent[to] = from;
        queue[tail++] = to;
      }
    }
  }
  const passThrough = new Set(['Object', 'Array', 'Map', 'Set', 'WeakMap', 'Function', '']);
  const ownerName = (i) => {
    const type = types[s.nodes[i * w + ti]];
    const name = s.strings[s.nodes[i * w + ni]];
    if (type === 'object' && !passThrough.has(name) && !name.startsWith('system /')) return `obj ${name.slice(0, 40)}`;
    if (type === 'closure' && name !== '' && name !== 'anonymous') return `fn ${name.slice(0, 40)}`;
    return undefined;
  };
  const by = new Map();
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (seen.has(s.nodes[i * w + ii]) || parent[i] === -1) continue;
    const size = s.nodes[i * w + si];
    total += size;
    let owner;
    for (let j = i, depth = 0; owner === undefined && j !== 0 && depth < 200; depth++) {
      j = parent[j];
      owner = ownerName(j);
    }
    owner ??= '(GC roots)';
    const g = by.get(owner) ?? { owner, count: 0, size: 0 };
    g.count++;
    g.size += size;
    by.set(owner, g);
  }
  return { total, owners: [...by.values()].sort((a, b) => b.size - a.size) };
}
