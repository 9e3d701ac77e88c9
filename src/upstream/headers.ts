/**
 * Header and metadata names attache reads or writes, in one place (connect-es protocol-grpc/headers.ts does
 * the same). All names are lower-case: Node's IncomingHttpHeaders and grpc-js Metadata both normalise to it.
 */

/** `Grpc-Metadata-<name>`: request headers forwarded as metadata, response headers sent back (grpc-gateway). */
export const GRPC_METADATA_PREFIX = 'grpc-metadata-';
/** `Grpc-Trailer-<name>`: upstream trailers, written as plain response headers (grpc-gateway's prefix). */
export const GRPC_TRAILER_PREFIX = 'grpc-trailer-';
/** The request id: read from the client, generated when absent, echoed on every response, forwarded upstream. */
export const X_REQUEST_ID = 'x-request-id';
/** gRPC's timeout header (PROTOCOL-HTTP2.md, "Timeout"), accepted from HTTP clients too. */
export const GRPC_TIMEOUT = 'grpc-timeout';
/** attache's human-friendly timeout header (`250ms`, `2s`, `1m`). */
export const X_REQUEST_TIMEOUT = 'x-request-timeout';
/** Forwarded as metadata so upstreams can authenticate the caller. */
export const AUTHORIZATION = 'authorization';
/**
 * Where the caller's own `Authorization` goes when attache's upstream credential takes `authorization`
 * (ESPv2's header for the same case; docs/credentials.md).
 */
export const X_FORWARDED_AUTHORIZATION = 'x-forwarded-authorization';
/** The trailer carrying a serialized google.rpc.Status with the error details. */
export const GRPC_STATUS_DETAILS_BIN = 'grpc-status-details-bin';
/** RFC 9110 §10.2.3; set from a google.rpc.RetryInfo detail and when a circuit is open. */
export const RETRY_AFTER = 'retry-after';

/** The suffix that marks a binary metadata key, whose HTTP form is base64 (PROTOCOL-HTTP2.md, "Binary-Header"). */
export const BINARY_KEY_SUFFIX = '-bin';

/**
 * Trace-context headers forwarded as they are: W3C Trace Context (`traceparent`, `tracestate`), W3C Baggage
 * (`baggage`), and B3 in its single (`b3`) and multi (`x-b3-*`) forms (openzipkin/b3-propagation).
 */
export const TRACE_HEADERS: ReadonlySet<string> = new Set([
  'traceparent',
  'tracestate',
  'baggage',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
]);

/**
 * Headers that describe one HTTP connection or message framing, never forwarded either way: RFC 9110 §7.6.1's
 * connection-specific fields (plus the de-facto `keep-alive` and `proxy-connection`), the proxy auth fields
 * (§11.7), `te`/`trailer`/`transfer-encoding`/`upgrade`, and `host`, `content-length`, `content-type`, which
 * describe the HTTP/1 message rather than the call.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
]);

/**
 * Metadata keys gRPC itself owns (PROTOCOL-HTTP2.md: "grpc-" is reserved, and the transport sets
 * `content-type`, `te` and `user-agent`); user metadata must not set them, and they are not shown to HTTP
 * clients. HTTP/2 pseudo-headers (`:path`, `:status`…) are reserved too, by prefix.
 */
// `date` is added by the HTTP/2 transport of most gRPC servers (grpc-js, grpc-go); it describes the upstream
// hop, not the answer, and the HTTP response carries its own Date header.
export const RESERVED_GRPC_KEYS: ReadonlySet<string> = new Set(['content-type', 'te', 'user-agent', 'date']);
/** Key prefixes reserved to gRPC and HTTP/2; see RESERVED_GRPC_KEYS. */
export const RESERVED_GRPC_PREFIXES: readonly string[] = Object.freeze(['grpc-', ':']);

/** True for a key gRPC owns (RESERVED_GRPC_KEYS or a RESERVED_GRPC_PREFIXES prefix). `key` must be lower-case. */
export function isReservedGrpcKey(key: string): boolean {
  if (RESERVED_GRPC_KEYS.has(key)) return true;
  // A loop, not .some(): this runs per metadata entry on the request path, and a closure per call adds up.
  for (const p of RESERVED_GRPC_PREFIXES) if (key.startsWith(p)) return true;
  return false;
}

/** True for a key that never crosses attache: reserved to gRPC, or hop-by-hop. `key` must be lower-case. */
export function isUnforwardableKey(key: string): boolean {
  return isReservedGrpcKey(key) || HOP_BY_HOP_HEADERS.has(key);
}
