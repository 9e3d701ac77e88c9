/**
 * The route table → an OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0): one operation per
 * route, parameters from path variables and from every query-addressable field, request and response
 * bodies in the proto3 JSON mapping as each route writes it, the google.rpc.Status error shape with the
 * HTTP statuses a route can answer, proto comments as descriptions and `deprecated` from the options.
 *
 * Pure: the caller adds `servers` (they depend on how the admin listener was reached).
 */
import type protobuf from 'protobufjs';
import { jsonNameOf } from '../codec/names.js';
import { fullNameOf, isTextField, messageTypeOf } from '../routing/fields.js';
import { AUTO_MAPPING_SOURCE } from '../routing/auto-mapping.js';
import type { Route } from '../routing/routes.js';
import { openApiPath, type PathParam } from './paths.js';
import { CANONICAL_STYLE, commentOf, fieldBehaviors, isDeprecated, SchemaSet, type JsonSchema, type SchemaStyle } from './schemas.js';

/** What the document is built from. */
export interface OpenApiInput {
  readonly routes: readonly Route[];
  /** The loaded protos with comments, for method and service comments and options; undefined: none. */
  readonly root: protobuf.Root | undefined;
  readonly title: string;
  readonly version: string;
}

/** An OpenAPI document as plain JSON-ready objects. */
export type OpenApiDocument = Record<string, unknown>;

/** How deep query parameters reach into nested messages (`a.b.c.d`). Recursive types stop earlier. */
const MAX_QUERY_DEPTH = 4;

const JSON_TYPE = 'application/json';
const NDJSON_TYPE = 'application/x-ndjson';
const SSE_TYPE = 'text/event-stream';
const STATUS_REF = { $ref: '#/components/schemas/google.rpc.Status' };

/** HTTP statuses attache answers with, and the gRPC codes (google/rpc/code.proto) behind each. */
const ERROR_STATUSES: readonly (readonly [string, string])[] = [
  ['400', 'INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE; also attache\'s own answer to a malformed request (bad JSON, unknown field, bad query or path value, bad timeout header).'],
  ['401', 'UNAUTHENTICATED.'],
  ['403', 'PERMISSION_DENIED.'],
  ['404', 'NOT_FOUND.'],
  ['409', 'ALREADY_EXISTS or ABORTED.'],
  ['413', 'The request body is larger than attache\'s limit (RESOURCE_EXHAUSTED).'],
  ['429', 'RESOURCE_EXHAUSTED. A RetryInfo detail also sets Retry-After.'],
  ['499', 'CANCELLED: the client went away (what logs and metrics record).'],
  ['500', 'UNKNOWN, INTERNAL or DATA_LOSS.'],
  ['501', 'UNIMPLEMENTED.'],
  ['503', 'UNAVAILABLE: the upstream is down or overloaded, its circuit is open, or attache is shutting down. Retry-After may say when to retry.'],
  ['504', 'DEADLINE_EXCEEDED: the call did not finish within its deadline.'],
];

const INFO_DESCRIPTION = [
  'A REST/JSON API served by attache in front of gRPC services.',
  '',
  '- JSON follows the proto3 JSON mapping: 64-bit integers are strings, enums are names, bytes are base64, Timestamps RFC 3339 strings. Request bodies also accept proto field names, numbers for 64-bit integers and enum numbers.',
  '- Errors are a google.rpc.Status: `{"code": 5, "message": "...", "details": []}`.',
  '- `X-Request-Timeout: 250ms` (or `Grpc-Timeout: 250m`) sets a call\'s deadline; `Grpc-Metadata-<name>` request headers become gRPC metadata, and response metadata comes back as `Grpc-Metadata-<name>` and `Grpc-Trailer-<name>` headers.',
  '- Every response carries `X-Request-Id` (the request\'s own, or a generated one).',
].join('\n');

