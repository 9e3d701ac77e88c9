/**
 * The pure parts of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md) the lean transport needs on every call:
 * the `grpc-timeout` header, the status of a response that carries none (http-grpc-status-mapping.md) or is
 * not gRPC, the status trailers carry, the status of a stream reset by RST_STREAM (as grpc-js
 * subchannel-call.ts maps it), `grpc-message` decoding, and received header blocks as attache metadata
 * (readHeaderBlock). No I/O, no state.
 */
import { CallMetadata, isBinaryKey, isLegalKey, isLegalTextValue, type MetadataValue } from '../call-metadata.js';
import { Code } from '../../status/status.js';
import { ErrorCode, errorName } from './frames.js';

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
 * The gRPC code of an HTTP/2 error code, per PROTOCOL-HTTP2.md "Errors": REFUSED_STREAM → UNAVAILABLE,
 * CANCEL → CANCELLED, ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED, INADEQUATE_SECURITY → PERMISSION_DENIED, every
 * other code → INTERNAL. For RST_STREAM and GOAWAY alike.
 */
export function codeFromH2Error(h2Code: number): Code {
  switch (h2Code) {
    case ErrorCode.REFUSED_STREAM: return Code.UNAVAILABLE;
    case ErrorCode.CANCEL: return Code.CANCELLED;
    case ErrorCode.ENHANCE_YOUR_CALM: return Code.RESOURCE_EXHAUSTED;
    case ErrorCode.INADEQUATE_SECURITY: return Code.PERMISSION_DENIED;
    default: return Code.INTERNAL;
  }
}

/**
 * The status of a stream the server reset before a gRPC status arrived: the code per {@link codeFromH2Error},
 * the words grpc-js subchannel-call.ts uses. REFUSED_STREAM (RFC 9113 §8.7: the stream was not processed) is
 * the only one that is `unprocessed` (gRFC A6 transparent retry).
 */
export function statusFromReset(rstCode: number): { code: number; details: string; unprocessed: boolean } {
  const code = codeFromH2Error(rstCode);
  switch (rstCode) {
    case ErrorCode.REFUSED_STREAM: return { code, details: 'Stream refused by server', unprocessed: true };
    case ErrorCode.CANCEL: return { code, details: 'Call cancelled', unprocessed: false };
    case ErrorCode.ENHANCE_YOUR_CALM: return { code, details: 'Bandwidth exhausted or memory limit exceeded', unprocessed: false };
    case ErrorCode.INADEQUATE_SECURITY: return { code, details: 'Protocol not secure enough', unprocessed: false };
    case ErrorCode.INTERNAL_ERROR: return { code, details: `Received RST_STREAM with code ${rstCode} (Internal server error)`, unprocessed: false };
    case ErrorCode.NO_ERROR: return { code, details: `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)`, unprocessed: false };
    default: return { code, details: `Received RST_STREAM with code ${rstCode}`, unprocessed: false };
  }
}

/**
 * The status of a call in flight on a connection the server closed with a GOAWAY error `h2Code` (debug data
 * `debug`, e.g. `too_many_pings`): the code per {@link codeFromH2Error}, and words that name the cause.
 */
