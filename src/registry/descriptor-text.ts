/**
 * google.protobuf.FileDescriptorProto (as gRPC server reflection sends it) → .proto source text.
 *
 * Why text: the registry (load.ts) loads protos from files, and everything downstream — annotations read
 * from protobufjs's parsedOptions, the files a route comes from, `--check`'s messages — then works the same
 * for reflected descriptors as for local protos, through one code path. protobufjs's own descriptor
 * converter (ext/descriptor) drops extension options such as google.api.http, which is the point here.
 *
 * What is kept: syntax, package, imports, messages (nested, maps, oneofs, proto3 `optional`, proto2 labels,
 * defaults and extension ranges), enums (aliases), services and methods (streaming), `extend` blocks, and
 * the options attache reads: json_name, packed, deprecated, google.api.field_behavior, google.api.http,
 * idempotency_level. Other options are dropped; source comments, when the server sends them, are not kept.
 *
 * The input is the decoded descriptor as plain objects with proto field names (descriptor-decode in
 * reflection.ts); extension options appear under their full name, `.google.api.http`.
 */

/** A decoded descriptor message: proto field names, enums as names, 64-bit integers as strings. */
export type Desc = Record<string, unknown>;

const SCALARS: Readonly<Record<string, string>> = {
  TYPE_DOUBLE: 'double', TYPE_FLOAT: 'float', TYPE_INT64: 'int64', TYPE_UINT64: 'uint64', TYPE_INT32: 'int32',
  TYPE_FIXED64: 'fixed64', TYPE_FIXED32: 'fixed32', TYPE_BOOL: 'bool', TYPE_STRING: 'string', TYPE_BYTES: 'bytes',
  TYPE_UINT32: 'uint32', TYPE_SFIXED32: 'sfixed32', TYPE_SFIXED64: 'sfixed64', TYPE_SINT32: 'sint32', TYPE_SINT64: 'sint64',
};

/** The largest field number (2^29 - 1); an extension range ending past it is written `to max`. */
const MAX_FIELD_NUMBER = 536_870_911;

