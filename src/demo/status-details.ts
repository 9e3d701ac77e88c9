/**
 * Rich gRPC errors for the demo backend and the end-to-end test server: a google.rpc.Status with typed
 * details, carried in the `grpc-status-details-bin` trailer.
 *
 * Why this exists: grpc-js only carries a code and a message. The richer error model
 * (https://cloud.google.com/apis/design/errors#error_model, google/rpc/status.proto) puts the whole
 * google.rpc.Status, serialized, in the binary trailer `grpc-status-details-bin`; its `code` and `message`
 * must equal the `grpc-status` / `grpc-message` trailers, and each detail is a google.protobuf.Any whose
 * type URL is `type.googleapis.com/<full.message.Name>` (google/protobuf/any.proto).
 *
 * Every function takes the protobufjs Root holding the detail types (google.rpc.Status,
 * google/rpc/error_details.proto and any custom detail messages), e.g. a `loadRegistry(...).root`: the Root
 * is built by the caller at start-up, so nothing here loads files or keeps state.
 */
import { Metadata, type StatusObject } from '@grpc/grpc-js';
import type { status as GrpcStatus } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { encodeStatusDetails as encodeStatus } from '../status/wire.js';

/** The binary trailer that carries a serialized google.rpc.Status (gRPC's rich error model). */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';

/** The type URL prefix the Any spec recommends and every gRPC implementation uses. */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/**
 * One error detail.
 * - `{ type, value }`: a message of the fully-qualified `type` (e.g. `google.rpc.BadRequest`), built from
 *   `value` with protobufjs `fromObject`, so field names are the proto names (`field_violations`), int64s
 *   may be strings, enums names, Durations `{ seconds, nanos }`.
 * - `{ typeUrl, raw }`: an Any with exactly this type URL and these bytes, for types the receiver cannot
 *   know (used to test how unknown details are rendered).
 */
export type StatusDetail =
  | { readonly type: string; readonly value: Readonly<Record<string, unknown>> }
  | { readonly typeUrl: string; readonly raw: Uint8Array };

/** A detail decoded back from the trailer: its type URL and, when the type is known, its fields. */
export interface DecodedDetail {
  readonly typeUrl: string;
  /** The message as a plain object (proto field names, int64 and enums as strings), or undefined when unknown. */
  readonly value: Record<string, unknown> | undefined;
  /** The raw Any value bytes. */
  readonly raw: Uint8Array;
}

/** A google.rpc.Status decoded from `grpc-status-details-bin`. */
export interface DecodedStatus {
  readonly code: number;
  readonly message: string;
  readonly details: readonly DecodedDetail[];
}

/** Looks up a message type, throwing a message that names it (a programming error in the caller). */
function messageType(root: protobuf.Root, name: string): protobuf.Type {
  const found = root.lookup(name);
  if (!(found instanceof protobuf.Type)) {
    throw new Error(`status details: message type ${name} is not in the given proto root`);
  }
  return found;
}

/**
 * Throws when `value` names a field `type` does not have, at any depth. fromObject silently drops unknown
 * keys, so a misspelt detail field would otherwise vanish from the error without a trace.
 */
function checkFieldNames(type: protobuf.Type, value: Readonly<Record<string, unknown>>, where: string): void {
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    if (field === undefined) throw new Error(`status details: ${where} has no field "${key}"`);
    const nested = field.resolve().resolvedType;
    if (!(nested instanceof protobuf.Type) || field.map || v === null || typeof v !== 'object') continue;
    const items: unknown[] = field.repeated && Array.isArray(v) ? v : [v];
    for (const item of items) {
      if (item !== null && typeof item === 'object') {
        checkFieldNames(nested, item as Record<string, unknown>, `${where}.${key}`);
      }
    }
  }
}

/** Encodes one detail as the fields of a google.protobuf.Any. */
function toAny(root: protobuf.Root, detail: StatusDetail): { typeUrl: string; value: Uint8Array } {
  if ('typeUrl' in detail) return { typeUrl: detail.typeUrl, value: detail.raw };
  const type = messageType(root, detail.type);
  checkFieldNames(type, detail.value, detail.type);
  return {
    typeUrl: TYPE_URL_PREFIX + detail.type,
    value: type.encode(type.fromObject(detail.value)).finish(),
  };
}

/**
 * Serializes a google.rpc.Status with the given code, message and details.
 * @throws Error when a detail names a type missing from `root` or a field its type does not have.
 */
export function encodeStatusDetails(
  root: protobuf.Root,
  code: number,
  message: string,
  details: readonly StatusDetail[],
): Buffer {
  // The outer Status is the same wire format attache decodes (src/status/wire.ts); only the details are
  // built here, from their types, so a misspelt field fails loudly.
  return encodeStatus(code, message, details.map((d) => toAny(root, d))) as Buffer;
}

/**
 * The status object a grpc-js handler passes to its callback (or `call.emit('error', …)`) to fail with
 * `code`, `message` and `details`: the rich status goes in the `grpc-status-details-bin` trailer, next to
 * any `trailers` given (which are copied, not modified).
 * @throws Error as `encodeStatusDetails` does.
 */
export function richStatus(
  root: protobuf.Root,
  code: GrpcStatus,
  message: string,
  details: readonly StatusDetail[],
  trailers?: Metadata,
): Partial<StatusObject> {
  const metadata = trailers ? trailers.clone() : new Metadata();
  if (details.length > 0) {
    metadata.set(STATUS_DETAILS_TRAILER, encodeStatusDetails(root, code, message, details));
  }
  return { code, details: message, metadata };
}

/**
 * Decodes a serialized google.rpc.Status (the value of `grpc-status-details-bin`), decoding each detail
 * whose type is in `root`.
 * @throws Error when the bytes are not a google.rpc.Status.
 */
export function decodeStatusDetails(root: protobuf.Root, bytes: Uint8Array): DecodedStatus {
  const Status = messageType(root, 'google.rpc.Status');
  const status = Status.toObject(Status.decode(bytes), { defaults: true }) as {
    code: number;
    message: string;
    details: { type_url: string; value: Uint8Array }[];
  };
  const details = status.details.map((any): DecodedDetail => {
    const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    const found = root.lookup(name);
    const value =
      found instanceof protobuf.Type
        ? (found.toObject(found.decode(any.value), { longs: String, enums: String, bytes: String }) as Record<
            string,
            unknown
          >)
        : undefined;
    return { typeUrl: any.type_url, value, raw: any.value };
  });
  return { code: status.code, message: status.message, details };
}
