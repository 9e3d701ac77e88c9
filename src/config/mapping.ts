/**
 * Mapping files: google.api.Service YAML, the format of grpc-gateway's `grpc_api_configuration` and of
 * Cloud Endpoints / ESPv2, so existing configs drop in (docs/mapping.md).
 *
 * Reads `http.rules` (google/api/http.proto HttpRule), `backend.rules` (google/api/backend.proto BackendRule)
 * and attache's own `attache.rules` extension block into plain specs that carry their file:line. Only shapes
 * are checked here; templates, selectors and field paths are resolved against the protos by the router.
 *
 * Keys are proto field names, and, like the protojson parsers grpc-gateway and gcloud feed these files
 * through, the lowerCamelCase JSON names are accepted too (`response_body` or `responseBody`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './errors.js';
import {
  readBreakerOptions, readBulkheadOptions, readHedgingOptions, readRetryOptions, readTlsOptions,
  type BreakerRuleOptions, type BulkheadRuleOptions, type HedgingRuleOptions, type RetryRuleOptions, type TlsRuleOptions,
} from './outbound-rules.js';
import { closest, deepFreeze } from './support.js';
import { MAX_TIMER_MS, parseDialAddress, quote } from './values.js';
import { describeNode, parseYaml } from './yaml-source.js';
import type { YamlEntry, YamlMap, YamlNode } from './yaml-source.js';

/** Where a rule was written. `file` is the path as given or found under a given folder (may be relative). */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
}

/** One HttpRule (google/api/http.proto), unparsed: the router compiles `path`. */
export interface HttpRuleSpec {
  /** The method's full name (or, syntactically allowed, a wildcard selector); additional bindings repeat their rule's. */
  readonly selector: string;
  /** `GET`, `PUT`, `POST`, `DELETE`, `PATCH`, or a `custom.kind` upper-cased (`*` means any method, per http.proto). */
  readonly method: string;
  /** The path template text, unparsed. */
  readonly path: string;
  /** `*`, a field path, or undefined when absent or empty. */
  readonly body: string | undefined;
  /** A field path, or undefined when absent or empty. */
  readonly responseBody: string | undefined;
  /** Each with its own loc and empty additionalBindings (http.proto allows one level only). */
  readonly additionalBindings: readonly HttpRuleSpec[];
  readonly loc: SourceLoc;
}

/** One BackendRule (google/api/backend.proto), keeping what attache uses. */
export interface BackendRuleSpec {
  readonly selector: string;
  /** From `grpc://host:port` (plaintext) or `grpcs://host:port` (TLS); `target` is `host:port`. */
  readonly address: { readonly target: string; readonly tls: boolean } | undefined;
  /** From `deadline` (seconds), rounded to whole milliseconds (at least 1). */
  readonly deadlineMs: number | undefined;
  readonly loc: SourceLoc;
}

/** Per-rule overrides of the global JSON settings; an absent key keeps the global value. */
export interface JsonRuleOptions {
  readonly emitUnpopulated?: boolean;
  readonly useProtoNames?: boolean;
  readonly enumsAsNumbers?: boolean;
  readonly int64AsNumbers?: boolean;
  readonly ignoreUnknownFields?: boolean;
}

/** One rule of the `attache:` extension block. Later sections (retry, hedging, …) become fields here. */
export interface AttacheRuleSpec {
  readonly selector: string;
  readonly json: JsonRuleOptions | undefined;
  /** Outbound policy (src/config/outbound-rules.ts); retry and hedging are per method, the rest per upstream. */
  readonly retry?: RetryRuleOptions | undefined;
  readonly hedging?: HedgingRuleOptions | undefined;
  readonly breaker?: BreakerRuleOptions | undefined;
  readonly bulkhead?: BulkheadRuleOptions | undefined;
  readonly tls?: TlsRuleOptions | undefined;
  readonly loc: SourceLoc;
}