const list = (v: unknown): Desc[] => (Array.isArray(v) ? (v as Desc[]) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A proto string literal; only `"`, `\` and control characters need escaping (as octal). */
function quoteProto(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\${c.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** protoc's default json_name (ToJsonName): underscores dropped, the next letter upper-cased. */
function defaultJsonName(name: string): string {
  return name.replace(/_+([a-zA-Z0-9]?)/g, (_m, c: string) => c.toUpperCase());
}

/** An HttpRule as the aggregate option text protobufjs parses: `{ get: "/v1/x" body: "*" … }`. */
function httpRuleText(rule: Desc): string {
  const parts: string[] = [];
  for (const k of ['get', 'put', 'post', 'delete', 'patch']) {
    const v = str(rule[k]);
    if (v !== undefined && v !== '') parts.push(`${k}: ${quoteProto(v)}`);
  }
  const custom = rule['custom'] as Desc | undefined;
  if (custom !== undefined && custom !== null && str(custom['kind'])) {
    parts.push(`custom: { kind: ${quoteProto(str(custom['kind'])!)} path: ${quoteProto(str(custom['path']) ?? '')} }`);
  }
  for (const k of ['body', 'response_body']) {
    const v = str(rule[k]);
    if (v !== undefined && v !== '') parts.push(`${k}: ${quoteProto(v)}`);
  }
  for (const b of list(rule['additional_bindings'])) parts.push(`additional_bindings: ${httpRuleText(b)}`);
  return `{ ${parts.join(' ')} }`;
}

interface Ctx {
  readonly proto3: boolean;
  readonly out: string[];
}

function fieldType(field: Desc): string {
  const t = str(field['type']) ?? '';
  return SCALARS[t] ?? str(field['type_name']) ?? 'bytes';
}

function fieldOptions(field: Desc, ctx: Ctx): string {
  const opts: string[] = [];
  const name = str(field['name']) ?? '';
  const json = str(field['json_name']);
  if (json !== undefined && json !== defaultJsonName(name)) opts.push(`json_name = ${quoteProto(json)}`);
  const o = (field['options'] ?? {}) as Desc;
  if (o['packed'] === true || o['packed'] === false) opts.push(`packed = ${String(o['packed'])}`);
  if (o['deprecated'] === true) opts.push('deprecated = true');
  const def = str(field['default_value']);
  if (def !== undefined && !ctx.proto3) {
    const t = str(field['type']);
    opts.push(`default = ${t === 'TYPE_STRING' || t === 'TYPE_BYTES' ? quoteProto(def) : def}`);
  }
  const behaviors = o['.google.api.field_behavior'];
  for (const b of Array.isArray(behaviors) ? behaviors : behaviors !== undefined ? [behaviors] : []) {
    if (typeof b === 'string') opts.push(`(google.api.field_behavior) = ${b}`);
  }
  return opts.length === 0 ? '' : ` [${opts.join(', ')}]`;
}

function fieldLine(field: Desc, ctx: Ctx, mapEntries: ReadonlyMap<string, Desc>, inOneof: boolean): string {
  const name = str(field['name'])!;
  const number = String(field['number']);
  const typeName = str(field['type_name']);
  const entry = typeName !== undefined ? mapEntries.get(typeName) : undefined;
  if (entry !== undefined) {
    const [k, v] = list(entry['field']);
    return `map<${fieldType(k!)}, ${fieldType(v!)}> ${name} = ${number}${fieldOptions(field, ctx)};`;
  }
  let label = '';
  const l = str(field['label']);
  if (!inOneof) {
    if (l === 'LABEL_REPEATED') label = 'repeated ';
    else if (l === 'LABEL_REQUIRED') label = 'required ';
    else if (!ctx.proto3 || field['proto3_optional'] === true) label = 'optional ';
  }
  return `${label}${fieldType(field)} ${name} = ${number}${fieldOptions(field, ctx)};`;
}

function messageText(msg: Desc, ctx: Ctx, indent: string, scope: string): void {
  const { out } = ctx;
  const name = str(msg['name'])!;
  const full = `${scope}.${name}`;
  out.push(`${indent}message ${name} {`);
  const inner = `${indent}  `;
  // Keyed by full name and by the name relative to this message: descriptors built by protobufjs (which
  // @grpc/reflection serves) use relative type names, and name a map's entry type after the field.
  const mapEntries = new Map<string, Desc>();
  for (const n of list(msg['nested_type'])) {
    if (((n['options'] ?? {}) as Desc)['map_entry'] === true) {
      mapEntries.set(`${full}.${str(n['name'])}`, n);
      mapEntries.set(str(n['name'])!, n);
    }
  }
  const oneofs = list(msg['oneof_decl']);
  const fields = list(msg['field']);
  const realOneof = (f: Desc): number | undefined =>
    typeof f['oneof_index'] === 'number' && f['proto3_optional'] !== true ? (f['oneof_index'] as number) : undefined;
  const printedOneofs = new Set<number>();
  for (const f of fields) {
    const idx = realOneof(f);
    if (idx === undefined) {
      out.push(`${inner}${fieldLine(f, ctx, mapEntries, false)}`);
    } else if (!printedOneofs.has(idx)) {
      printedOneofs.add(idx);
      out.push(`${inner}oneof ${str(oneofs[idx]?.['name']) ?? `oneof_${idx}`} {`);
      for (const g of fields.filter((x) => realOneof(x) === idx)) out.push(`${inner}  ${fieldLine(g, ctx, mapEntries, true)}`);
      out.push(`${inner}}`);
    }
  }
  for (const r of list(msg['extension_range'])) {
    const start = Number(r['start']);
    const end = Number(r['end']) - 1;
    out.push(`${inner}extensions ${start} to ${end >= MAX_FIELD_NUMBER ? 'max' : end};`);
  }
  for (const n of list(msg['nested_type'])) if (!mapEntries.has(`${full}.${str(n['name'])}`)) messageText(n, ctx, inner, full);
  for (const e of list(msg['enum_type'])) enumText(e, ctx, inner);
  extendText(list(msg['extension']), ctx, inner);
  out.push(`${indent}}`);
}

function enumText(e: Desc, ctx: Ctx, indent: string): void {
  const { out } = ctx;
  out.push(`${indent}enum ${str(e['name'])} {`);
  const values = list(e['value']);
  const numbers = values.map((v) => Number(v['number'] ?? 0));
  if (((e['options'] ?? {}) as Desc)['allow_alias'] === true || new Set(numbers).size !== numbers.length) out.push(`${indent}  option allow_alias = true;`);
  for (const v of values) {
    const dep = ((v['options'] ?? {}) as Desc)['deprecated'] === true ? ' [deprecated = true]' : '';
    out.push(`${indent}  ${str(v['name'])} = ${Number(v['number'] ?? 0)}${dep};`);
  }
  out.push(`${indent}}`);
}

function extendText(extensions: readonly Desc[], ctx: Ctx, indent: string): void {
  const byExtendee = new Map<string, Desc[]>();
  for (const x of extensions) {
    const target = str(x['extendee']) ?? '';
    byExtendee.set(target, [...(byExtendee.get(target) ?? []), x]);
  }
  for (const [target, fields] of byExtendee) {
    ctx.out.push(`${indent}extend ${target} {`);
    for (const f of fields) ctx.out.push(`${indent}  ${fieldLine(f, ctx, new Map(), false)}`);
    ctx.out.push(`${indent}}`);
  }
}

function serviceText(svc: Desc, ctx: Ctx): void {
  const { out } = ctx;
  out.push(`service ${str(svc['name'])} {`);
  for (const m of list(svc['method'])) {
    const input = `${m['client_streaming'] === true ? 'stream ' : ''}${str(m['input_type'])}`;
    const output = `${m['server_streaming'] === true ? 'stream ' : ''}${str(m['output_type'])}`;
    const o = (m['options'] ?? {}) as Desc;
    const opts: string[] = [];
    const http = o['.google.api.http'] as Desc | undefined;
    if (http !== undefined && http !== null) opts.push(`option (google.api.http) = ${httpRuleText(http)};`);
    const level = str(o['idempotency_level']);
    if (level !== undefined && level !== 'IDEMPOTENCY_UNKNOWN') opts.push(`option idempotency_level = ${level};`);
    if (o['deprecated'] === true) opts.push('option deprecated = true;');
    const head = `  rpc ${str(m['name'])}(${input}) returns (${output})`;
    if (opts.length === 0) out.push(`${head};`);
    else out.push(`${head} {`, ...opts.map((x) => `    ${x}`), '  }');
  }
  out.push('}');
}

/** Thrown for a descriptor this module cannot write as proto text (a protobuf Editions file). */
export class DescriptorTextError extends Error {
  readonly code = 'ATTACHE_E_REFLECTION';
}

/** The .proto text of one file descriptor. @throws DescriptorTextError for an Editions file. */
export function protoTextOf(file: Desc): string {
  const syntax = str(file['syntax']) ?? 'proto2';
  if (syntax !== 'proto2' && syntax !== 'proto3') {
    throw new DescriptorTextError(`${str(file['name'])}: syntax "${syntax}" is not supported from reflection (proto2 and proto3 are)`);
  }
  const ctx: Ctx = { proto3: syntax === 'proto3', out: [] };
  const { out } = ctx;
  out.push(`// Generated by attache from gRPC server reflection: ${str(file['name'])}`, `syntax = "${syntax}";`);
  const pkg = str(file['package']);
  if (pkg !== undefined && pkg !== '') out.push(`package ${pkg};`);
  const publicDeps = new Set((Array.isArray(file['public_dependency']) ? file['public_dependency'] : []) as number[]);
  list(file['dependency']).forEach((d, i) => out.push(`import ${publicDeps.has(i) ? 'public ' : ''}${quoteProto(d as unknown as string)};`));
  const scope = pkg !== undefined && pkg !== '' ? `.${pkg}` : '';
  for (const m of list(file['message_type'])) messageText(m, ctx, '', scope);
  for (const e of list(file['enum_type'])) enumText(e, ctx, '');
  for (const s of list(file['service'])) serviceText(s, ctx);
  extendText(list(file['extension']), ctx, '');
  return `${out.join('\n')}\n`;
}
