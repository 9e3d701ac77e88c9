/**
 * Builds attache's route table: every HttpRule from the mapping files and from `google.api.http`
 * annotations, resolved against the loaded protos into immutable `Route`s that a request only reads.
 *
 * Rules (docs/mapping.md): a mapping-file rule replaces the annotation for the same selector;
 * a rule naming an unknown method or field, two rules claiming the same method and path, and a template
 * that does not parse are errors naming the file, the rule and the reason. Errors are collected, not
 * thrown, because `--check` is a linter users run directly and wants every problem at once.
 *
 * Pure: no I/O and no upstream knowledge. What only the caller knows comes in through {@link BuildRoutesInput}:
 * the line of an `rpc` in its file (the registry reads files) and each method's call policy (resolved by
 * snapshot.ts with upstream/policy.ts), which a route carries as an opaque `P`.
 */
import http from 'node:http';
import type protobuf from 'protobufjs';
import { SmallMap } from '../collections/small-map.js';
import type { JsonSettings } from '../config/load.js';
import type { AttacheRuleSpec, BackendRuleSpec, HttpRuleSpec, MappingSet } from '../config/mapping.js';
import { mostSpecificRule, selectorMatches } from '../config/mapping.js';
import type { ReadOptions, WriteOptions } from '../codec/index.js';
import { rootMessageTypes } from '../codec/descriptors.js';
import type { Registry } from '../registry/load.js';
import { ownString, type TypeSource } from '../registry/schema-store.js';
import { autoMappingRule } from './auto-mapping.js';
import { bindRoute, type RouteTypeNames } from './bind.js';
import { fullNameOf, isTextField, resolveFieldPath } from './fields.js';
import { buildMatcher, type Matcher, type RouteEntry } from './matcher.js';
import { parseTemplate, TemplateError, type Template } from './template.js';

/** Where an upstream lives. `target` is in grpc-js syntax. */
export interface UpstreamRef {
  readonly target: string;
  readonly tls: boolean;
}

/** How the HTTP body maps onto the request message (HttpRule.body). */
export type BodyMapping =
  | { readonly kind: 'none' }
  | { readonly kind: 'all' }
  | { readonly kind: 'field'; readonly field: protobuf.Field; readonly path: string };

/**
 * The four gRPC method kinds (a unary call is a stream of one message each way). Named as `--check` prints
 * them.
 */
export type MethodKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** The kind of a method from its descriptor's stream flags. */
export function methodKindOf(requestStream: boolean | undefined, responseStream: boolean | undefined): MethodKind {
  if (requestStream === true) return responseStream === true ? 'bidi' : 'client-stream';
  return responseStream === true ? 'server-stream' : 'unary';
}

/**
 * One HTTP binding of one gRPC method, fully resolved at load time. `P` is the call policy the caller's
 * resolver gave the method (routing does not look inside it).
 */
export interface Route<P = unknown> {
  /** Fully-qualified method name, e.g. `payments.v1.PaymentService.GetPayment`. */
  readonly selector: string;
  readonly httpMethod: string;
  readonly template: Template;
  /** The gRPC request path, `/payments.v1.PaymentService/GetPayment`. */
  readonly grpcPath: string;
  readonly kind: MethodKind;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  readonly body: BodyMapping;
  /** HttpRule.response_body: the response field sent as the whole HTTP body. */
  readonly responseBody: protobuf.Field | undefined;
  /** Template variable (dotted proto path as written) → the fields it walks through. */
  readonly pathFields: ReadonlyMap<string, readonly protobuf.Field[]>;
  /** Dotted proto paths that query parameters may not set: bound by the path or by the body field. */
  readonly boundPaths: readonly string[];
  readonly upstream: UpstreamRef;
  /** The rule's deadline from backend.rules, or undefined to use the request's or the default. */
  readonly deadlineMs: number | undefined;
  readonly readOptions: ReadOptions;
  readonly writeOptions: WriteOptions;
  readonly strictQuery: boolean;
  /** Outbound policy (retry/hedging per method; breaker, bulkhead, TLS per upstream), resolved at load time. */
  readonly policy: P;
  /** Where the rule came from: `mappings/a.yaml:12` or `protos/x.proto (annotation)`. */
  readonly source: string;
  /**
   * What the protobufjs members above are resolved from, on first use (routing/bind.ts): a route keeps
   * names, not the objects of the Root it was validated against.
   */
  readonly names: RouteTypeNames;
}