/** Everything read from the mapping paths, in file order then rule order. Deep-frozen. */
export interface MappingSet {
  readonly http: readonly HttpRuleSpec[];
  readonly backend: readonly BackendRuleSpec[];
  readonly attache: readonly AttacheRuleSpec[];
  /** Every mapping file read, in the order read. */
  readonly files: readonly string[];
}

const defaultReadFile = (p: string): string => fs.readFileSync(p, 'utf8');

/**
 * Reads every mapping file under `paths`: each is a file, or a folder whose `*.yaml`/`*.yml` files are read
 * recursively in sorted order. Never throws. A rule with any error is left out of the result and every
 * error is returned: a missing path, unreadable file, YAML syntax (`file:line:col`), unknown keys, wrong
 * types, a rule with no pattern or two, an empty or malformed selector, a bad `custom.kind`, nested
 * additional_bindings, a bad backend address or deadline.
 *
 * @param readFile reads one file; injectable for tests. Folders are always listed from the real filesystem;
 *   a path that is not a folder there is handed to `readFile`.
 */
export function loadMappings(
  paths: readonly string[],
  readFile: (p: string) => string = defaultReadFile,
): { readonly mappings: MappingSet; readonly errors: readonly ConfigError[] } {
  const errors: ConfigError[] = [];
  const out = { http: [] as HttpRuleSpec[], backend: [] as BackendRuleSpec[], attache: [] as AttacheRuleSpec[], files: [] as string[] };
  for (const file of mappingFiles(paths, errors)) {
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      errors.push(new ConfigError('ATTACHE_E_MAPPING', file, missing ? 'no such file or folder' : `cannot read: ${err instanceof Error ? err.message : String(err)}`));
      continue;
    }
    out.files.push(file);
    const parsed = parseYaml(file, text, 'ATTACHE_E_MAPPING');
    errors.push(...parsed.errors);
    if (parsed.root !== undefined) readService(parsed.root, new Reporter(file, errors), out);
  }
  return { mappings: deepFreeze(out), errors: Object.freeze(errors) };
}

/**
 * The files to read, in order: each path as given, or for a folder its YAML files sorted by relative path.
 * Entries whose name starts with `.` are skipped: besides editor droppings, a Kubernetes ConfigMap mounted as
 * a folder holds every file twice (`a.yaml` → `..data/a.yaml`), and reading both would duplicate every rule.
 * Symlinks are followed (ConfigMap files are symlinks); a folder already visited is not walked again.
 */
function mappingFiles(paths: readonly string[], errors: ConfigError[]): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = path.resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(file);
  };
  for (const given of paths) {
    const stat = fs.statSync(given, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) {
      add(given); // read through `readFile`, which reports a missing file
      continue;
    }
    const found: string[] = [];
    const visited = new Set<string>();
    const walk = (dir: string): void => {
      const real = fs.realpathSync(dir);
      if (visited.has(real)) return;
      visited.add(real);
      for (const name of fs.readdirSync(dir)) {
        if (name.startsWith('.')) continue;
        const child = path.join(dir, name);
        const s = fs.statSync(child, { throwIfNoEntry: false }); // follows symlinks; a dangling one is skipped
        if (s?.isDirectory()) walk(child);
        else if (s?.isFile() && /\.ya?ml$/.test(name)) found.push(child);
      }
    };
    try {
      walk(given);
    } catch (err) {
      errors.push(new ConfigError('ATTACHE_E_MAPPING', given, `cannot list the folder: ${err instanceof Error ? err.message : String(err)}`));
    }
    found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).forEach(add);
  }
  return files;
}

/** Collects one file's errors as `file:line` ConfigErrors; `count` lets a reader tell whether a rule added any. */
class Reporter {
  constructor(
    readonly file: string,
    private readonly errors: ConfigError[],
  ) {}
  get count(): number {
    return this.errors.length;
  }
  error(line: number, message: string, rule?: string): void {
    this.errors.push(new ConfigError('ATTACHE_E_MAPPING', `${this.file}:${line}`, message, rule));
  }
}

