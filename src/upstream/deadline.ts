/**
 * The call's timeout: from the request's `Grpc-Timeout` or `X-Request-Timeout`, capped by the rule's
 * configured deadline, defaulting to the global one. Pure: the caller turns the result into an absolute
 * deadline with its own clock.
 */
import { Code, RpcStatus } from '../status/status.js';
import { GRPC_TIMEOUT, X_REQUEST_TIMEOUT } from './headers.js';
import type { HttpHeaders } from './metadata.js';

/** Node's setTimeout maximum (a signed 32-bit count of ms); longer delays fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * PROTOCOL-HTTP2.md: Timeout → TimeoutValue TimeoutUnit; TimeoutValue → {positive integer as ASCII string of at
 * most 8 digits}; TimeoutUnit → H | M | S | m | u | n.
 */
const GRPC_TIMEOUT_SYNTAX = /^(\d{1,8})([HMSmun])$/;
/** Milliseconds per TimeoutUnit: Hour, Minute, Second, millisecond, microsecond, nanosecond. */
const GRPC_TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
});

/** `250ms`, `2s`, `1.5s`, `1m`, or a bare number of seconds. */
const REQUEST_TIMEOUT_SYNTAX = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;
const REQUEST_TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = Object.freeze({ ms: 1, s: 1_000, m: 60_000 });

/** A positive duration rounded up to whole ms (a timer cannot wait less), never below 1; 0 stays 0. */
function wholeMs(ms: number): number {
  return ms > 0 ? Math.max(1, Math.ceil(ms)) : 0;
}

/**
 * gRPC's Grpc-Timeout syntax (PROTOCOL-HTTP2.md, "Timeout"): 1–8 digits then one unit of H M S m u n, e.g.
 * `100m`, `2S`, `1500u`. → the timeout in whole ms, rounded up so that any positive `u`/`n` value is at least
 * 1 ms; `0` with any unit is 0. Undefined when malformed (9 digits, no or unknown unit, sign, spaces…).
 * Never throws.
 */
export function parseGrpcTimeout(v: string): number | undefined {
  const m = GRPC_TIMEOUT_SYNTAX.exec(v);
  const unit = m?.[2];
  if (m === null || unit === undefined) return undefined;
  return wholeMs(Number(m[1]) * (GRPC_TIMEOUT_UNIT_MS[unit] ?? Number.NaN));
}

/**
 * X-Request-Timeout: a non-negative decimal number with a unit of `ms`, `s` or `m` (minutes) — `250ms`, `2s`,
 * `1.5s`, `1m` — where a bare number means seconds. → whole ms, rounded up (at least 1 when positive).
 * Undefined when malformed (unknown or upper-case unit, sign, exponent, spaces, a value too large to
 * represent). Never throws.
 */
export function parseRequestTimeout(v: string): number | undefined {
  const m = REQUEST_TIMEOUT_SYNTAX.exec(v);
  if (m === null) return undefined;
  const ms = Number(m[1]) * (REQUEST_TIMEOUT_UNIT_MS[m[2] ?? 's'] ?? Number.NaN);
  return Number.isFinite(ms) ? wholeMs(ms) : undefined;
}

/**
 * Reads and parses one timeout header. Repeated values (an array, or Node's ", "-joined form) are malformed:
 * a call has one deadline.
 */
function headerTimeout(
  headers: HttpHeaders,
  name: string,
  parse: (v: string) => number | undefined,
  expected: string,
): number | RpcStatus | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const v = typeof raw === 'string' ? raw : raw.join(', ');
  const ms = parse(v);
  if (ms !== undefined) return ms;
  const shown = v.length > 64 ? `${v.slice(0, 64)}…` : v;
  const message = `invalid header "${name}": ${JSON.stringify(shown)} is not ${expected}`;
  return new RpcStatus(Code.INVALID_ARGUMENT, message);
}

const GRPC_TIMEOUT_EXPECTED = 'a gRPC timeout (1–8 digits and a unit of H M S m u n, e.g. "100m", "2S")';
const REQUEST_TIMEOUT_EXPECTED = 'a duration (a number and a unit of ms, s or m, e.g. "250ms", "2s")';

/** Clamps to [1, MAX_TIMEOUT_MS]; NaN becomes 1 so a broken input fails fast instead of never. */
function clamp(ms: number): number {
  return ms >= 1 ? Math.min(Math.ceil(ms), MAX_TIMEOUT_MS) : 1;
}

/**
 * The call's timeout in ms:
 * - the request's timeout when it sets one — `Grpc-Timeout` wins over `X-Request-Timeout` when both are
 *   set — capped by the rule's deadline (a client may shorten the configured deadline, never extend it);
 * - the rule's deadline when the request sets none;
 * - `defaultMs` when neither does.
 * The result is clamped to [1, 2^31-1] (Node's setTimeout maximum), so a zero timeout fails at once as
 * DEADLINE_EXCEEDED rather than disabling the deadline.
 *
 * Both headers are validated when present, even the one that loses: a malformed header →
 * RpcStatus INVALID_ARGUMENT naming it. Never throws.
 */
export function timeoutFrom(
  headers: HttpHeaders,
  ruleDeadlineMs: number | undefined,
  defaultMs: number,
): number | RpcStatus {
  const grpc = headerTimeout(headers, GRPC_TIMEOUT, parseGrpcTimeout, GRPC_TIMEOUT_EXPECTED);
  if (grpc instanceof RpcStatus) return grpc;
  const plain = headerTimeout(headers, X_REQUEST_TIMEOUT, parseRequestTimeout, REQUEST_TIMEOUT_EXPECTED);
  if (plain instanceof RpcStatus) return plain;
  const requested = grpc ?? plain;
  if (requested === undefined) return clamp(ruleDeadlineMs ?? defaultMs);
  return clamp(ruleDeadlineMs === undefined ? requested : Math.min(requested, ruleDeadlineMs));
}