/** A problem found while building routes. */
export interface RouteError {
  readonly code: string;
  readonly source: string;
  readonly rule: string | undefined;
  readonly message: string;
}

export interface RouteTable<P = unknown> {
  readonly routes: readonly Route<P>[];
  readonly matcher: Matcher<Route<P>>;
}

interface MethodInfo {
  readonly selector: string;
  readonly method: protobuf.Method;
  readonly service: protobuf.Service;
}

function routeError(code: string, source: string, rule: string | undefined, message: string): RouteError {
  return Object.freeze({ code, source, rule, message });
}

/** Every method of every service declared in the user's own proto files (not the bundled Google ones). */
function userMethods(registry: Registry): Map<string, MethodInfo> {
  const userPaths = new Set(registry.userFiles.map((f) => registry.resolved.get(f)).filter((p) => p !== undefined));
  const out = new Map<string, MethodInfo>();
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if ('methods' in child && child.filename !== null && userPaths.has(child.filename)) {
        const service = child as protobuf.Service;
        for (const m of service.methodsArray) {
          const selector = ownString(`${fullNameOf(service)}.${m.name}`);
          out.set(selector, { selector, method: m, service });
        }
      }
      if ('nestedArray' in child) visit(child as protobuf.NamespaceBase);
    }
  };
  visit(registry.root);
  return out;
}