type Out = { http: HttpRuleSpec[]; backend: BackendRuleSpec[]; attache: AttacheRuleSpec[] };

/** google.api.Service fields attache does not use (google/api/service.proto); accepted so existing configs load. */
const IGNORED_SERVICE_FIELDS = [
  'name', 'title', 'producer_project_id', 'id', 'apis', 'types', 'enums', 'documentation', 'quota',
  'authentication', 'context', 'usage', 'endpoints', 'control', 'logs', 'metrics', 'monitored_resources',
  'billing', 'logging', 'monitoring', 'system_parameters', 'source_info', 'publishing', 'config_version',
] as const;
const SERVICE_TYPE = 'google.api.Service';

function readService(root: YamlNode, r: Reporter, out: Out): void {
  if (root.kind !== 'map') {
    r.error(root.line, `a mapping file must be a google.api.Service mapping, got ${describeNode(root)}`);
    return;
  }
  const f = fields(root, ['type', 'http', 'backend', 'attache'], IGNORED_SERVICE_FIELDS, 'google.api.Service', r);
  const type = f.get('type');
  if (type && !isNull(type.value) && !(type.value.kind === 'scalar' && type.value.value === SERVICE_TYPE)) {
    r.error(type.line, `type: expected ${quote(SERVICE_TYPE)}, got ${describeNode(type.value)}`);
  }
  const http = block(f.get('http'), ['rules', 'fully_decode_reserved_expansion'], 'Http', r);
  const fullyDecode = http?.get('fully_decode_reserved_expansion');
  if (fullyDecode && !isNull(fullyDecode.value) && !(fullyDecode.value.kind === 'scalar' && fullyDecode.value.value === false)) {
    // It changes how `{x=**}` captures are percent-decoded; silently ignoring it would change routing.
    r.error(fullyDecode.line, `http.fully_decode_reserved_expansion: ${describeNode(fullyDecode.value)} is not supported; attache decodes as google/api/http.proto specifies by default`);
  }
  eachRule(http?.get('rules'), 'http.rules', r, (node, label) => {
    const rule = readHttpRule(node, label, r);
    if (rule) out.http.push(rule);
  });
  eachRule(block(f.get('backend'), ['rules'], 'Backend', r)?.get('rules'), 'backend.rules', r, (node, label) => {
    const rule = readBackendRule(node, label, r);
    if (rule) out.backend.push(rule);
  });
  eachRule(block(f.get('attache'), ['rules'], 'the attache block', r)?.get('rules'), 'attache.rules', r, (node, label) => {
    const rule = readAttacheRule(node, label, r);
    if (rule) out.attache.push(rule);
  });
}

/** A nested message (`http:`, `backend:`, `attache:`) as its fields, or undefined when absent or not a mapping. */
function block(entry: YamlEntry | undefined, known: readonly string[], what: string, r: Reporter): Map<string, YamlEntry> | undefined {
  if (!entry || isNull(entry.value)) return undefined;
  if (entry.value.kind !== 'map') {
    r.error(entry.line, `${entry.key}: expected a mapping (${what}), got ${describeNode(entry.value)}`);
    return undefined;
  }
  return fields(entry.value, known, [], `${entry.key} (${what})`, r);
}

/** Calls `each` for every item of a `rules:` list, with `http.rules[3]` as its label. */
function eachRule(entry: YamlEntry | undefined, where: string, r: Reporter, each: (node: YamlMap, label: string) => void): void {
  if (!entry || isNull(entry.value)) return;
  if (entry.value.kind !== 'seq') {
    r.error(entry.line, `${where}: expected a list of rules, got ${describeNode(entry.value)}`);
    return;
  }
  entry.value.items.forEach((node, i) => {
    if (node.kind === 'map') each(node, `${where}[${i}]`);
    else r.error(node.line, `expected a mapping (a rule), got ${describeNode(node)}`, `${where}[${i}]`);
  });
}