/** The method a route calls, looked up in the loaded protos. */
function methodOf(root: protobuf.Root | undefined, selector: string): protobuf.Method | undefined {
  const found = root?.lookup(selector) ?? null;
  return found !== null && 'requestType' in found ? (found as protobuf.Method) : undefined;
}

function styleOf(route: Route): SchemaStyle {
  const w = route.writeOptions;
  return { useProtoNames: w.useProtoNames, enumsAsNumbers: w.enumsAsNumbers, int64AsNumbers: w.int64AsNumbers, emitUnpopulated: w.emitUnpopulated };
}

function firstSentence(text: string): string {
  const line = text.split('\n')[0]!.trim();
  const dot = line.search(/\.(\s|$)/);
  return dot > 0 ? line.slice(0, dot + 1) : line;
}

/** Builds the document. Never throws for any route table buildRoutes accepts. */
export function buildOpenApi(input: OpenApiInput): OpenApiDocument {
  const schemas = new SchemaSet();
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Map<string, string | undefined>();
  const operationIds = new Set<string>();
  const omitted: string[] = [];

  for (const route of input.routes) {
    const method = methodOf(input.root, route.selector);
    const service = method?.parent ?? null;
    const serviceName = service !== null ? fullNameOf(service) : route.selector.slice(0, route.selector.lastIndexOf('.'));
    if (!tags.has(serviceName)) tags.set(serviceName, service !== null ? commentOf(service) : undefined);

    const { path, params } = openApiPath(route.template, (dotted) => route.pathFields.get(dotted));
    const item = (paths[path] ??= {});
    const verb = route.httpMethod.toLowerCase();
    if (!OPENAPI_METHODS.has(verb) || item[verb] !== undefined) {
      // OpenAPI has no place for custom methods, nor for two operations on one path and method (two
      // templates that differ only in `*` against `**`).
      omitted.push(`${route.httpMethod} ${route.template.toString()} (${route.selector})`);
      if (Object.keys(item).length === 0) delete paths[path];
      continue;
    }
    let operationId = route.selector;
    for (let n = 2; operationIds.has(operationId); n++) operationId = `${route.selector}_${n}`;
    operationIds.add(operationId);

    item[verb] = operationFor(route, method, { operationId, tag: serviceName, params, schemas });
  }

  const components: Record<string, unknown> = {
    schemas: { ...statusSchemas(), ...schemas.components },
    responses: Object.fromEntries(
      ERROR_STATUSES.map(([status, text]) => [
        `Status${status}`,
        { description: text, headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } }, content: { [JSON_TYPE]: { schema: STATUS_REF } } },
      ]),
    ),
    headers: {
      'X-Request-Id': { description: 'The request\'s X-Request-Id, or one attache generated.', schema: { type: 'string' } },
      'Retry-After': { description: 'Seconds to wait before retrying (from a google.rpc.RetryInfo detail, or an open circuit).', schema: { type: 'integer' } },
    },
  };
  const doc: OpenApiDocument = {
    openapi: '3.1.0',
    info: { title: input.title, version: input.version, description: INFO_DESCRIPTION },
    tags: [...tags].map(([name, description]) => (description === undefined ? { name } : { name, description })),
    paths,
    components,
  };
  if (omitted.length > 0) doc['x-attache-omitted'] = omitted;
  return doc;
}

const OPENAPI_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

