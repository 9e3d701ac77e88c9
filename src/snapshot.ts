/**
 * A Snapshot is everything a request needs that comes from configuration: the protos, the codec, the
 * routes and the upstream plans. A ServingSnapshot adds the live upstreams built from those plans. It is
 * built at start-up and again on each reload, then swapped in whole (src/ops/reload.ts); a request reads
 * one serving snapshot from start to finish.
 */
import { createJsonCodec, DEFAULT_WRITE_OPTIONS, type JsonCodec } from './codec/index.js';
import type { Config } from './config/load.js';
import { loadMappings, type HttpRuleSpec } from './config/mapping.js';
import { loadRegistry, ProtoLoadError, RegistryError, rpcLineIndex, type Registry } from './registry/load.js';
import { createSchemaStore, type SchemaStore } from './registry/schema-store.js';
import { buildRoutes, type Route, type RouteTable } from './routing/routes.js';
import { parseTemplate, TemplateError } from './routing/template.js';
import type { DetailJson } from './status/status.js';
import { createPolicyResolver, type MethodPolicy } from './upstream/policy.js';
import type { Upstreams } from './upstream/channels.js';
import { buildUpstreamPlans, type UpstreamPlan } from './upstream/service-config.js';
import { credentialsFileProblems } from './upstream/credentials.js';
import { tlsFileProblems } from './upstream/tls.js';

/** What `--check` and start-up report for each problem. */
export interface LoadProblem {
  readonly code: string;
  readonly source: string;
  readonly rule: string | undefined;
  readonly message: string;
}

/** A route as the request path serves it: with its method's call policy (upstream/policy.ts). */
export type ServedRoute = Route<MethodPolicy>;

export interface Snapshot {
  readonly config: Config;
  /**
   * The message types, materialized on first use (registry/schema-store.ts). The protobufjs Root the
   * snapshot was validated against is not kept: on a large proto set it is most of the process's memory.
   */
  readonly types: SchemaStore;
  readonly codec: JsonCodec;
  readonly table: RouteTable<MethodPolicy>;
  /** One plan per upstream channel (policy and service config), keyed by `Route.policy.upstream.key`. */
  readonly upstreams: ReadonlyMap<string, UpstreamPlan>;
  /** Some route is a client or bidi stream (its request body is read as a stream: http/plugin.ts). */
  readonly requestStreams: boolean;
  /** Renders a google.protobuf.Any from error details (unknown types fall back to base64). */
  readonly renderAny: (typeUrl: string, value: Uint8Array) => DetailJson;
}

/** A snapshot with its live upstreams: everything a request needs, swapped as one object on reload. */
export interface ServingSnapshot extends Snapshot {
  /** The upstreams (wires, guards) of `upstreams`' plans; some may be carried over from the previous snapshot. */
  readonly channels: Upstreams;
}

export type SnapshotResult =
  | { readonly ok: true; readonly snapshot: Snapshot }
  | { readonly ok: false; readonly problems: readonly LoadProblem[] };

/**
 * The path templates of `rules` (and their additional bindings) that do not parse, reported as buildRoutes
 * reports them. Only used when the protos fail to load, since buildRoutes then never runs.
 */
function templateProblems(rules: readonly HttpRuleSpec[]): LoadProblem[] {
  const problems: LoadProblem[] = [];
  for (const rule of rules.flatMap((r) => [r, ...r.additionalBindings])) {
    try {
      parseTemplate(rule.path);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const source = rule.loc.line > 0 ? `${rule.loc.file}:${rule.loc.line}` : rule.loc.file;
      problems.push({ code: err.code, source, rule: rule.selector, message: err.message });
    }
  }
  return problems;
}

/**
 * Loads protos and mappings and builds the routes. Never throws for bad input; collects every problem.
 * @param env the environment upstream credentials read their client secrets from; when given, a variable
 *   they name that is unset is a problem (`--check` and start-up pass it; undefined skips that check)
 */
export function buildSnapshot(config: Config, env?: NodeJS.ProcessEnv): SnapshotResult {
  const problems: LoadProblem[] = [];
  let registry: Registry;
  try {
    registry = loadRegistry(config.protos);
  } catch (err) {
    const found = err instanceof ProtoLoadError ? err.problems : err instanceof RegistryError ? [err] : undefined;
    if (found === undefined) throw err;
    for (const e of found) {
      problems.push({ code: e.code, source: e.line === undefined ? e.file : `${e.file}:${e.line}`, rule: undefined, message: e.reason });
    }
    // Mapping errors are still worth reporting even when the protos do not load: `--check` lists every
    // problem. Templates parse without the protos, so their errors are found too.
    const { mappings, errors } = loadMappings(config.mappings);
    for (const e of errors) problems.push({ code: e.code, source: e.source, rule: e.rule, message: e.message });
    problems.push(...templateProblems(mappings.http));
    return { ok: false, problems };
  }
  const { mappings, errors: mappingErrors } = loadMappings(config.mappings);
  const types = createSchemaStore(registry.root);
  for (const e of mappingErrors) problems.push({ code: e.code, source: e.source, rule: e.rule, message: e.message });
  // Policies are resolved here, not in routing/ (which stays pure): the attache rules and the outbound defaults.
  const { table, errors } = buildRoutes({
    registry,
    mappings,
    json: config.json,
    defaultUpstream: config.upstream,
    upstreamTls: config.outbound.upstreamTls,
    resolvePolicy: createPolicyResolver(mappings.attache, config.outbound),
    rpcLine: rpcLineIndex(),
    autoMapping: config.autoMapping,
    types,
  });
  problems.push(...errors);
  const { plans: upstreams, problems: planProblems } = buildUpstreamPlans(table.routes, config.outbound);
  problems.push(...planProblems);
  for (const plan of upstreams.values()) {
    const tls = plan.policy.tls;
    for (const message of tls === undefined ? [] : tlsFileProblems(tls)) {
      problems.push({ code: 'ATTACHE_E_TLS', source: plan.policy.key, rule: plan.selectors[0], message });
    }
    const credentials = plan.policy.credentials;
    for (const message of credentials === undefined ? [] : credentialsFileProblems(credentials, env)) {
      problems.push({ code: 'ATTACHE_E_CREDENTIALS', source: plan.policy.key, rule: plan.selectors[0], message });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const codec = createJsonCodec(types);
  const renderAny = (typeUrl: string, value: Uint8Array): DetailJson =>
    JSON.parse(codec.anyToJson(typeUrl, value, DEFAULT_WRITE_OPTIONS)) as DetailJson;
  const requestStreams = table.routes.some((r) => r.kind === 'client-stream' || r.kind === 'bidi');
  return { ok: true, snapshot: Object.freeze({ config, types, codec, table, upstreams, requestStreams, renderAny }) };
}

/** One line per problem: `source: rule: message [CODE]`. */
export function formatProblem(p: LoadProblem): string {
  return `${p.source}: ${p.rule !== undefined ? `${p.rule}: ` : ''}${p.message} [${p.code}]`;
}
