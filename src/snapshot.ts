/**
 * A Snapshot is everything a request needs that comes from configuration: the protos, the codec, the
 * routes and the upstream clients. It is built once (and, later, rebuilt on reload and swapped
 * atomically); a request reads one snapshot from start to finish.
 */
import { createJsonCodec, DEFAULT_WRITE_OPTIONS, type JsonCodec } from './codec/index.js';
import type { Config } from './config/load.js';
import { loadMappings } from './config/mapping.js';
import { loadRegistry, RegistryError, type Registry } from './registry/load.js';
import { buildRoutes, type RouteTable } from './routing/routes.js';
import type { DetailJson } from './status/status.js';
import { buildUpstreamPlans, type UpstreamPlan } from './upstream/service-config.js';
import { tlsFileProblems } from './upstream/tls.js';

/** What `--check` and start-up report for each problem. */
export interface LoadProblem {
  readonly code: string;
  readonly source: string;
  readonly rule: string | undefined;
  readonly message: string;
}

export interface Snapshot {
  readonly config: Config;
  readonly registry: Registry;
  readonly codec: JsonCodec;
  readonly table: RouteTable;
  /** One plan per upstream channel (policy and service config), keyed by `Route.policy.upstream.key`. */
  readonly upstreams: ReadonlyMap<string, UpstreamPlan>;
  /** Renders a google.protobuf.Any from error details (unknown types fall back to base64). */
  readonly renderAny: (typeUrl: string, value: Uint8Array) => DetailJson;
}

export type SnapshotResult =
  | { readonly ok: true; readonly snapshot: Snapshot }
  | { readonly ok: false; readonly problems: readonly LoadProblem[] };

/** Loads protos and mappings and builds the routes. Never throws for bad input; collects every problem. */
export function buildSnapshot(config: Config): SnapshotResult {
  const problems: LoadProblem[] = [];
  let registry: Registry;
  try {
    registry = loadRegistry(config.protos);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    problems.push({ code: err.code, source: err.line === undefined ? err.file : `${err.file}:${err.line}`, rule: undefined, message: err.reason });
    // Mapping errors are still worth reporting even when the protos do not load.
    const { errors } = loadMappings(config.mappings);
    for (const e of errors) problems.push({ code: e.code, source: e.source, rule: e.rule, message: e.message });
    return { ok: false, problems };
  }
  const { mappings, errors: mappingErrors } = loadMappings(config.mappings);
  for (const e of mappingErrors) problems.push({ code: e.code, source: e.source, rule: e.rule, message: e.message });
  const { table, errors } = buildRoutes({ registry, mappings, json: config.json, defaultUpstream: config.upstream, outbound: config.outbound });
  problems.push(...errors);
  const { plans: upstreams, problems: planProblems } = buildUpstreamPlans(table.routes, config.outbound);
  problems.push(...planProblems);
  for (const plan of upstreams.values()) {
    const tls = plan.policy.tls;
    for (const message of tls === undefined ? [] : tlsFileProblems(tls)) {
      problems.push({ code: 'ATTACHE_E_TLS', source: plan.policy.key, rule: plan.selectors[0], message });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const codec = createJsonCodec(registry.root);
  const renderAny = (typeUrl: string, value: Uint8Array): DetailJson =>
    JSON.parse(codec.anyToJson(typeUrl, value, DEFAULT_WRITE_OPTIONS)) as DetailJson;
  return { ok: true, snapshot: Object.freeze({ config, registry, codec, table, upstreams, renderAny }) };
}

/** One line per problem: `source: rule: message [CODE]`. */
export function formatProblem(p: LoadProblem): string {
  return `${p.source}: ${p.rule !== undefined ? `${p.rule}: ` : ''}${p.message} [${p.code}]`;
}
