/**
 * Live reload: re-read the configuration, build and validate a whole new serving snapshot on the side, and
 * swap it in with one assignment. Requests already running keep the snapshot they started with (they read
 * it once); new requests get the new one. An invalid configuration is rejected with every problem logged,
 * counted in /metrics, and the running snapshot keeps serving. Reloads run one at a time: a trigger that
 * comes before a queued reload has started joins it, so a burst of triggers costs one or two reloads.
 *
 * The caller (main.ts) supplies how a snapshot is built and how the previous one is retired (upstreams
 * not carried over are drained and closed after a grace period); this module orders the steps and reports.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { Route, RouteTable } from '../routing/routes.js';

/** A route as the diff compares it: what a request to `METHOD template` would get. */
function routeFacts(r: Route): string {
  return JSON.stringify([
    r.selector,
    `${r.upstream.tls ? 'grpcs://' : ''}${r.upstream.target}`,
    r.deadlineMs ?? null,
    r.body.kind === 'field' ? r.body.path : r.body.kind,
    r.names.responseBody ?? null,
    r.readOptions,
    r.writeOptions,
    r.strictQuery,
    r.policy,
  ]);
}

/** What changed between two route tables, each route named `METHOD template`. */
export interface RouteDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Same method and template, but another method, upstream, deadline, body or JSON/call policy. */
  readonly changed: readonly string[];
}

/** The routes added, removed and changed from `before` to `after`. Pure. */
export function routeDiff(before: RouteTable, after: RouteTable): RouteDiff {
  const index = (t: RouteTable): Map<string, string> => new Map(t.routes.map((r) => [`${r.httpMethod} ${r.template.toString()}`, routeFacts(r)]));
  const a = index(before);
  const b = index(after);
  return {
    added: [...b.keys()].filter((k) => !a.has(k)),
    removed: [...a.keys()].filter((k) => !b.has(k)),
    changed: [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k)),
  };
}

/** Settings a running process cannot change: its listeners, process layout and logging are built once. */
const RESTART_ONLY = ['listen', 'adminListen', 'workers', 'bodyLimitBytes', 'logLevel', 'logFormat', 'telemetry', 'heapGrowthPercent', 'heapTuning', 'drainTimeoutMs', 'watch'] as const;

/** The restart-only settings whose value differs between two configs. */
export function restartOnlyChanges(running: Config, next: Config): string[] {
  return RESTART_ONLY.filter((k) => JSON.stringify(running[k]) !== JSON.stringify(next[k]));
}

/** What a build step returns: the new snapshot, or every problem, one line each. */
export type BuildOutcome<S> = { readonly ok: true; readonly snapshot: S } | { readonly ok: false; readonly problems: readonly string[] };

/** The outcome of one reload. */
export type ReloadOutcome =
  | { readonly ok: true; readonly diff: RouteDiff; readonly keptUpstreams: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

export interface ReloaderOptions<S extends { readonly config: Config; readonly table: RouteTable }> {
  /** The snapshot requests read now. */
  current(): S;
  /** Re-reads flags, env and the config file; the problems are one line each. */
  loadConfig(): { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly problems: readonly string[] };
  /**
   * Builds and validates a whole snapshot, with its upstreams, from `config`; reuses what it can of
   * `previous`. Asynchronous when a source is (descriptors fetched by server reflection).
   */
  build(config: Config, previous: S): BuildOutcome<S> | Promise<BuildOutcome<S>>;
  /** Makes `next` the snapshot new requests read (one assignment), then retires `previous`. */
  swap(next: S, previous: S): { readonly keptUpstreams: readonly string[] };
  readonly logger: Logger;
  /** Counts each reload by result (attache_config_reloads_total). */
  configReload(ok: boolean): void;
}

export interface Reloader {
  /** Reloads now, or after the reload in progress; `trigger` is logged (SIGHUP, watch, …). Never rejects. */
  reload(trigger: string): Promise<ReloadOutcome>;
}

export function createReloader<S extends { readonly config: Config; readonly table: RouteTable }>(o: ReloaderOptions<S>): Reloader {
  let chain: Promise<unknown> = Promise.resolve();
  /** A reload that is queued and not started yet: later triggers join it. */
  let pending: Promise<ReloadOutcome> | undefined;

  const once = async (trigger: string): Promise<ReloadOutcome> => {
    const fail = (problems: readonly string[]): ReloadOutcome => {
      o.configReload(false);
      o.logger.error({ trigger, problems }, `configuration reload rejected (${problems.length} problem(s)); the previous configuration keeps serving:\n  ${problems.join('\n  ')}`);
      return { ok: false, problems };
    };
    const loaded = o.loadConfig();
    if (!loaded.ok) return fail(loaded.problems);
    const previous = o.current();
    const ignored = restartOnlyChanges(previous.config, loaded.config);
    if (ignored.length > 0) o.logger.warn({ trigger, settings: ignored }, 'these settings changed but only take effect on a restart; the running values stay');
    const running = Object.fromEntries(RESTART_ONLY.map((k) => [k, previous.config[k]]));
    const config = Object.freeze({ ...loaded.config, ...running }) as Config;
    let built: BuildOutcome<S>;
    const startedAt = performance.now();
    try {
      built = await o.build(config, previous);
    } catch (err) {
      return fail([err instanceof Error ? err.message : String(err)]);
    }
    if (!built.ok) return fail(built.problems);
    const { keptUpstreams } = o.swap(built.snapshot, previous);
    const diff = routeDiff(previous.table, built.snapshot.table);
    o.configReload(true);
    // The build runs on the event loop, so requests wait for it: worth seeing when the protos are large.
    const buildMs = Math.round((performance.now() - startedAt) * 10) / 10;
    o.logger.info({ trigger, routes: built.snapshot.table.routes.length, buildMs, ...diff, keptUpstreams }, 'configuration reloaded');
    return { ok: true, diff, keptUpstreams };
  };

  return {
    reload(trigger) {
      if (pending !== undefined) return pending;
      const next = chain.then(async (): Promise<ReloadOutcome> => {
        pending = undefined;
        try {
          return await once(trigger);
        } catch (err) {
          // A bug, not a bad configuration; the running snapshot stays, and later reloads still run.
          o.configReload(false);
          o.logger.error({ trigger, err }, 'configuration reload failed; the previous configuration keeps serving');
          return { ok: false, problems: [err instanceof Error ? err.message : String(err)] };
        }
      });
      pending = next;
      chain = next;
      return next;
    },
  };
}
