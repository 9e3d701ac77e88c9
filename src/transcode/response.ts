/**
 * Upstream response message → HTTP body text, honouring HttpRule.response_body (only that field is sent).
 */
import type { JsonCodec, Msg } from '../codec/index.js';
import type { Route } from '../routing/routes.js';

/** The JSON text of the HTTP response body for a successful call. */
export function responseJson(codec: JsonCodec, route: Route, msg: Msg): string {
  const field = route.responseBody;
  if (field === undefined) return codec.messageToJson(route.responseType, msg, route.writeOptions);
  return codec.fieldToJson(field, msg[field.name], route.writeOptions);
}
