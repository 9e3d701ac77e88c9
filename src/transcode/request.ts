/**
 * HTTP request → upstream request message, per google/api/http.proto:
 * 1. the body goes to the whole message (`body: "*"`) or to one top-level field (`body: "field"`);
 * 2. path variables are set on the fields they name (and win over the same field in the body);
 * 3. every other field may come from the query string (`a.b=1`, repeated `x=1&x=2`, maps `m[k]=v`), except
 *    fields bound by the path or the body; with `body: "*"` there are no query parameters.
 *
 * Pure: returns the message, or an RpcStatus(INVALID_ARGUMENT) naming the bad field and value.
 */
import type protobuf from 'protobufjs';
import { CodecError, parseJson, type JsonCodec, type Msg, type ReadOptions } from '../codec/index.js';
import { jsonNameOf } from '../codec/names.js';
import { fieldsByName, isTextField } from '../routing/fields.js';
import type { Binding } from '../routing/matcher.js';
import type { Route } from '../routing/routes.js';
import { badRequest, RpcStatus } from '../status/status.js';

/** Turns a codec failure into the contract's INVALID_ARGUMENT with a BadRequest field violation. */
export function statusFromCodecError(err: CodecError): RpcStatus {
  return badRequest(err.message, [{ field: err.field, description: err.description }]);
}

/**
 * Builds the request message for `route`.
 * @param bindings  the matcher's decoded path variables
 * @param rawQuery  the query string without '?', still percent-encoded ('' when absent)
 * @param bodyText  the raw body text, or undefined when the request had none
 */
export function buildRequest(
  codec: JsonCodec,
  route: Route,
  bindings: readonly Binding[],
  rawQuery: string,
  bodyText: string | undefined,
): Msg | RpcStatus {
  try {
    const msg = bodyToMessage(codec, route, bodyText);
    for (let i = 0; i < bindings.length; i++) {
      const b = bindings[i]!;
      const dotted = b.fieldPath.join('.');
      const fields = route.pathFields.get(dotted);
      // The matcher only yields variables of this route's template, so this is a bug guard.
      if (fields === undefined) return new RpcStatus(13, `route ${route.template.text} has no variable ${dotted}`);
      setTextValue(codec, msg, fields, b.value, undefined, route.readOptions, dotted);
    }
    if (rawQuery !== '' && route.body.kind !== 'all') {
      const bad = applyQuery(codec, route, msg, rawQuery);
      if (bad !== undefined) return bad;
    }
    return msg;
  } catch (err) {
    if (err instanceof CodecError) return statusFromCodecError(err);
    throw err;
  }
}

function bodyToMessage(codec: JsonCodec, route: Route, bodyText: string | undefined): Msg {
  const body = route.body;
  if (body.kind === 'none' || bodyText === undefined || isBlank(bodyText)) return {};
  const json = parseJson(bodyText, route.readOptions.maxDepth);
  if (body.kind === 'all') return codec.messageFromJson(route.requestType, json, route.readOptions, '');
  const msg: Msg = {};
  msg[body.field.name] = codec.fieldFromJson(body.field, json, route.readOptions, bodyPath(body.field));
  return msg;
}

/**
 * The JSON name of the body field, which prefixes error paths. Most body fields are one word without a
 * json_name option, whose JSON name is the proto name itself (lowerCamel only acts on underscores), so
 * the per-request camel-casing (about 0.1 µs) is skipped for them.
 */
function bodyPath(field: protobuf.Field): string {
  return field.name.indexOf('_') < 0 && field.options?.['json_name'] === undefined ? field.name : jsonNameOf(field);
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return true;
}

/**
 * Sets the field at the end of `fields` (walking/creating the messages before it) from one piece of text.
 * `mapKey` is set for `m[k]=v` query parameters. Keys written here come from descriptors, never from
 * user input, so no prototype can be reached; map keys go into null-prototype objects.
 */