/**
 * The entries of a proto message written as a YAML mapping, keyed by proto field name (a lowerCamelCase
 * JSON name is mapped to it). Unknown keys, and a field given under both spellings, are errors; `ignored`
 * fields are accepted and dropped.
 */
function fields(map: YamlMap, known: readonly string[], ignored: readonly string[], what: string, r: Reporter, rule?: string): Map<string, YamlEntry> {
  const out = new Map<string, YamlEntry>();
  const spelled = new Map<string, string>();
  for (const entry of map.entries) {
    const name = entry.key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const prior = spelled.get(name);
    if (prior !== undefined) {
      r.error(entry.line, `${quote(entry.key)} repeats ${quote(prior)} (the same field)`, rule);
    } else if (known.includes(name)) {
      out.set(name, entry);
    } else if (!ignored.includes(name)) {
      const guess = closest(name, known);
      r.error(entry.line, `unknown key ${quote(entry.key)} in ${what}${guess ? `; did you mean ${quote(guess)}?` : ''} (allowed: ${known.join(', ')})`, rule);
    }
    spelled.set(name, entry.key);
  }
  return out;
}

/** A string field: undefined when absent or null; reports and returns undefined for any other type. */
function str(f: Map<string, YamlEntry>, name: string, r: Reporter, rule: string, prefix = ''): string | undefined {
  const e = f.get(name);
  if (!e || isNull(e.value)) return undefined;
  if (e.value.kind === 'scalar' && typeof e.value.value === 'string') return e.value.value;
  r.error(e.line, `${prefix}${name}: expected a string, got ${describeNode(e.value)}`, rule);
  return undefined;
}

const isNull = (n: YamlNode): boolean => n.kind === 'scalar' && n.value === null;

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
/** google.api selector syntax (documentation.proto DocumentationRule.selector): `a.b.C.M`, `a.b.*`, `*`. */
const SELECTOR = new RegExp(`^(?:\\*|${IDENT}(?:\\.${IDENT})*(?:\\.\\*)?)$`);

/**
 * The rule's selector, validated; reports and returns undefined when missing, empty or malformed.
 * Comma-separated lists, which DocumentationRule allows, are not accepted for routing or backend rules.
 */
function selectorOf(f: Map<string, YamlEntry>, line: number, label: string, r: Reporter): string | undefined {
  const before = r.count;
  const s = str(f, 'selector', r, label);
  if (r.count > before) return undefined;
  if (s === undefined || s === '') {
    r.error(f.get('selector')?.line ?? line, 'selector: missing or empty; name a method, e.g. payments.v1.PaymentService.GetPayment, or a wildcard like payments.v1.*', label);
    return undefined;
  }
  if (!SELECTOR.test(s)) {
    r.error(f.get('selector')!.line, `selector: ${quote(s)} is not a selector; expected a.b.Service.Method, a trailing wildcard a.b.*, or *`, label);
    return undefined;
  }
  return s;
}

const SIMPLE_PATTERNS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const HTTP_RULE_FIELDS = ['selector', ...SIMPLE_PATTERNS, 'custom', 'body', 'response_body', 'additional_bindings'];
/** RFC 9110 §5.6.2 `token`, the syntax of an HTTP method name. */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * How errors name a rule: its selector as written when it has one, else its position (`http.rules[3]`).
 * Taken before validation so that every error of one rule carries the same label.
 */
function ruleLabel(node: YamlMap, position: string): string {
  const s = node.entries.find((e) => e.key === 'selector')?.value;
  return s?.kind === 'scalar' && typeof s.value === 'string' && s.value !== '' ? s.value : position;
}

/** An additional binding's context: its rule's selector and label, and its own `additional_bindings[i]: ` prefix. */
interface Parent {
  readonly selector: string | undefined;
  readonly rule: string;
  readonly at: string;
}

