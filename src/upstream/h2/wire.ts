/**
 * The pure parts of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md) the lean transport needs on every call:
 * the `grpc-timeout` header, the status of a response that carries none (http-grpc-status-mapping.md), the
 * status of a stream reset by RST_STREAM (as grpc-js subchannel-call.ts maps it), and `grpc-message`
 * decoding. No I/O, no state.
 */
import http2 from 'node:http2';
import { Code } from '../../status/status.js';

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

const C = http2.constants;

/**
 * The status of a stream the server reset before a gRPC status arrived, as grpc-js subchannel-call.ts
 * reports it. REFUSED_STREAM (RFC 9113 §8.7: the stream was not processed) is the only one that is
 * `unprocessed` (gRFC A6 transparent retry).
 */
export function statusFromReset(rstCode: number): { code: number; details: string; unprocessed: boolean } {
  switch (rstCode) {
    case C.NGHTTP2_REFUSED_STREAM: return { code: Code.UNAVAILABLE, details: 'Stream refused by server', unprocessed: true };
    case C.NGHTTP2_CANCEL: return { code: Code.CANCELLED, details: 'Call cancelled', unprocessed: false };
    case C.NGHTTP2_ENHANCE_YOUR_CALM: return { code: Code.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded', unprocessed: false };
    case C.NGHTTP2_INADEQUATE_SECURITY: return { code: Code.PERMISSION_DENIED, details: 'Protocol not secure enough', unprocessed: false };
    case C.NGHTTP2_INTERNAL_ERROR: return { code: Code.INTERNAL, details: `Received RST_STREAM with code ${rstCode} (Internal server error)`, unprocessed: false };
    case C.NGHTTP2_NO_ERROR: return { code: Code.INTERNAL, details: `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)`, unprocessed: false };
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
