/**
 * The OpenAPI document of a snapshot, built on first use and kept with that snapshot (a reload brings a
 * new snapshot and so a new document), with `servers` pointing at the data listener as the asking client
 * reached attache.
 */
import type protobuf from 'protobufjs';
import { stringify } from 'yaml';
import { loadRegistry } from '../registry/load.js';
import type { TypeSource } from '../registry/schema-store.js';
import { rebindRoute } from '../routing/bind.js';
import { rootMessageTypes } from '../codec/descriptors.js';
import type { Snapshot } from '../snapshot.js';
import { buildOpenApi, type OpenApiDocument } from './document.js';

const documents = new WeakMap<Snapshot, OpenApiDocument>();

/**
 * The snapshot's document without `servers`; built once per snapshot.
 *
 * Descriptions come from proto comments, which serving does not keep (snapshot.ts): the document loads the
 * snapshot's proto roots again with comments, and its routes resolve their types there. A type that load
 * does not have (descriptors fetched by `--reflection`, which carry no comments anyway) comes from the
 * snapshot's own schema; if the files on disk no longer match the snapshot (edited without a reload), the
 * whole document falls back to the snapshot's schema, without descriptions.
 */
export function documentOf(snapshot: Snapshot, version: string): OpenApiDocument {
  let doc = documents.get(snapshot);
  if (doc === undefined) {
    const commented = withComments(snapshot);
    const build = (types: TypeSource, root: protobuf.Root | undefined): OpenApiDocument =>
      buildOpenApi({ routes: snapshot.table.routes.map((r) => rebindRoute(r, types)), root, title: titleOf(snapshot), version });
    try {
      doc = commented !== undefined ? build(preferring(rootMessageTypes(commented), snapshot.types), commented) : build(snapshot.types, undefined);
    } catch {
      doc = build(snapshot.types, undefined);
    }
    documents.set(snapshot, doc);
  }
  return doc;
}

/** The snapshot's protos loaded again with their comments, or undefined when they no longer load. */
function withComments(snapshot: Snapshot): protobuf.Root | undefined {
  try {
    return loadRegistry(snapshot.config.protos, { comments: true }).root;
  } catch {
    return undefined;
  }
}

/** `first`'s type when it has one, else `second`'s. */
function preferring(first: TypeSource, second: TypeSource): TypeSource {
  return { messageType: (name) => first.messageType(name) ?? second.messageType(name) };
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
