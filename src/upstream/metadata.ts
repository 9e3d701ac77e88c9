/**
 * HTTP headers ↔ gRPC metadata (the contract's "Headers in / Headers out"). An allow-list goes in —
 * Authorization, X-Request-Id, the trace headers and `Grpc-Metadata-*` — never every header: forwarding all
 * of them leaks hop-by-hop fields and `host`, and any name grpc-js does not accept makes `Metadata` throw.
 * Keys and values are validated here first, the way grpc-gateway's isValidGRPCMetadataKey does, so the
 * request path gets an RpcStatus instead of an exception.
 */
import { randomUUID } from 'node:crypto';
import { CallMetadata, isBinaryKey, isLegalTextValue, type MetadataValue } from './call-metadata.js';
import { Code, RpcStatus } from '../status/status.js';
import {
  AUTHORIZATION,
  GRPC_METADATA_PREFIX,
  TRACE_HEADERS,
  X_REQUEST_ID,
  isUnforwardableKey,
} from './headers.js';

/** Node's IncomingHttpHeaders, read-only: lower-case names, a string or (for a few headers) an array. */
export type HttpHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** A legal gRPC metadata key (PROTOCOL-HTTP2.md: Header-Name → 1*( %x30-39 / %x61-7A / "_" / "-" / ".")). */
const LEGAL_KEY = /^[0-9a-z_.-]+$/;
/** Base64, standard or URL-safe alphabet, padded or not (PROTOCOL-HTTP2.md: "MUST accept padded and un-padded"). */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** A value Node puts in an HTTP header without throwing (its checkInvalidHeaderChar: VCHAR, SP, HTAB, obs-text). */
const LEGAL_HTTP_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** An HTTP field name (RFC 9110 §5.1: token). */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** X-Request-Id we echo: 1–128 visible ASCII characters (RFC 5234 VCHAR), so it is safe in logs and headers. */
const ECHOABLE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

function invalid(header: string, why: string): RpcStatus {
  return new RpcStatus(Code.INVALID_ARGUMENT, `invalid header "${header}": ${why}`);
}