/**
 * One HttpRule. `parent` is set for an additional binding: it inherits the parent's selector and may not
 * nest further ("Nested bindings must not contain an additional_bindings field themselves", http.proto).
 */
function readHttpRule(node: YamlMap, position: string, r: Reporter, parent?: Parent): HttpRuleSpec | undefined {
  const before = r.count;
  const rule = parent?.rule ?? ruleLabel(node, position);
  const at = parent?.at ?? '';
  const f = fields(node, HTTP_RULE_FIELDS, [], 'an HttpRule', r, rule);

  let selector: string | undefined;
  if (parent) {
    selector = parent.selector;
    const own = str(f, 'selector', r, rule, at);
    if (own !== undefined && own !== '' && own !== parent.selector) {
      r.error(f.get('selector')!.line, `${at}selector: ${quote(own)} differs from the rule's; an additional binding always applies to its rule's method, so leave it out`, rule);
    }
  } else {
    selector = selectorOf(f, node.line, rule, r);
  }

  const given = [...SIMPLE_PATTERNS, 'custom'].filter((p) => f.has(p) && !isNull(f.get(p)!.value));
  let method: string | undefined;
  let template: string | undefined;
  if (given.length === 0) {
    r.error(node.line, `${at}no pattern; set one of get, put, post, delete, patch or custom`, rule);
  } else if (given.length > 1) {
    r.error(f.get(given[1]!)!.line, `${at}several patterns (${given.join(', ')}); an HttpRule has exactly one (oneof pattern in google/api/http.proto)`, rule);
  } else if (given[0] === 'custom') {
    [method, template] = readCustom(f.get('custom')!, at, rule, r);
  } else {
    method = given[0]!.toUpperCase();
    template = str(f, given[0]!, r, rule, at);
  }

  const body = str(f, 'body', r, rule, at) || undefined;
  const responseBody = str(f, 'response_body', r, rule, at) || undefined;

  const additionalBindings: HttpRuleSpec[] = [];
  const nested = f.get('additional_bindings');
  if (nested && !isNull(nested.value)) {
    if (parent) {
      r.error(nested.line, `${at}additional_bindings inside an additional binding; google/api/http.proto allows one level only`, rule);
    } else if (nested.value.kind !== 'seq') {
      r.error(nested.line, `additional_bindings: expected a list of HttpRules, got ${describeNode(nested.value)}`, rule);
    } else {
      nested.value.items.forEach((item, i) => {
        const child: Parent = { selector, rule, at: `additional_bindings[${i}]: ` };
        if (item.kind !== 'map') {
          r.error(item.line, `${child.at}expected a mapping (an HttpRule), got ${describeNode(item)}`, rule);
          return;
        }
        const b = readHttpRule(item, position, r, child);
        if (b) additionalBindings.push(b);
      });
    }
  }
  if (r.count > before || selector === undefined || method === undefined || template === undefined) return undefined;
  return { selector, method, path: template, body, responseBody, additionalBindings, loc: { file: r.file, line: node.line } };
}

/** `custom: {kind, path}` → [method, path]; reports problems and returns undefineds. */
function readCustom(entry: YamlEntry, at: string, rule: string, r: Reporter): [string | undefined, string | undefined] {
  if (entry.value.kind !== 'map') {
    r.error(entry.line, `${at}custom: expected a mapping {kind, path}, got ${describeNode(entry.value)}`, rule);
    return [undefined, undefined];
  }
  const f = fields(entry.value, ['kind', 'path'], [], 'custom (CustomHttpPattern)', r, rule);
  const kind = str(f, 'kind', r, rule, `${at}custom.`);
  const template = str(f, 'path', r, rule, `${at}custom.`);
  if (kind === undefined || !METHOD_TOKEN.test(kind)) {
    const what = kind === undefined ? 'missing' : `${quote(kind)} is not an HTTP method token`;
    r.error(f.get('kind')?.line ?? entry.line, `${at}custom.kind: ${what}; expected a method name like HEAD or OPTIONS, or * for any method`, rule);
  }
  if (template === undefined) r.error(f.get('path')?.line ?? entry.line, `${at}custom.path: missing; expected a path template`, rule);
  return [kind !== undefined && METHOD_TOKEN.test(kind) ? kind.toUpperCase() : undefined, template];
}

