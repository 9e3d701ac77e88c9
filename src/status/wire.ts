/**
 * google.rpc.Status on the two wires attache speaks: the binary `grpc-status-details-bin` trailer coming from
 * upstream, and the JSON body going to the HTTP client.
 *
 * The three Status fields and the two Any fields are decoded and encoded by hand with protobufjs's
 * Reader/Writer rather than through a reflected type: the shape is fixed by google/rpc/status.proto and
 * google/protobuf/any.proto, and this keeps status/ free of any dependency on the loaded registry.
 */
import protobuf from 'protobufjs';
import { LEN, VARINT, tagOf } from '../codec/wire-types.js';
import { Code, RpcStatus, codeFromNumber, type DetailJson } from './status.js';

/** google.rpc.Status field numbers (google/rpc/status.proto). */
const STATUS_CODE = 1;
const STATUS_MESSAGE = 2;
const STATUS_DETAILS = 3;
/** google.protobuf.Any field numbers (google/protobuf/any.proto). */
const ANY_TYPE_URL = 1;
const ANY_VALUE = 2;

interface RawAny {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

/** Reads one Any from its bytes. Throws (RangeError/Error from Reader) on malformed input. */
function decodeAny(bytes: Uint8Array): RawAny {
  const r = protobuf.Reader.create(bytes);
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === ANY_TYPE_URL && wire === LEN) typeUrl = r.string();
    else if (field === ANY_VALUE && wire === LEN) value = r.bytes();
    else r.skipType(wire);
  }
  return { typeUrl, value };
}

/**
 * The details of a serialized google.rpc.Status. Its code and message are skipped: the `grpc-status` and
 * `grpc-message` trailers are authoritative: they are what every gRPC client reports as the call's status, and
 * the bin is only the richer copy.
 * Throws on malformed input; unknown fields are skipped as the protobuf spec requires.
 */
function decodeStatusDetails(bin: Uint8Array): RawAny[] {
  const r = protobuf.Reader.create(bin);
  const details: RawAny[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === STATUS_DETAILS && wire === LEN) details.push(decodeAny(r.bytes()));
    else r.skipType(wire);
  }
  return details;
}

/**
 * Decodes `grpc-status-details-bin` (a serialized google.rpc.Status) and builds the RpcStatus for an upstream
 * failure. Code and message come from `grpc-status`/`grpc-message` (the trailer values the caller passes); a
 * code outside google.rpc.Code becomes UNKNOWN (0, OK, stays OK: call this only for a failed call). Details come from the bin, each Any rendered with
 * `renderAny(typeUrl, bytes)` (the lead passes the JSON codec's anyToJson + JSON.parse).
 *
 * Never throws: a bin that does not decode is ignored (details `[]`) rather than failing the response, and a
 * detail that `renderAny` cannot render (a type the registry does not hold) is left out — the proto3 JSON
 * mapping has no form for an Any whose type is unknown, and the code and message still reach the client.
 * The bin is kept as `cause` when it was dropped, so the log can show it.
 */
export function statusFromGrpc(
  code: number,
  message: string,
  detailsBin: Uint8Array | undefined,
  renderAny: (typeUrl: string, value: Uint8Array) => DetailJson,
): RpcStatus {
  const c = codeFromNumber(code);
  if (detailsBin === undefined || detailsBin.length === 0) return new RpcStatus(c, message);
  let raw: RawAny[];
  try {
    raw = decodeStatusDetails(detailsBin);
  } catch (err: unknown) {
    return new RpcStatus(c, message, [], { cause: err });
  }
  const details: DetailJson[] = [];
  const failures: unknown[] = [];
  for (const any of raw) {
    try {
      details.push(renderAny(any.typeUrl, any.value));
    } catch (err: unknown) {
      failures.push(err);
    }
  }
  return new RpcStatus(c, message, details, failures.length === 0 ? {} : { cause: failures });
}

/**
 * The body written when a status cannot be serialised: INTERNAL, because that only happens when a detail
 * holds something JSON cannot express (a BigInt, a cycle) — a bug in attache, not in the request. The writer
 * should answer it with HTTP 500 (compare the body with this constant).
 */
export const FALLBACK_STATUS_JSON = `{"code":${Code.INTERNAL},"message":"internal error","details":[]}`;

/**
 * RpcStatus → the contract's body, google.rpc.Status in its JSON form:
 * `{"code":N,"message":"...","details":[...]}`, `details` always present (`[]` when empty), in that key
 * order. Never throws: if serialisation fails → `FALLBACK_STATUS_JSON`.
 */
export function statusToJson(status: RpcStatus): string {
  try {
    return JSON.stringify({ code: status.code, message: status.message, details: status.details });
  } catch {
    return FALLBACK_STATUS_JSON;
  }
}

/**
 * The encoder the demo/test servers need: google.rpc.Status `{code, message, details: [{typeUrl, value}]}` →
 * the bytes of `grpc-status-details-bin`. Default values (code 0, empty message) are omitted, as proto3
 * serialisation does. The bytes are a Node Buffer, which grpc-js requires for a `-bin` metadata value.
 * Throws only if given values of the wrong type.
 */
export function encodeStatusDetails(
  code: number,
  message: string,
  details: readonly { typeUrl: string; value: Uint8Array }[],
): Uint8Array {
  const w = protobuf.Writer.create();
  if (code !== 0) w.uint32(tagOf(STATUS_CODE, VARINT)).int32(code);
  if (message !== '') w.uint32(tagOf(STATUS_MESSAGE, LEN)).string(message);
  for (const d of details) {
    w.uint32(tagOf(STATUS_DETAILS, LEN)).fork();
    if (d.typeUrl !== '') w.uint32(tagOf(ANY_TYPE_URL, LEN)).string(d.typeUrl);
    if (d.value.length > 0) w.uint32(tagOf(ANY_VALUE, LEN)).bytes(d.value);
    w.ldelim();
  }
  const out = w.finish();
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