function operationFor(
  route: Route,
  method: protobuf.Method | undefined,
  ctx: { operationId: string; tag: string; params: readonly PathParam[]; schemas: SchemaSet },
): Record<string, unknown> {
  const { schemas } = ctx;
  const out = styleOf(route);
  const clientStream = route.kind === 'client-stream' || route.kind === 'bidi';
  const serverStream = route.kind === 'server-stream' || route.kind === 'bidi';
  const comment = method !== undefined ? commentOf(method) : undefined;
  const autoMapped = route.source === AUTO_MAPPING_SOURCE;

  const notes: string[] = [];
  if (comment !== undefined) notes.push(comment);
  if (autoMapped) notes.push(`Auto-mapped (\`--auto-mapping\`): \`${route.grpcPath}\` has no HTTP rule, so it is exposed as \`POST ${route.template.toString()}\` with the whole request message as the body.`);
  if (clientStream && serverStream) {
    notes.push('Bidirectional streaming: upgrade to a WebSocket on this path (one JSON text frame per message each way; the close frame carries the final status), or send an NDJSON request body and read an NDJSON response.');
  } else if (clientStream) {
    notes.push('Client streaming: the request body is newline-delimited JSON, one request message per line.');
  }
  if (serverStream) notes.push('Server streaming: one `{"result": <message>}` JSON object per line, and an `{"error": <google.rpc.Status>}` line if the stream fails after it started; `Accept: text/event-stream` gives Server-Sent Events instead.');

  const parameters: Record<string, unknown>[] = ctx.params.map((p) => pathParameter(p, schemas));
  if (route.body.kind !== 'all') {
    const skip = new Set(route.boundPaths);
    if (route.body.kind === 'field') skip.add(route.body.path);
    queryParameters(route.requestType, [], [], skip, parameters, schemas);
  }

  const op: Record<string, unknown> = {
    operationId: ctx.operationId,
    tags: [ctx.tag],
  };
  if (comment !== undefined) op['summary'] = firstSentence(comment);
  if (notes.length > 0) op['description'] = notes.join('\n\n');
  if (parameters.length > 0) op['parameters'] = parameters;

  const body = requestBodyOf(route, clientStream, schemas);
  if (body !== undefined) op['requestBody'] = body;

  const message = route.responseBody !== undefined ? schemas.fieldSchema(route.responseBody, out) : schemas.typeSchema(route.responseType, out);
  const content: Record<string, unknown> = {};
  if (serverStream) {
    const line = {
      type: 'object',
      description: 'One line of the stream: a message, or the error that ended the stream.',
      properties: { result: message, error: STATUS_REF },
    };
    content[NDJSON_TYPE] = { schema: line };
    content[SSE_TYPE] = { schema: { type: 'string', description: 'Server-Sent Events; each event\'s data is one line of the application/x-ndjson form.' } };
  } else {
    content[JSON_TYPE] = { schema: message };
  }
  const responses: Record<string, unknown> = {
    '200': {
      description: route.responseBody !== undefined ? `The response's \`${route.responseBody.name}\` field (response_body).` : 'The response message.',
      headers: { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } },
      content,
    },
  };
  for (const [status] of ERROR_STATUSES) {
    if (status === '413' && body === undefined) continue;
    responses[status] = { $ref: `#/components/responses/Status${status}` };
  }
  op['responses'] = responses;
  if ((method !== undefined && isDeprecated(method)) || (method?.parent != null && isDeprecated(method.parent))) op['deprecated'] = true;
  op['x-grpc-method'] = route.grpcPath;
  op['x-attache-template'] = route.template.toString();
  op['x-attache-source'] = route.source;
  if (autoMapped) op['x-attache-auto-mapped'] = true;
  return op;
}

function pathParameter(p: PathParam, schemas: SchemaSet): Record<string, unknown> {
  const leaf = p.field?.at(-1);
  let schema: JsonSchema;
  if (p.whole && leaf !== undefined) schema = schemas.singleValueSchema(leaf, CANONICAL_STYLE);
  else schema = p.wildcard === '*' ? { type: 'string', pattern: '^[^/]+$' } : { type: 'string' };
  const description = p.description ?? (leaf !== undefined ? commentOf(leaf) : undefined);
  const param: Record<string, unknown> = { name: p.name, in: 'path', required: true, schema };
  if (description !== undefined) param['description'] = description;
  if (leaf !== undefined && p.whole && leaf.options?.['deprecated'] === true) param['deprecated'] = true;
  return param;
}