export function statusFromGoaway(h2Code: number, debug: string): { code: number; details: string } {
  return { code: codeFromH2Error(h2Code), details: `the upstream closed the connection: ${debug !== '' ? debug : errorName(h2Code)} (GOAWAY ${errorName(h2Code)})` };
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

/** Node's `kSingleValueHeaders` (lib/internal/http2/util.js): a repeated one keeps its first value. */
const SINGLE_VALUE = new Set([
  ':status', ':method', ':authority', ':scheme', ':path', ':protocol', 'access-control-allow-credentials', 'access-control-max-age',
  'access-control-request-method', 'age', 'authorization', 'content-encoding', 'content-language', 'content-length', 'content-location',
  'content-md5', 'content-range', 'content-type', 'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since',
  'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range',
  'referer', 'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

/**
 * The status a response's header block (`:status` `httpStatus`, `contentType`) ends the call with before any
 * message when it is not a gRPC response (a proxy's error page, say): http-grpc-status-mapping.md for a
 * non-200 status, UNKNOWN for a 200 that is not application/grpc*; undefined for a gRPC response.
 */
export function notGrpcResponse(httpStatus: number, contentType: string | undefined): { code: number; details: string } | undefined {
  if (httpStatus !== 200) return statusFromHttp(httpStatus);
  if (contentType === undefined || !contentType.startsWith('application/grpc')) {
    return { code: Code.UNKNOWN, details: `Received a response with content-type ${String(contentType)}, not application/grpc` };
  }
  return undefined;
}

/**
 * The status trailers (or a trailers-only response) carry: `grpc-status` and the decoded `grpc-message`;
 * without grpc-status, the mapping of a non-200 `:status` (`httpStatus`, 0 when none arrived), else UNKNOWN
 * "No status information received" (grpc-js's words).
 */
export function statusOfTrailers(headers: HeaderBlock, httpStatus: number): { code: number; details: string } {
  const statusText = headers.grpcStatus;
  if (statusText !== undefined) {
    const msg = headers.grpcMessage;
    return { code: parseGrpcStatus(statusText), details: msg === undefined ? '' : decodeGrpcMessage(msg) };
  }
  if (httpStatus !== 200 && httpStatus !== 0) return statusFromHttp(httpStatus);
  return { code: Code.UNKNOWN, details: 'No status information received' };
}

/** Above this many entries a header block's repeats are found through a Map, not by scanning. */
const SCAN_LIMIT = 16;

/** One received header block (response headers, trailers, or both for a trailers-only response). */
export interface HeaderBlock {
  /** `:status` (the first, if repeated). */
  readonly status: string | undefined;
  /** `content-type` (the first); also left in `metadata`. */
  readonly contentType: string | undefined;
  /** gRPC's own fields, consumed by the transport and not in `metadata`; repeats joined with ", ". */
  readonly grpcStatus: string | undefined;
  readonly grpcMessage: string | undefined;
  readonly grpcEncoding: string | undefined;
  /** Everything else but pseudo-headers and `grpc-accept-encoding`. */
  readonly metadata: CallMetadata;
}

/**
 * `fields` (name, value, name, value… as session.ts decodes them) → a {@link HeaderBlock}, in one pass and
 * straight to attache metadata. The metadata is what node:http2's header object (`toHeaderObject`) turned
 * into grpc-js `Metadata.fromHttp2Headers` before, so users see the same: a repeated field is joined with
 * ", " (cookie "; "), set-cookie keeps each value, a repeated single-value field keeps its first; `-bin`
 * values are base64-decoded (a custom key's value split at ',' into several values, a `grpc-*-bin` one
 * decoded whole); an entry grpc-js would refuse (illegal key after lower-casing, text outside 0x20–0x7E) is
 * dropped. Never throws.
 */
export function readHeaderBlock(fields: readonly string[]): HeaderBlock {
  let status: string | undefined;
  let contentType: string | undefined;
  let grpcStatus: string | undefined;
  let grpcMessage: string | undefined;
  let grpcEncoding: string | undefined;
  const list: string[] = [];
  let index: Map<string, number> | undefined;
  let rewrite = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (name === ':status' && status === undefined) status = value;
      continue;
    }
    switch (name) {
      case 'grpc-status': grpcStatus = grpcStatus === undefined ? value : `${grpcStatus}, ${value}`; continue;
      case 'grpc-message': grpcMessage = grpcMessage === undefined ? value : `${grpcMessage}, ${value}`; continue;
      case 'grpc-encoding': grpcEncoding = grpcEncoding === undefined ? value : `${grpcEncoding}, ${value}`; continue;
      case 'grpc-accept-encoding': continue;
      case 'content-type': if (contentType === undefined) contentType = value; break;
    }
    // The entry of an earlier field of this name, if any.
    let at = -1;
    if (name !== 'set-cookie') {
      if (index !== undefined) at = index.get(name) ?? -1;
      else for (let j = 0; j < list.length; j += 2) if (list[j] === name) { at = j; break; }
    }
    if (at < 0) {
      if (index === undefined && list.length >= 2 * SCAN_LIMIT) {
        index = new Map();
        for (let j = list.length - 2; j >= 0; j -= 2) if (list[j] !== 'set-cookie') index.set(list[j]!, j);
      }
      if (index !== undefined && name !== 'set-cookie') index.set(name, list.length);
      list.push(name, value);
      if (!rewrite && (isBinaryKey(name) || !isLegalKey(name) || !isLegalTextValue(value))) rewrite = true;
    } else if (!SINGLE_VALUE.has(name)) {
      const joined = `${list[at + 1]!}${name === 'cookie' ? '; ' : ', '}${value}`;
      list[at + 1] = joined;
      if (!rewrite && !isLegalTextValue(joined)) rewrite = true;
    }
  }
  return { status, contentType, grpcStatus, grpcMessage, grpcEncoding, metadata: list.length === 0 ? CallMetadata.EMPTY : new CallMetadata(rewrite ? checked(list) : list) };
}

/** `list` with `-bin` values decoded and entries grpc-js would refuse left out (grpc-js fromHttp2Headers). */
function checked(list: readonly string[]): MetadataValue[] {
  const out: MetadataValue[] = [];
  // grpc-js adds set-cookie's values one by one and gives up on the key at the first it refuses.
  let setCookieRefused = false;
  for (let i = 0; i < list.length; i += 2) {
    let key = list[i]!;
    const value = list[i + 1]!;
    if (!isLegalKey(key)) {
      key = key.toLowerCase(); // grpc-js normalises keys before checking them
      if (!isLegalKey(key)) continue;
    }
    if (!isBinaryKey(key)) {
      if (key === 'set-cookie' && (setCookieRefused ||= !isLegalTextValue(value))) continue;
      if (isLegalTextValue(value)) out.push(key, value);
    } else if (key.startsWith('grpc-')) {
      out.push(key, Buffer.from(value, 'base64'));
    } else {
      for (const part of value.split(',')) out.push(key, Buffer.from(part.trim(), 'base64'));
    }
  }
  return out;
}