/** The google.api.http option of a method as HttpRuleSpecs (protobufjs keeps it in parsedOptions). */
function annotationRules(info: MethodInfo, importNames: ReadonlyMap<string, string>, rpcLine: RpcLineOf): HttpRuleSpec[] {
  const parsed = (info.method.parsedOptions ?? []) as Record<string, unknown>[];
  const abs = info.method.filename ?? info.service.filename ?? 'protos';
  const loc = { file: importNames.get(abs) ?? abs, line: rpcLine(abs, info.method.name) };
  const out: HttpRuleSpec[] = [];
  for (const opt of parsed) {
    const http = opt['(google.api.http)'];
    if (http === undefined || http === null || typeof http !== 'object') continue;
    const spec = httpRuleFromOption(info.selector, http as Record<string, unknown>, loc);
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

/** Methods Node's HTTP parser accepts (CONNECT is a tunnel, not a request). */
const NODE_METHODS: ReadonlySet<string> = new Set(http.METHODS.filter((m) => m !== 'CONNECT'));

const PATTERN_KEYS = ['get', 'put', 'post', 'delete', 'patch'] as const;

function httpRuleFromOption(
  selector: string,
  o: Record<string, unknown>,
  loc: { file: string; line: number },
  nested = false,
): HttpRuleSpec | undefined {
  let method: string | undefined;
  let path: string | undefined;
  for (const k of PATTERN_KEYS) {
    if (typeof o[k] === 'string') {
      method = k.toUpperCase();
      path = o[k] as string;
    }
  }
  const custom = o['custom'] as Record<string, unknown> | undefined;
  if (custom && typeof custom['kind'] === 'string' && typeof custom['path'] === 'string') {
    method = custom['kind'].toUpperCase();
    path = custom['path'];
  }
  if (method === undefined || path === undefined) return undefined;
  const extra = o['additional_bindings'];
  const bindings = nested ? [] : Array.isArray(extra) ? extra : extra && typeof extra === 'object' ? [extra] : [];
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    selector,
    method,
    path,
    body: str(o['body']),
    responseBody: str(o['response_body']),
    additionalBindings: bindings
      .map((b) => httpRuleFromOption(selector, b as Record<string, unknown>, loc, true))
      .filter((b): b is HttpRuleSpec => b !== undefined),
    loc,
  };
}

/** Absolute path → the import name the file was loaded under (the first, if several). */
function importNamesOf(registry: Registry): Map<string, string> {
  const byPath = new Map<string, string>();
  for (const [name, abs] of registry.resolved) if (!byPath.has(abs)) byPath.set(abs, name);
  return byPath;
}

/** The 1-based line declaring `rpc <name>(` in the proto file at `absPath`, or 0 when unknown. */
export type RpcLineOf = (absPath: string, rpcName: string) => number;

/** What a method's policy is resolved from (upstream/policy.ts `MethodFacts` has this shape). */
export interface MethodFacts {
  readonly selector: string;
  /** The HTTP methods of every binding of the method. */
  readonly httpMethods: readonly string[];
  /** descriptor.proto MethodOptions.idempotency_level as protobufjs reports it, if set. */
  readonly idempotencyLevel: unknown;
  readonly kind: MethodKind;
  readonly target: string;
  readonly tls: boolean;
}

/** A resolver's problem; buildRoutes reports it as a RouteError naming the method. */
export interface PolicyProblem {
  readonly code: string;
  readonly source: string;
  readonly message: string;
}

export interface BuildRoutesInput<P> {
  readonly registry: Registry;
  readonly mappings: MappingSet;
  readonly json: JsonSettings;
  readonly defaultUpstream: string | undefined;
  /** Whether `--upstream` is called over TLS (`--upstream-tls`). */
  readonly upstreamTls: boolean;
  /** The call policy of a method that has an upstream. */
  readonly resolvePolicy: (facts: MethodFacts) => { readonly policy: P; readonly problems: readonly PolicyProblem[] };
  /** Line numbers for annotation rules (default: none, reported as line 0). */
  readonly rpcLine?: RpcLineOf;
  /** `--auto-mapping`: every method without a rule gets `POST /{package.Service}/{Method}`, body `*`. */
  readonly autoMapping?: boolean;
  /**
   * Where the routes resolve their types when serving (snapshot.ts passes the schema store); default: the
   * registry's Root itself.
   */
  readonly types?: TypeSource;
}

/** Builds and validates every route. Never throws; every problem is returned. */
export function buildRoutes<P>(input: BuildRoutesInput<P>): { table: RouteTable<P>; errors: RouteError[] } {
  const { registry, mappings, json } = input;
  const errors: RouteError[] = [];
  const methods = userMethods(registry);

  // Mapping-file rules by selector; a selector may appear once (use additional_bindings for more paths).
  const mapped = new Map<string, HttpRuleSpec>();
  for (const rule of mappings.http) {
    const src = `${rule.loc.file}:${rule.loc.line}`;
    if (!methods.has(rule.selector)) {
      errors.push(routeError('ATTACHE_E_UNKNOWN_METHOD', src, rule.selector, `no method ${rule.selector} in the loaded protos${nearMiss(rule.selector, methods)}`));
      continue;
    }
    const prior = mapped.get(rule.selector);
    if (prior !== undefined) {
      errors.push(routeError('ATTACHE_E_DUPLICATE_RULE', src, rule.selector, `a second http rule for this method (the first is at ${prior.loc.file}:${prior.loc.line}); use additional_bindings for more paths`));
      continue;
    }
    mapped.set(rule.selector, rule);
  }
  for (const rule of [...mappings.backend, ...mappings.attache]) {
    if (![...methods.keys()].some((m) => selectorMatches(rule.selector, m))) {
      errors.push(routeError('ATTACHE_E_UNKNOWN_SELECTOR', `${rule.loc.file}:${rule.loc.line}`, rule.selector, 'selector matches no method in the loaded protos'));
    }
  }

  const rpcLine = input.rpcLine ?? (() => 0);
  const importNames = importNamesOf(registry);
  const types = input.types ?? rootMessageTypes(registry.root);
  const entries: RouteEntry<Route<P>>[] = [];
  for (const info of methods.values()) {
    const fromMapping = mapped.get(info.selector);
    let rules = fromMapping !== undefined ? [fromMapping] : annotationRules(info, importNames, rpcLine);
    if (rules.length === 0 && input.autoMapping === true) rules = [autoMappingRule(info.selector, fullNameOf(info.service), info.method.name)];
    if (rules.length === 0) continue;
    // A backend rule applies whole (as in ESPv2); attache rules section by section, like the outbound policy.
    const backend = mostSpecificRule(mappings.backend, info.selector);
    const attache = mostSpecificRule(mappings.attache, info.selector, (r) => r.json !== undefined);
    const upstream = upstreamOf(backend, input);
    let policy: { readonly value: P } | undefined;
    if (upstream !== undefined) {
      const httpMethods = rules.flatMap((r) => [r, ...r.additionalBindings].map((b) => b.method));
      const kind = methodKindOf(info.method.requestStream, info.method.responseStream);
      const resolved = input.resolvePolicy({ selector: info.selector, httpMethods, idempotencyLevel: info.method.options?.['idempotency_level'], kind, target: upstream.target, tls: upstream.tls });
      for (const p of resolved.problems) errors.push(routeError(p.code, p.source, info.selector, p.message));
      policy = { value: resolved.policy };
    }
    for (const rule of rules) {
      for (const binding of [rule, ...rule.additionalBindings]) {
        const built = buildRoute(info, binding, backend, attache, input, policy, types);
        if ('message' in built) errors.push(built);
        else entries.push({ method: built.httpMethod, template: built.template, value: built, source: `${built.source} (${info.selector})` });
      }
    }
  }

  const { matcher, conflicts } = buildMatcher(entries);
  for (const c of conflicts) {
    errors.push(routeError('ATTACHE_E_ROUTE_CONFLICT', c.second, undefined, `${c.reason}; it conflicts with ${c.first}`));
  }
  const routes = Object.freeze(matcher.entries.map((e) => e.value));
  return { table: Object.freeze({ routes, matcher }), errors };
}

function nearMiss(selector: string, methods: ReadonlyMap<string, MethodInfo>): string {
  const lower = selector.toLowerCase();
  for (const m of methods.keys()) if (m.toLowerCase() === lower) return ` (did you mean ${m}?)`;
  return '';
}

function buildRoute<P>(
  info: MethodInfo,
  rule: HttpRuleSpec,
  backend: BackendRuleSpec | undefined,
  attache: AttacheRuleSpec | undefined,
  input: BuildRoutesInput<P>,
  policy: { readonly value: P } | undefined,
  types: TypeSource,
): Route<P> | RouteError {
  const source = rule.loc.line > 0 ? `${rule.loc.file}:${rule.loc.line}` : rule.loc.file;
  const fail = (code: string, message: string): RouteError => routeError(code, source, info.selector, message);
  const m = info.method;
  if (!NODE_METHODS.has(rule.method)) {
    // Node's HTTP parser rejects unknown methods before any router sees them, so such a rule could never match.
    return fail('ATTACHE_E_BAD_METHOD', `custom kind "${rule.method}" is not an HTTP method Node.js accepts (${[...NODE_METHODS].join(', ')})`);
  }
  const requestType = m.resolvedRequestType!;
  const responseType = m.resolvedResponseType!;

  let template: Template;
  try {
    // ownString: protobufjs's option values are slices of the whole proto file (see ownString).
    template = parseTemplate(ownString(rule.path));
  } catch (err) {
    if (err instanceof TemplateError) return fail(err.code, err.message);
    throw err;
  }

  const pathFields: [string, readonly string[]][] = [];
  const boundPaths = new Set<string>();
  for (const v of template.variables) {
    const resolved = resolveFieldPath(requestType, v.fieldPath);
    const dotted = v.fieldPath.join('.');
    if (!resolved.ok) return fail('ATTACHE_E_UNKNOWN_FIELD', `path variable {${dotted}} in "${rule.path}": ${resolved.reason}`);
    const leaf = resolved.fields[resolved.fields.length - 1]!;
    if (leaf.repeated || leaf.map) return fail('ATTACHE_E_BAD_FIELD', `path variable {${dotted}} in "${rule.path}" names a repeated field`);
    if (!isTextField(leaf)) return fail('ATTACHE_E_BAD_FIELD', `path variable {${dotted}} in "${rule.path}" names a message field; it must be a scalar, an enum or a well-known type with a string form`);
    const names = resolved.fields.map((f) => ownString(f.name));
    pathFields.push([ownString(dotted), names]);
    boundPaths.add(names.join('.'));
  }

  let bodyKind: BodyMapping['kind'] = 'none';
  let bodyField: string | undefined;
  if (rule.body === '*') {
    bodyKind = 'all';
  } else if (rule.body !== undefined) {
    // http.proto: "the referred field must be present at the top-level of the request message type".
    const f = requestType.fields[rule.body] ?? requestType.fieldsArray.find((x) => x.name === rule.body);
    if (f === undefined) return fail('ATTACHE_E_UNKNOWN_FIELD', `body "${rule.body}": ${fullNameOf(requestType)} has no top-level field "${rule.body}"`);
    bodyKind = 'field';
    bodyField = ownString(f.name);
    boundPaths.add(bodyField);
  }
  const kind = methodKindOf(m.requestStream, m.responseStream);
  if (bodyKind === 'none' && (kind === 'client-stream' || kind === 'bidi')) {
    // A request stream's messages can only come from the body (NDJSON lines, WebSocket frames), whatever the
    // binding says: a GET binding of a bidi method is its WebSocket endpoint.
    bodyKind = 'all';
  }
  if (bodyKind !== 'none' && ['GET', 'DELETE'].includes(rule.method) && rule.body !== undefined) {
    // Allowed by http.proto for custom/other verbs; for GET and DELETE most clients cannot send a body.
    return fail('ATTACHE_E_BAD_BODY', `${rule.method} ${rule.path} declares body "${rule.body}", but ${rule.method} requests carry no body`);
  }

  if (rule.responseBody !== undefined) {
    const responseBody = responseType.fieldsArray.find((x) => x.name === rule.responseBody);
    if (responseBody === undefined) return fail('ATTACHE_E_UNKNOWN_FIELD', `response_body "${rule.responseBody}": ${fullNameOf(responseType)} has no top-level field "${rule.responseBody}"`);
  }

  const upstream = upstreamOf(backend, input);
  if (upstream === undefined || policy === undefined) {
    return fail('ATTACHE_E_NO_UPSTREAM', `no upstream for this method: set --upstream (GRPC_TARGET) or a backend rule with an address`);
  }

  const j = input.json;
  const o = attache?.json ?? {};
  const readOptions: ReadOptions = Object.freeze({
    ignoreUnknownFields: o.ignoreUnknownFields ?? j.ignoreUnknownFields,
    caseInsensitiveEnums: j.caseInsensitiveEnums,
    maxDepth: j.maxDepth,
  });
  const writeOptions: WriteOptions = Object.freeze({
    emitUnpopulated: o.emitUnpopulated ?? j.emitUnpopulated,
    useProtoNames: o.useProtoNames ?? j.useProtoNames,
    enumsAsNumbers: o.enumsAsNumbers ?? j.enumsAsNumbers,
    int64AsNumbers: o.int64AsNumbers ?? j.int64AsNumbers,
  });

  const names: RouteTypeNames = Object.freeze({
    requestType: ownString(fullNameOf(requestType)),
    responseType: ownString(fullNameOf(responseType)),
    bodyField,
    responseBody: rule.responseBody !== undefined ? ownString(rule.responseBody) : undefined,
    pathFields: new SmallMap(pathFields),
  });
  return bindRoute(
    {
      selector: info.selector,
      httpMethod: rule.method,
      template,
      grpcPath: ownString(`/${fullNameOf(info.service)}/${m.name}`),
      kind,
      bodyKind,
      boundPaths: Object.freeze([...boundPaths]),
      upstream: Object.freeze(upstream),
      deadlineMs: backend?.deadlineMs,
      readOptions,
      writeOptions,
      strictQuery: j.strictQuery,
      policy: policy.value,
      source: ownString(source),
    },
    names,
    types,
  );
}

/** The method's upstream: its backend rule's address, else `--upstream` (TLS when `--upstream-tls`). */
function upstreamOf(backend: BackendRuleSpec | undefined, input: BuildRoutesInput<unknown>): UpstreamRef | undefined {
  if (backend?.address !== undefined) return { target: backend.address.target, tls: backend.address.tls };
  return input.defaultUpstream !== undefined ? { target: input.defaultUpstream, tls: input.upstreamTls } : undefined;
}