/** BackendRule fields attache has no use for; accepted so Cloud Endpoints configs load unchanged. */
const IGNORED_BACKEND_FIELDS = [
  'min_deadline', 'operation_deadline', 'path_translation', 'jwt_audience', 'disable_auth', 'protocol',
  'overrides_by_request_protocol', 'load_balancing_policy',
];

function readBackendRule(node: YamlMap, position: string, r: Reporter): BackendRuleSpec | undefined {
  const before = r.count;
  const rl = ruleLabel(node, position);
  const f = fields(node, ['selector', 'address', 'deadline'], IGNORED_BACKEND_FIELDS, 'a BackendRule', r, rl);
  const selector = selectorOf(f, node.line, rl, r);

  let address: BackendRuleSpec['address'];
  const addressText = str(f, 'address', r, rl);
  if (addressText) {
    const m = /^(grpcs?):\/\/(.*)$/i.exec(addressText);
    const target = m ? parseDialAddress(m[2]!) : undefined;
    if (!m) {
      r.error(f.get('address')!.line, `address: ${quote(addressText)} is not grpc://host:port or grpcs://host:port (TLS); attache calls gRPC backends only`, rl);
    } else if (!target!.ok) {
      r.error(f.get('address')!.line, `address: ${target!.reason}`, rl);
    } else {
      address = { target: target!.value, tls: m[1]!.toLowerCase() === 'grpcs' };
    }
  }

  let deadlineMs: number | undefined;
  const deadline = f.get('deadline');
  if (deadline && !isNull(deadline.value)) {
    const v = deadline.value.kind === 'scalar' ? deadline.value.value : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      r.error(deadline.line, `deadline: expected a number of seconds greater than 0, e.g. 5.0, got ${describeNode(deadline.value)}`, rl);
    } else if (v * 1000 > MAX_TIMER_MS) {
      r.error(deadline.line, `deadline: ${v} seconds is too long; the maximum is ${Math.floor(MAX_TIMER_MS / 1000)} (Node's timer limit)`, rl);
    } else {
      deadlineMs = Math.max(1, Math.round(v * 1000));
    }
  }
  if (r.count > before || selector === undefined) return undefined;
  return { selector, address, deadlineMs, loc: { file: r.file, line: node.line } };
}

/** The per-rule JSON options; `true` marks each key, so the compiler keeps this list and the interface in step. */
const JSON_RULE_KEYS: Readonly<Record<keyof JsonRuleOptions, true>> = {
  emitUnpopulated: true, useProtoNames: true, enumsAsNumbers: true, int64AsNumbers: true, ignoreUnknownFields: true,
};

/**
 * How each section of an attache rule is read. A new section (`retry`, `hedging`, …) is one reader here and
 * one field in AttacheRuleSpec. Readers report through `r` and return undefined on error.
 */
const ATTACHE_SECTIONS = {
  json: readJsonOptions,
  retry: readRetryOptions,
  hedging: readHedgingOptions,
  breaker: readBreakerOptions,
  bulkhead: readBulkheadOptions,
  tls: readTlsOptions,
} satisfies Record<string, (entry: YamlEntry, rule: string, r: Reporter) => unknown>;

