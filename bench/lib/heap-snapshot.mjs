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
