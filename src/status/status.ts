/**
 * The error model: every failure on the request path — routing misses, bad JSON, bad headers, upstream
 * errors and attache's own bugs — becomes an `RpcStatus` over the closed google.rpc.Code set before anything
 * is written. `toStatus` is the single normaliser. This module imports nothing internal and no
 * fastify/grpc-js/pino, so every layer can depend on it.
 */

/**
 * google.rpc.Code (google/rpc/code.proto). A closed set: there are no user-defined codes. The numbers are the
 * wire values of `grpc-status` and of `google.rpc.Status.code`.
 */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** A rendered google.protobuf.Any in its proto3 JSON form: `{"@type": url, ...fields}`. */
export type DetailJson = Readonly<Record<string, unknown>>;

/** Options that only matter to the HTTP writer; none of them is part of the google.rpc.Status body. */
export interface RpcStatusOptions {
  /** Overrides the code → HTTP table (e.g. 413 for RESOURCE_EXHAUSTED from a body limit, 405 for a method miss). */
  readonly httpStatus?: number;
  /** Extra response headers the writer adds (e.g. `Allow` on a 405). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The original failure, for the log line only; never sent to the client. */
  readonly cause?: unknown;
}

/**
 * Every failure becomes one of these before anything is written.
 *
 * It extends `Error` so it can be thrown through async code and logged with a stack (pino's `err`
 * serialiser), but the request path normally *returns* it (`T | RpcStatus`). `message` is client-facing:
 * put only what the caller may see in it, and keep internals in `options.cause`.
 */
export class RpcStatus extends Error {
  constructor(
    readonly code: Code,
    override readonly message: string,
    readonly details: readonly DetailJson[] = [],
    readonly options: RpcStatusOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RpcStatus';
  }
}

/** True when `v` is an RpcStatus. Never throws. */
export function isRpcStatus(v: unknown): v is RpcStatus {
  return v instanceof RpcStatus;
}

/** The type URL of google.rpc.BadRequest as it appears in an Any (google/rpc/error_details.proto). */
export const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';

/**
 * INVALID_ARGUMENT with a google.rpc.BadRequest `{fieldViolations:[{field, description}]}` detail, rendered in
 * the proto3 JSON form (lowerCamelCase names) so it can be written as is. `field` is the dotted path of the
 * offending field (google/rpc/error_details.proto, FieldViolation.field). Never throws; the violations are
 * copied, so the caller may reuse its array.
 */
export function badRequest(
  message: string,
  violations: readonly { field: string; description: string }[],
): RpcStatus {
  const fieldViolations = violations.map((v) => ({ field: v.field, description: v.description }));
  return new RpcStatus(Code.INVALID_ARGUMENT, message, [{ '@type': BAD_REQUEST_TYPE_URL, fieldViolations }]);
}

/** What `toStatus` may be told about the request, to make its messages precise. */
export interface ToStatusContext {
  /** The body limit in bytes that applied to the request (Fastify's `request.routeOptions.bodyLimit`). */
  readonly bodyLimit?: number;
}

/** The shape of a Fastify error (`@fastify/error`): a stable `FST_ERR_*` code and the HTTP status it implies. */
interface FastifyLikeError {
  readonly code: string;
  readonly statusCode: number;
  readonly message: string;
}

function isFastifyError(err: unknown): err is FastifyLikeError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  return (
    typeof e.code === 'string' &&
    e.code.startsWith('FST_ERR_') &&
    typeof e.statusCode === 'number' &&
    typeof e.message === 'string'
  );
}

/**
 * The single normaliser; never throws.
 * - an RpcStatus passes through unchanged;
 * - a Fastify error (`.code` 'FST_ERR_*' and a numeric `.statusCode`):
 *   - body too large (413) → RESOURCE_EXHAUSTED with httpStatus 413 and a message naming the limit when
 *     `context.bodyLimit` is known (code.proto: "Some resource has been exhausted"; the HTTP status stays
 *     RFC 9110's 413 Content Too Large rather than the table's 429, which would invite a retry);
 *   - unsupported media type (415) → INVALID_ARGUMENT with httpStatus 415;
 *   - not found (404) → NOT_FOUND, so the body code agrees with the contract's "unknown path 404 (code 5)";
 *   - any other 4xx → INVALID_ARGUMENT with that httpStatus and Fastify's (client-facing) message;
 *   - a 5xx → as below;
 * - anything else → INTERNAL "internal error", the original kept as `cause` for the log and never sent.
 */
export function toStatus(err: unknown, context: ToStatusContext = {}): RpcStatus {
  if (isRpcStatus(err)) return err;
  if (isFastifyError(err)) {
    const http = err.statusCode;
    if (http === 413) {
      const message =
        context.bodyLimit === undefined
          ? 'request body is too large'
          : `request body is too large: the limit is ${context.bodyLimit} bytes`;
      return new RpcStatus(Code.RESOURCE_EXHAUSTED, message, [], { httpStatus: 413, cause: err });
    }
    if (http === 404) return new RpcStatus(Code.NOT_FOUND, err.message, [], { httpStatus: 404, cause: err });
    if (http >= 400 && http < 500) {
      return new RpcStatus(Code.INVALID_ARGUMENT, err.message, [], { httpStatus: http, cause: err });
    }
  }
  return new RpcStatus(Code.INTERNAL, 'internal error', [], { cause: err });
}

/** Code number → its name, indexed by the code (the codes are the dense range 0..16). */
const CODE_NAMES: readonly string[] = Object.freeze(
  Object.entries(Code)
    .sort(([, a], [, b]) => a - b)
    .map(([name]) => name),
);

/** The canonical name of a code, e.g. 'INVALID_ARGUMENT' for 3. A number outside the set gives 'UNKNOWN'. */
export function codeName(code: Code): string {
  return CODE_NAMES[code] ?? 'UNKNOWN';
}

/**
 * `n` as a Code when it is one of the 17 google.rpc.Code values, else UNKNOWN — gRPC requires a client to treat
 * a status outside the known range as UNKNOWN (grpc/doc/statuscodes.md). Never throws.
 */
export function codeFromNumber(n: number): Code {
  return Number.isInteger(n) && n >= 0 && n < CODE_NAMES.length ? (n as Code) : Code.UNKNOWN;
}