function readAttacheRule(node: YamlMap, position: string, r: Reporter): AttacheRuleSpec | undefined {
  const before = r.count;
  const rl = ruleLabel(node, position);
  const f = fields(node, ['selector', ...Object.keys(ATTACHE_SECTIONS)], [], 'an attache rule', r, rl);
  const selector = selectorOf(f, node.line, rl, r);
  const section = <K extends keyof typeof ATTACHE_SECTIONS>(key: K): ReturnType<(typeof ATTACHE_SECTIONS)[K]> | undefined => {
    const e = f.get(key);
    return e && !isNull(e.value) ? (ATTACHE_SECTIONS[key](e, rl, r) as ReturnType<(typeof ATTACHE_SECTIONS)[K]>) : undefined;
  };
  const json = section('json');
  const outbound = { retry: section('retry'), hedging: section('hedging'), breaker: section('breaker'), bulkhead: section('bulkhead'), tls: section('tls') };
  if (r.count > before || selector === undefined) return undefined;
  return { selector, json, ...outbound, loc: { file: r.file, line: node.line } };
}

function readJsonOptions(entry: YamlEntry, rule: string, r: Reporter): JsonRuleOptions | undefined {
  if (entry.value.kind !== 'map') {
    r.error(entry.line, `json: expected a mapping of ${Object.keys(JSON_RULE_KEYS).join(', ')}, got ${describeNode(entry.value)}`, rule);
    return undefined;
  }
  const out: Record<string, boolean> = {};
  const before = r.count;
  for (const e of entry.value.entries) {
    if (!Object.hasOwn(JSON_RULE_KEYS, e.key)) {
      const guess = closest(e.key, Object.keys(JSON_RULE_KEYS));
      r.error(e.line, `json: unknown key ${quote(e.key)}${guess ? `; did you mean ${quote(guess)}?` : ''} (allowed: ${Object.keys(JSON_RULE_KEYS).join(', ')})`, rule);
    } else if (e.value.kind === 'scalar' && typeof e.value.value === 'boolean') {
      out[e.key] = e.value.value;
    } else if (!isNull(e.value)) {
      r.error(e.line, `json.${e.key}: expected true or false, got ${describeNode(e.value)}`, rule);
    }
  }
  return r.count > before ? undefined : out;
}

/**
 * Whether `selector` selects the method `fullMethodName` (`pkg.Service.Method`; a leading `.`, as protobufjs
 * writes full names, is ignored). Per google.api selector syntax: an exact name, `*` (everything), or a
 * trailing `.*`, which matches one or more whole name components (`a.b.*` matches `a.b.S.M`, not `a.bc.S.M`
 * nor `a.b`). A malformed selector matches nothing.
 */
export function selectorMatches(selector: string, fullMethodName: string): boolean {
  if (!SELECTOR.test(selector)) return false;
  const name = fullMethodName.startsWith('.') ? fullMethodName.slice(1) : fullMethodName;
  if (selector === '*') return true;
  if (selector.endsWith('.*')) return name.startsWith(selector.slice(0, -1)) && name.length > selector.length - 1;
  return selector === name;
}

/**
 * Ranks selectors for choosing among several that match one method: higher is more specific. An exact name
 * scores Number.MAX_SAFE_INTEGER; `a.b.*` scores its number of name components (2); `*` scores 0; a malformed
 * selector -1. So exact beats any wildcard, and a longer prefix beats a shorter one.
 */
export function selectorSpecificity(selector: string): number {
  if (!SELECTOR.test(selector)) return -1;
  if (selector === '*') return 0;
  if (selector.endsWith('.*')) return selector.split('.').length - 1;
  return Number.MAX_SAFE_INTEGER;
}

/**
 * The most specific rule whose selector matches `fullMethodName`, among those `applies` accepts (e.g. the
 * attache rules that set a given section). Ties keep the rule listed first.
 */
export function mostSpecificRule<R extends { readonly selector: string }>(
  rules: readonly R[],
  fullMethodName: string,
  applies: (rule: R) => boolean = () => true,
): R | undefined {
  let best: R | undefined;
  let bestScore = -1;
  for (const r of rules) {
    if (!applies(r) || !selectorMatches(r.selector, fullMethodName)) continue;
    const score = selectorSpecificity(r.selector);
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}
