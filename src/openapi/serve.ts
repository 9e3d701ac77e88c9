/**
 * The OpenAPI document of a snapshot, built on first use and kept with that snapshot (a reload brings a
 * new snapshot and so a new document), with `servers` pointing at the data listener as the asking client
 * reached attache.
 */
import { stringify } from 'yaml';
import type { Snapshot } from '../snapshot.js';
import { buildOpenApi, type OpenApiDocument } from './document.js';

const documents = new WeakMap<Snapshot, OpenApiDocument>();

/** The snapshot's document without `servers`; built once per snapshot. */
export function documentOf(snapshot: Snapshot, version: string): OpenApiDocument {
  let doc = documents.get(snapshot);
  if (doc === undefined) {
    doc = buildOpenApi({ routes: snapshot.table.routes, root: snapshot.registry.root, title: titleOf(snapshot), version });
    documents.set(snapshot, doc);
  }
  return doc;
}

/** "payments.v1.PaymentService", or "a.v1.A, b.v1.B and 3 more". */
function titleOf(snapshot: Snapshot): string {
  const services = [...new Set(snapshot.table.routes.map((r) => r.grpcPath.slice(1, r.grpcPath.indexOf('/', 1))))];
  if (services.length === 0) return 'attache (no routes)';
  const shown = services.slice(0, 2).join(', ');
  return services.length > 2 ? `${shown} and ${services.length - 2} more` : shown;
}

/**
 * The data listener's base URL for a client that reached the admin listener with `hostHeader`: the same
 * host name, the data listener's port. A browser on the docs page then sends "try it" requests where the
 * data listener is, whatever name or address it used for the admin port.
 */
export function dataListenerUrl(hostHeader: string | undefined, dataPort: number, fallbackHost: string): string {
  let host = fallbackHost;
  const h = hostHeader?.trim() ?? '';
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(h);
  if (m !== null) host = m[1]!;
  else if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${dataPort}`;
}

/** The document with its `servers` (a shallow copy). */
export function withServer(doc: OpenApiDocument, serverUrl: string): OpenApiDocument {
  return { openapi: doc['openapi'], info: doc['info'], servers: [{ url: serverUrl, description: 'attache data listener' }], ...doc };
}

/** The document with its `servers`, as JSON text or YAML. */
export function renderDocument(doc: OpenApiDocument, serverUrl: string, format: 'json' | 'yaml'): string {
  const withServers = withServer(doc, serverUrl);
  return format === 'json' ? JSON.stringify(withServers) : stringify(withServers, { aliasDuplicateObjects: false });
}
