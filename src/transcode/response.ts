/**
 * Upstream response bytes → HTTP body text, honouring HttpRule.response_body (only that field is sent).
 */
import type { JsonCodec } from '../codec/index.js';
import type { Route } from '../routing/routes.js';

/**
 * The JSON text of the HTTP response body for a successful call's response `bytes`. The whole message (the
 * common case) is written in one pass from the bytes (JsonCodec.bytesToJson); for `response_body` the
 * message is decoded and that field written. Throws CodecError for bytes that are not a message of the
 * route's response type, or a value with no JSON form.
 */
export function responseJson(codec: JsonCodec, route: Route, bytes: Uint8Array): string {
  const field = route.responseBody;
  if (field === undefined) return codec.bytesToJson(route.responseType, bytes, route.writeOptions);
  return codec.fieldToJson(field, codec.decode(route.responseType, bytes)[field.name], route.writeOptions);
}

/**
 * {@link responseJson} for a unary answer, which may be large: the whole message's JSON as
 * JsonCodec.bytesToJsonChunks gives it (a string for small responses, UTF-8 Buffers from 32 KiB of
 * protobuf on), `response_body` as text. Throws as responseJson does.
 */
export function responseBody(codec: JsonCodec, route: Route, bytes: Uint8Array): string | Buffer[] {
  if (route.responseBody === undefined) return codec.bytesToJsonChunks(route.responseType, bytes, route.writeOptions);
  return responseJson(codec, route, bytes);
}
