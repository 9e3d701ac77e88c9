/** The route table as `--check` and `attache dev` print it. */
import type { Snapshot } from '../snapshot.js';

/**
 * One row per route, columns aligned; an upstream target equal to `unset` shows as "(unset)". KIND is the
 * method kind (unary, server-stream, client-stream, bidi), which says how the route is called
 * (docs/streaming.md).
 */
export function routeTable(snapshot: Snapshot, unset?: string): string {
  const rows = [['METHOD', 'TEMPLATE', 'SELECTOR', 'KIND', 'UPSTREAM', 'DEADLINE', 'SOURCE']];
  for (const r of snapshot.table.routes) {
    rows.push([
      r.httpMethod,
      r.template.toString(),
      r.selector,
      r.kind,
      r.upstream.target === unset ? '(unset)' : `${r.upstream.tls ? 'grpcs://' : ''}${r.upstream.target}`,
      r.deadlineMs !== undefined ? `${r.deadlineMs / 1000}s` : `${snapshot.config.defaultDeadlineMs / 1000}s (default)`,
      r.source,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