/**
 * Every field a query parameter can set (transcode/request.ts): scalars, enums and the text-form well-known
 * types, at any depth through singular messages, repeated as `x=1&x=2`, maps as `m[key]=value`.
 */
function queryParameters(
  type: protobuf.Type,
  protoPath: readonly string[],
  jsonPath: readonly string[],
  skip: ReadonlySet<string>,
  out: Record<string, unknown>[],
  schemas: SchemaSet,
  seen: readonly protobuf.Type[] = [type],
): void {
  for (const field of type.fieldsArray) {
    const proto = [...protoPath, field.name];
    if (skip.has(proto.join('.'))) continue;
    const name = [...jsonPath, jsonNameOf(field)].join('.');
    const comment = commentOf(field);
    const base: Record<string, unknown> = { name, in: 'query' };
    if (comment !== undefined) base['description'] = comment;
    if (field.options?.['deprecated'] === true) base['deprecated'] = true;
    if (fieldBehaviors(field).has('REQUIRED')) base['description'] = `${comment ?? ''}${comment !== undefined ? '\n\n' : ''}Required.`;
    if (field.map) {
      if (field.resolvedType !== null && messageTypeOf(field) !== undefined && !isTextField(field)) continue;
      out.push({ ...base, style: 'deepObject', explode: true, schema: schemas.fieldSchema(field, CANONICAL_STYLE) });
      continue;
    }
    if (isTextField(field)) {
      const schema = schemas.fieldSchema(field, CANONICAL_STYLE);
      out.push(field.repeated ? { ...base, style: 'form', explode: true, schema } : { ...base, schema });
      continue;
    }
    const inner = messageTypeOf(field)!;
    if (field.repeated || proto.length >= MAX_QUERY_DEPTH || seen.includes(inner) || `.${fullNameOf(inner)}`.startsWith('.google.protobuf.')) continue;
    queryParameters(inner, proto, [...jsonPath, jsonNameOf(field)], skip, out, schemas, [...seen, inner]);
  }
}

function requestBodyOf(route: Route, clientStream: boolean, schemas: SchemaSet): Record<string, unknown> | undefined {
  if (route.body.kind === 'none' && !clientStream) return undefined;
  const schema =
    route.body.kind === 'field' ? schemas.fieldSchema(route.body.field, CANONICAL_STYLE) : schemas.typeSchema(route.requestType, CANONICAL_STYLE);
  if (clientStream) {
    return {
      description: 'Newline-delimited JSON: one request message per line.',
      content: { [NDJSON_TYPE]: { schema } },
    };
  }
  const description =
    route.body.kind === 'field'
      ? `The request's \`${route.body.field.name}\` field; the other fields come from the path and the query.`
      : route.boundPaths.length > 0
        ? 'The request message; fields bound by the path take their values from the path.'
        : 'The request message.';
  return { description, content: { [JSON_TYPE]: { schema } } };
}

/** google.rpc.Status as attache writes it (`details` always present) and google.protobuf.Any. */
function statusSchemas(): Record<string, JsonSchema> {
  return {
    'google.rpc.Status': {
      type: 'object',
      title: 'google.rpc.Status',
      description: 'The error body of every failed request (google/rpc/status.proto).',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'integer', format: 'int32', description: 'The google.rpc.Code: 3 INVALID_ARGUMENT, 5 NOT_FOUND, 14 UNAVAILABLE, …' },
        message: { type: 'string', description: 'A developer-facing error message.' },
        details: {
          type: 'array',
          description: 'Error details (google/rpc/error_details.proto: BadRequest, RetryInfo, ErrorInfo, …); [] when there are none.',
          items: { $ref: '#/components/schemas/google.protobuf.Any' },
        },
      },
    },
    'google.protobuf.Any': {
      type: 'object',
      title: 'google.protobuf.Any',
      required: ['@type'],
      properties: { '@type': { type: 'string', description: 'type.googleapis.com/ and the full name of the message type' } },
      additionalProperties: true,
    },
  };
}