/** The values of a header as a list; an absent header gives []. */
function valuesOf(v: string | string[] | undefined): readonly string[] {
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

/**
 * Decodes one base64 metadata value, or undefined when it is not base64. Buffer.from(…, 'base64') accepts
 * both alphabets but silently skips characters it does not know, hence the check first.
 */
function decodeBase64(v: string): Buffer | undefined {
  if (!BASE64.test(v)) return undefined;
  const unpadded = v.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (unpadded.length !== v.length && v.length % 4 !== 0) return undefined;
  return Buffer.from(v, 'base64');
}

/**
 * Appends `value` (a header's string, or its array of strings; undefined adds nothing) under `key` to
 * `list`, checked by the rules grpc-js applies (call-metadata.ts), so either wire accepts every entry.
 * `header` is the HTTP name, for the error message. Values are not echoed in messages: they may be
 * credentials.
 */
function addValues(list: MetadataValue[], key: string, header: string, value: string | readonly string[] | undefined): RpcStatus | undefined {
  if (value === undefined) return undefined;
  if (isBinaryKey(key)) {
    for (const joined of typeof value === 'string' ? [value] : value) {
      // gRPC joins repeated binary values with ',' (PROTOCOL-HTTP2.md) and Node joins repeated headers with
      // ', ', so a comma always separates values here: base64 has none.
      for (const part of joined.split(',')) {
        const bytes = decodeBase64(part.trim());
        if (bytes === undefined) return invalid(header, 'a "-bin" header must hold base64 (standard or URL-safe)');
        list.push(key, bytes);
      }
    }
    return undefined;
  }
  // A string is checked without wrapping it in an array first: this runs per header on the request path.
  if (typeof value === 'string') return addText(list, key, header, value);
  for (const v of value) {
    const failed = addText(list, key, header, v);
    if (failed !== undefined) return failed;
  }
  return undefined;
}

function addText(list: MetadataValue[], key: string, header: string, value: string): RpcStatus | undefined {
  if (!isLegalTextValue(value)) return invalid(header, 'the value may only hold printable ASCII (0x20–0x7E)');
  list.push(key, value);
  return undefined;
}

/**
 * Inbound: request headers → attache metadata (call-metadata.ts) for the upstream call, built in one list
 * with no intermediate objects. Forwarded:
 * - `authorization`, each value as is;
 * - `x-request-id`, set to `requestId` (the id attache echoes; see requestIdFrom), whatever the client sent;
 * - the trace headers (TRACE_HEADERS) as they are — telemetry may overwrite `traceparent`/`b3` afterwards;
 * - every `grpc-metadata-<name>` header as `<name>` (prefix stripped, lower-cased).
 * Nothing else is forwarded. A `<name>` that is reserved to gRPC (`grpc-*`, `content-type`, `te`,
 * `user-agent`, `:`-pseudo), hop-by-hop, or `x-request-id` (set above) is dropped, not forwarded. Keys must
 * be legal gRPC metadata keys ([0-9a-z_.-]); values printable ASCII (0x20–0x7E), except for `-bin` keys,
 * whose value is base64 (standard or URL-safe, padded or not; comma-separated values are several values)
 * decoded to a Buffer. Array-valued headers add each value.
 *
 * Returns the metadata, or RpcStatus INVALID_ARGUMENT naming the first header with an illegal key or value
 * (an empty name after the prefix counts as illegal). Never throws.
 */
export function metadataFromHeaders(headers: HttpHeaders, requestId: string): CallMetadata | RpcStatus {
  const list: MetadataValue[] = [];
  const auth = addValues(list, AUTHORIZATION, AUTHORIZATION, headers[AUTHORIZATION]);
  if (auth !== undefined) return auth;
  const id = addValues(list, X_REQUEST_ID, X_REQUEST_ID, requestId);
  if (id !== undefined) return id;
  for (const name of TRACE_HEADERS) {
    const failed = addValues(list, name, name, headers[name]);
    if (failed !== undefined) return failed;
  }
  for (const header in headers) {
    // Only names starting g/G can carry the prefix: skip the rest without lower-casing them.
    if (header.length < GRPC_METADATA_PREFIX.length || (header.charCodeAt(0) | 0x20) !== 0x67 /* g */) continue;
    const lower = header.toLowerCase();
    if (!lower.startsWith(GRPC_METADATA_PREFIX)) continue;
    const key = lower.slice(GRPC_METADATA_PREFIX.length);
    if (key === '') return invalid(header, `the metadata name after "${GRPC_METADATA_PREFIX}" is empty`);
    // attache owns x-request-id: a second value from Grpc-Metadata-X-Request-Id would make the id the upstream
    // logs differ from the one echoed to the client.
    if (isUnforwardableKey(key) || key === X_REQUEST_ID) continue;
    if (!LEGAL_KEY.test(key)) {
      return invalid(header, `"${key}" is not a legal gRPC metadata key (allowed: 0-9 a-z _ . -)`);
    }
    const failed = addValues(list, key, header, headers[header]);
    if (failed !== undefined) return failed;
  }
  return new CallMetadata(list);
}

/** Adds one header value to `out`, turning a repeated name into an array. */
function appendHeader(out: Record<string, string | string[]>, name: string, value: string): void {
  const prev = Object.hasOwn(out, name) ? out[name] : undefined;
  if (prev === undefined) out[name] = value;
  else if (typeof prev === 'string') out[name] = [prev, value];
  else prev.push(value);
}

/**
 * Outbound: gRPC response headers → `grpc-metadata-<key>` (call with GRPC_METADATA_PREFIX), trailers →
 * `grpc-trailer-<key>` (GRPC_TRAILER_PREFIX), written into `out`, a plain object the caller owns (no
 * allocation of an intermediate map). Keys reserved to gRPC and hop-by-hop keys are skipped; `-bin` values
 * are base64-encoded (standard alphabet, padded); a value Node would refuse in an HTTP header (CR, LF, NUL…)
 * or a key that is not an HTTP token is skipped. A key with several values, or one already in `out`, becomes
 * an array. Never throws.
 */
export function headersFromMetadata(md: CallMetadata, prefix: string, out: Record<string, string | string[]>): void {
  for (let i = 0; i < md.size; i++) {
    const key = md.keyAt(i);
    if (isUnforwardableKey(key) || !HTTP_TOKEN.test(key)) continue;
    const v = md.valueAt(i);
    const text = typeof v === 'string' ? v : v.toString('base64');
    if (LEGAL_HTTP_VALUE.test(text)) appendHeader(out, prefix + key, text);
  }
}

/**
 * The request id: the client's `x-request-id` when it is 1–128 visible ASCII characters (0x21–0x7E; the first
 * value if there are several), so it can be echoed and logged safely; otherwise a new `crypto.randomUUID()`.
 * Never throws.
 */
export function requestIdFrom(headers: HttpHeaders): string {
  const given = valuesOf(headers[X_REQUEST_ID])[0];
  return given !== undefined && ECHOABLE_REQUEST_ID.test(given) ? given : randomUUID();
}
