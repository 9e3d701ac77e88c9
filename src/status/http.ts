/**
 * How an RpcStatus shows on HTTP: the status line and `Retry-After`. The body is wire.ts's job.
 */
import { Code, type DetailJson, type RpcStatus } from './status.js';

/**
 * google.rpc.Code → HTTP status, as documented by each code's "HTTP Mapping" line in google/rpc/code.proto
 * (the same table grpc-gateway's HTTPStatusFromCode and Envoy's transcoder use). Never throws; the switch is
 * exhaustive, so adding a code without a row fails to compile.
 */
export function httpStatusFromCode(code: Code): number {
  switch (code) {
    case Code.OK:
      return 200;
    // 499 is nginx's non-standard "Client Closed Request"; code.proto names it, and no RFC status fits a
    // caller that gave up.
    case Code.CANCELLED:
      return 499;
    case Code.UNKNOWN:
      return 500;
    case Code.INVALID_ARGUMENT:
      return 400;
    case Code.DEADLINE_EXCEEDED:
      return 504;
    case Code.NOT_FOUND:
      return 404;
    case Code.ALREADY_EXISTS:
      return 409;
    case Code.PERMISSION_DENIED:
      return 403;
    case Code.RESOURCE_EXHAUSTED:
      return 429;
    // 400, not 412: 412 Precondition Failed is about HTTP conditional headers (If-Match…, RFC 9110 §13), which a
    // gRPC precondition is not. code.proto and grpc-gateway both say 400.
    case Code.FAILED_PRECONDITION:
      return 400;
    case Code.ABORTED:
      return 409;
    case Code.OUT_OF_RANGE:
      return 400;
    case Code.UNIMPLEMENTED:
      return 501;
    case Code.INTERNAL:
      return 500;
    case Code.UNAVAILABLE:
      return 503;
    case Code.DATA_LOSS:
      return 500;
    case Code.UNAUTHENTICATED:
      return 401;
    default: {
      const unreachable: never = code;
      // A number smuggled past the type (an upstream's code 42): gRPC treats it as UNKNOWN, so 500.
      void unreachable;
      return 500;
    }
  }
}

/** The HTTP status to answer with: `status.options.httpStatus` when set, else the code.proto table. Never throws. */
export function httpStatusOf(status: RpcStatus): number {
  return status.options.httpStatus ?? httpStatusFromCode(status.code);
}

/** google.protobuf.Duration's JSON form (proto3 JSON mapping): optional '-', seconds, up to 9 fraction digits, 's'. */
const DURATION_JSON = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** True when an Any's type URL names google.rpc.RetryInfo, whatever the host part of the URL. */
function isRetryInfo(detail: DetailJson): boolean {
  const url = detail['@type'];
  return typeof url === 'string' && url.slice(url.lastIndexOf('/') + 1) === 'google.rpc.RetryInfo';
}

/**
 * Seconds for `Retry-After` (RFC 9110 §10.2.3, delay-seconds) from the first google.rpc.RetryInfo detail: its
 * `retryDelay`, a Duration JSON string like "1.500s", rounded up to whole seconds so the client never retries
 * early — at least 1 when positive, 0 for "0s". Undefined when there is no RetryInfo, it has no `retryDelay`,
 * or the delay is not a valid non-negative Duration string. Never throws.
 */
export function retryAfterSeconds(details: readonly DetailJson[]): number | undefined {
  const info = details.find(isRetryInfo);
  const delay = info?.['retryDelay'];
  if (typeof delay !== 'string') return undefined;
  const m = DURATION_JSON.exec(delay);
  if (m === null || m[1] !== undefined) return undefined;
  const seconds = Number(m[2]);
  const hasFraction = m[3] !== undefined && /[1-9]/.test(m[3]);
  return hasFraction ? seconds + 1 : seconds;
}
