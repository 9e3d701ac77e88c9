/**
 * The pure parts of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md) the lean transport needs on every call:
 * the `grpc-timeout` header, the status of a response that carries none (http-grpc-status-mapping.md), the
 * status of a stream reset by RST_STREAM (as grpc-js subchannel-call.ts maps it), `grpc-message` decoding,
 * and received header fields as the header object node:http2 used to give. No I/O, no state.
 */
import { Code } from '../../status/status.js';
import { ErrorCode } from './frames.js';

const TIMEOUT_UNITS: ReadonlyArray<readonly [string, number]> = [['m', 1], ['S', 1000], ['M', 60_000], ['H', 3_600_000]];

/**
 * `grpc-timeout` for `timeoutMs` from now: PROTOCOL-HTTP2.md allows at most 8 digits and a unit; like grpc-js
 * `getDeadlineTimeoutString`, the smallest of m, S, M, H that fits, rounded up (0 when already passed).
 */
export function timeoutHeader(timeoutMs: number): string {
  const ms = Math.max(timeoutMs, 0);
  for (const [unit, factor] of TIMEOUT_UNITS) {
    const amount = ms / factor;
    if (amount < 1e8) return `${Math.ceil(amount)}${unit}`;
  }
  // More than 11 000 years: the largest value the header can say.
  return '99999999H';
}

/** http-grpc-status-mapping.md: the status of a response with HTTP status `status` and no grpc-status. */
export function statusFromHttp(status: number): { code: number; details: string } {
  let code: number;
  switch (status) {
    case 400: code = Code.INTERNAL; break;
    case 401: code = Code.UNAUTHENTICATED; break;
    case 403: code = Code.PERMISSION_DENIED; break;
    case 404: code = Code.UNIMPLEMENTED; break;
    case 429: case 502: case 503: case 504: code = Code.UNAVAILABLE; break;
    default: code = Code.UNKNOWN;
  }
  return { code, details: `Received HTTP status code ${status}` };
}

/**
 * The status of a stream the server reset before a gRPC status arrived, as grpc-js subchannel-call.ts
 * reports it. REFUSED_STREAM (RFC 9113 §8.7: the stream was not processed) is the only one that is
 * `unprocessed` (gRFC A6 transparent retry).
 */
export function statusFromReset(rstCode: number): { code: number; details: string; unprocessed: boolean } {
  switch (rstCode) {
    case ErrorCode.REFUSED_STREAM: return { code: Code.UNAVAILABLE, details: 'Stream refused by server', unprocessed: true };
    case ErrorCode.CANCEL: return { code: Code.CANCELLED, details: 'Call cancelled', unprocessed: false };
    case ErrorCode.ENHANCE_YOUR_CALM: return { code: Code.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded', unprocessed: false };
    case ErrorCode.INADEQUATE_SECURITY: return { code: Code.PERMISSION_DENIED, details: 'Protocol not secure enough', unprocessed: false };
    case ErrorCode.INTERNAL_ERROR: return { code: Code.INTERNAL, details: `Received RST_STREAM with code ${rstCode} (Internal server error)`, unprocessed: false };
    case ErrorCode.NO_ERROR: return { code: Code.INTERNAL, details: `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)`, unprocessed: false };
    default: return { code: Code.INTERNAL, details: `Received RST_STREAM with code ${rstCode}`, unprocessed: false };
  }
}

/**
 * `grpc-status` text → code: PROTOCOL-HTTP2.md says a 1–2 digit decimal; anything else, or a number
 * outside google.rpc.Code, is UNKNOWN.
 */
export function parseGrpcStatus(text: string): number {
  if (!/^\d{1,2}$/.test(text)) return Code.UNKNOWN;
  const n = Number(text);
  return n <= 16 ? n : Code.UNKNOWN;
}

/** `grpc-message` is percent-encoded (PROTOCOL-HTTP2.md); a malformed escape leaves the text as sent (grpc-js does the same). */
export function decodeGrpcMessage(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A received header list as node:http2 presented it (what grpc-js `Metadata.fromHttp2Headers` reads). */
export type HeaderObject = Record<string, string | string[]>;

/** Node's `kSingleValueHeaders` (lib/internal/http2/util.js): a repeated one keeps its first value. */
const SINGLE_VALUE = new Set([
  ':status', ':method', ':authority', ':scheme', ':path', ':protocol', 'access-control-allow-credentials', 'access-control-max-age',
  'access-control-request-method', 'age', 'authorization', 'content-encoding', 'content-language', 'content-length', 'content-location',
  'content-md5', 'content-range', 'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since',
  'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range',
  'referer', 'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

/**
 * `fields` (name, value, name, value… as session.ts decodes them) as the object node:http2's
 * `toHeaderObject` builds, so metadata keeps the shape it had on node:http2: a repeated header is joined
 * with ", " (cookie with "; "), set-cookie becomes an array, a repeated single-value header keeps its first.
 */
export function headerObject(fields: readonly string[]): HeaderObject {
  const h: HeaderObject = Object.create(null) as HeaderObject;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const had = h[name];
    if (had === undefined) h[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(had)) had.push(value);
    else if (!SINGLE_VALUE.has(name)) h[name] = `${had}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return h;
}