function setTextValue(
  codec: JsonCodec,
  msg: Msg,
  fields: readonly protobuf.Field[],
  text: string,
  mapKey: string | undefined,
  opts: ReadOptions,
  at: string,
): void {
  let target = msg;
  for (let i = 0; i < fields.length - 1; i++) {
    const f = fields[i]!;
    let next = target[f.name] as Msg | undefined | null;
    if (next === undefined || next === null) {
      next = {};
      target[f.name] = next;
    }
    target = next;
  }
  const leaf = fields[fields.length - 1]!;
  if (leaf.map) {
    if (mapKey === undefined) throw new CodecError(at, `"${at}" is a map; set an entry with ${at}[key]=value`);
    let m = target[leaf.name] as Record<string, unknown> | undefined;
    if (m === undefined || m === null) {
      m = Object.create(null) as Record<string, unknown>;
      target[leaf.name] = m;
    }
    m[codec.mapKeyFromText(leaf, mapKey, at)] = codec.scalarFromText(leaf, text, opts, `${at}[${JSON.stringify(mapKey)}]`);
    return;
  }
  if (mapKey !== undefined) throw new CodecError(at, `"${at}" is not a map, so [${mapKey}] cannot be applied`);
  const value = codec.scalarFromText(leaf, text, opts, at);
  if (leaf.repeated) {
    const arr = target[leaf.name];
    if (Array.isArray(arr)) arr.push(value);
    else target[leaf.name] = [value];
    return;
  }
  const oneof = leaf.partOf;
  if (oneof !== null && !oneof.name.startsWith('_')) {
    for (const other of oneof.fieldsArray) {
      if (other !== leaf && target[other.name] !== undefined && target[other.name] !== null) {
        throw new CodecError(at, `oneof ${oneof.name} already has ${jsonNameOf(other)} set`);
      }
    }
  }
  target[leaf.name] = value;
}

/** `name=value` pairs, form-decoded (`+` is a space, as in grpc-gateway's url.ParseQuery). */
function applyQuery(codec: JsonCodec, route: Route, msg: Msg, rawQuery: string): RpcStatus | undefined {
  let start = 0;
  while (start <= rawQuery.length) {
    let end = rawQuery.indexOf('&', start);
    if (end < 0) end = rawQuery.length;
    const pair = rawQuery.slice(start, end);
    start = end + 1;
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const name = formDecode(rawName);
    const value = formDecode(rawValue);
    if (name === undefined || value === undefined) {
      return badRequest(`malformed percent-encoding in query parameter "${rawName}"`, [
        { field: rawName, description: 'malformed percent-encoding' },
      ]);
    }
    const problem = applyQueryParam(codec, route, msg, name, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function applyQueryParam(codec: JsonCodec, route: Route, msg: Msg, name: string, value: string): RpcStatus | undefined {
  let path = name;
  let mapKey: string | undefined;
  const bracket = name.indexOf('[');
  if (bracket > 0 && name.endsWith(']')) {
    path = name.slice(0, bracket);
    mapKey = name.slice(bracket + 1, -1);
  }
  const fields = resolveQueryPath(route.requestType, path);
  if (fields === undefined) {
    return route.strictQuery
      ? badRequest(`unknown query parameter "${name}"`, [{ field: name, description: 'no such field in the request message' }])
      : undefined;
  }
  // Fields bound by the path or the body are not read from the query (http.proto).
  let dotted = '';
  for (let i = 0; i < fields.length; i++) {
    dotted = i === 0 ? fields[0]!.name : `${dotted}.${fields[i]!.name}`;
    if (route.boundPaths.includes(dotted)) return undefined;
  }
  const leaf = fields[fields.length - 1]!;
  if (!leaf.map && !isTextField(leaf)) {
    return badRequest(`query parameter "${name}" names a message; set the fields inside it (${name}.field=value)`, [
      { field: name, description: 'a message cannot be set from one query value' },
    ]);
  }
  setTextValue(codec, msg, fields, value, mapKey, route.readOptions, name);
  return undefined;
}

/** Walks `a.b.c` by proto or JSON names; undefined when any name is unknown or a middle field is not a singular message. */
function resolveQueryPath(type: protobuf.Type, path: string): protobuf.Field[] | undefined {
  const out: protobuf.Field[] = [];
  let current: protobuf.Type | undefined = type;
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf('.', start);
    if (end < 0) end = path.length;
    if (current === undefined) return undefined;
    const f = fieldsByName(current).get(path.slice(start, end));
    if (f === undefined) return undefined;
    out.push(f);
    start = end + 1;
    if (end === path.length) break;
    if (f.repeated || f.map || f.resolvedType === null || !('fieldsArray' in f.resolvedType)) return undefined;
    current = f.resolvedType as protobuf.Type;
  }
  return out;
}

/** application/x-www-form-urlencoded decoding; undefined on a malformed escape. */
function formDecode(s: string): string | undefined {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
