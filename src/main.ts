/**
 * The composition root: builds the snapshot, the upstream clients, both Fastify instances and the
 * logger, and owns the drain sequence. Only this file and cli.ts construct servers, channels or loggers.
 */
import path from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config, LoadResult } from './config/load.js';
import type { DemoBackend } from './demo/backend.js';
import { errorAnswer, type PipelineContext } from './http/pipeline.js';
import { guardServer, serverOptions } from './http/limits.js';
import { installLeanPath } from './http/lean.js';
import { clientErrorHandler, transcoderPlugin, write, writeRaw } from './http/plugin.js';
import { NO_SCHEMA_COMPILERS } from './http/schema-compilers.js';
import { createAdminServer, type ApiDocsSource } from './ops/admin.js';
import { dataListenerUrl, documentOf, renderDocument, withServer } from './openapi/serve.js';
import { createLifecycle, type Lifecycle } from './ops/lifecycle.js';
import type { HeapSettings } from './ops/heap-settings.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { createReloader, type ReloadOutcome } from './ops/reload.js';
import { watchPaths, type Watcher } from './ops/watch.js';
import { createAttemptSpans } from './telemetry/attempt-spans.js';
import { createTelemetry } from './telemetry/exchange.js';
import { loggerOptions, prettyStream } from './telemetry/logging.js';
import { createTracing, type TracingOverrides } from './telemetry/tracing.js';
import { loadSnapshot } from './load-snapshot.js';
import { formatProblem, type LoadProblem, type ServingSnapshot, type Snapshot } from './snapshot.js';
import { toStatus } from './status/status.js';
import { SlotSet } from './collections/slot-set.js';
import type { RunningCall } from './upstream/call.js';
import { createUpstreams, type Upstreams } from './upstream/channels.js';
import type { UpstreamPlan } from './upstream/service-config.js';
import { createReadiness } from './upstream/health.js';
import { requestIdFrom } from './upstream/metadata.js';
import { PACKAGE_DIR, PACKAGE_VERSION } from './package-dir.js';

/** Start-up failed: the problems are listed, as `--check` would print them. */
export class StartupError extends Error {
  readonly code = 'ATTACHE_E_STARTUP';
  constructor(readonly problems: readonly LoadProblem[]) {
    super(`attache cannot start:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.name = 'StartupError';
  }
}

/** A running attache. */
export interface Running {
  /** The bound REST port (useful with port 0). */
  readonly port: number;
  readonly adminPort: number;
  readonly lifecycle: Lifecycle;
  /** The snapshot new requests get now (a reload replaces it). */
  readonly snapshot: ServingSnapshot;
  /** This instance's metrics (also served on the admin listener's /metrics). */
  readonly metrics: Metrics;
  /** The demo backend's target when running with --demo. */
  readonly demoTarget: string | undefined;
  /**
   * Reloads protos, mappings and the configuration (SIGHUP, --watch): builds and validates a new snapshot
   * and swaps it in, or rejects it and keeps the running one. Never rejects; `trigger` is logged.
   */
  reload(trigger?: string): Promise<ReloadOutcome>;
  /** Drains and stops: readiness 503, stop accepting, finish in-flight calls up to the drain timeout,
   *  cancel the rest, close channels and listeners. Idempotent. */
  stop(): Promise<void>;
}

/** Creates the logger from config: JSON lines on stdout; readable lines in the demo (or with --log-format pretty). */
export function createLogger(config: Config): Logger {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && config.demo);
  return pretty ? pino(loggerOptions(config), prettyStream(process.stdout)) : pino(loggerOptions(config));
}

/** Options that only tests and embedders set. */
export interface StartOptions {
  /** Tracing overrides, e.g. an in-memory span exporter instead of the OTEL_TRACES_EXPORTER ones. */
  readonly tracing?: TracingOverrides;
  /** The environment upstream credentials read client secrets from (and proxy variables); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Reads the configuration again for a reload (cli.ts: the same flags, env and config file). Default: the
   * start-up configuration, so a reload re-reads the protos and mapping files only.
   */
  readonly reloadConfig?: () => LoadResult;
  /** The heap settings in force (src/ops/heap-settings-taken.ts), shown by `/metrics`; cli.ts passes them. */
  readonly heapSettings?: HeapSettings;
  /**
   * Whether plain unary GETs are served by the lean path in front of Fastify (src/http/lean.ts); default
   * true. Off only to compare the two paths (test/e2e/lean-path.test.ts, bench/micro-request.mjs).
   */
  readonly leanPath?: boolean;
}

/** The demo's defaults: the repo's own protos/ and mappings/ and an embedded backend. */
async function withDemo(config: Config): Promise<{ config: Config; demo: DemoBackend | undefined }> {
  if (!config.demo) return { config, demo: undefined };
  // Imported only for --demo: the backend pulls in @grpc/proto-loader and the demo's code, which a
  // production process would otherwise keep resident for nothing (bench/RESULTS.md §5).
  const { startDemoBackend } = await import('./demo/backend.js');
  const demo = await startDemoBackend({ protosDir: path.join(PACKAGE_DIR, 'protos'), host: '127.0.0.1', port: 0 });
  return { config: Object.freeze({ ...config, upstream: demo.target }), demo };
}

/** Starts attache. @throws StartupError when the configuration does not load. */
export async function start(initial: Config, logger: Logger = createLogger(initial), options: StartOptions = {}): Promise<Running> {
  const lifecycle = createLifecycle();
  const { config, demo } = await withDemo(initial);
  const env = options.env ?? process.env;
  const built = await loadSnapshot(config, env);
  if (!built.ok) {
    await demo?.close();
    throw new StartupError(built.problems);
  }
  const snapshot = built.snapshot;
  const tracing = await createTracing(config.telemetry, PACKAGE_VERSION, options.tracing);
  // Undefined unless spans are recorded: then lean wires report attempts to its observer, and each grpc-js
  // channel's load-balancing policy is wrapped to see them.
  const attempts = createAttemptSpans(tracing);
  const metrics = createMetrics({ channels: () => upstreams.states(), heapSettings: options.heapSettings });
  // Labelled as the other upstream metrics are: the target, `grpcs://` only for TLS.
  const metricsUpstream = (key: string): string => (key.startsWith('grpc://') ? key.slice('grpc://'.length) : key);
  const makeUpstreams = (plans: ReadonlyMap<string, UpstreamPlan>, settings: Config['outbound'], carryOver?: Upstreams): Promise<Upstreams> =>
    createUpstreams(attempts?.wrapPlans(plans) ?? plans, settings, {
      events: {
        tlsRotated: (key) => logger.info({ upstream: key }, 'upstream certificates changed; new calls use them'),
        tlsError: (key, err) => logger.warn({ upstream: key, err }, 'upstream certificate files changed but cannot be used; keeping the previous ones'),
        // Never the token or the secret: the source's name (a file path, a token URL and client id) only.
        credentialsChanged: (key, source, expiresInS) => {
          metrics.credentialRefresh(metricsUpstream(key), true);
          logger.info({ upstream: key, source, expiresInS }, 'upstream credential updated; new calls use it');
        },
        credentialsFailed: (key, source, message) => {
          metrics.credentialRefresh(metricsUpstream(key), false);
          logger.warn({ upstream: key, source, reason: message }, 'upstream credential unavailable');
        },
      },
      observer: attempts?.observer,
      env,
      userAgent: `attache/${PACKAGE_VERSION} grpc-node-h2`,
      carryOver,
    });
  // The one mutable cell of the data plane: every request reads it once; a reload assigns it once.
  let live: ServingSnapshot;
  try {
    live = Object.freeze({ ...snapshot, channels: await makeUpstreams(snapshot.upstreams, config.outbound) });
  } catch (err) {
    attempts?.close();
    await tracing.shutdown();
    throw err;
  }
  // The current snapshot's upstreams, for what outlives a snapshot: readiness, /metrics, the drain. A request
  // uses its own snapshot's `channels`; a lookup here of an upstream a reload retired (code that read the
  // snapshot before the reload) finds it among those still draining.
  const upstreams: Upstreams = {
    get: (key) => live.channels.get(key) ?? [...retiring].map((r) => r.upstreams.get(key)).find((u) => u !== undefined),
    list: () => live.channels.list(),
    states: () => live.channels.states(),
    close: () => live.channels.close(),
    closeExcept: (keep) => live.channels.closeExcept(keep),
  };
  const readiness = createReadiness(upstreams, { policy: config.outbound.readiness, intervalMs: config.outbound.healthIntervalMs, service: config.outbound.healthService });
  const inflight = new SlotSet<RunningCall>();
  const ctx: PipelineContext = {
    snapshot: () => live,
    upstreams,
    draining: () => lifecycle.phase() !== 'ready',
    inflight,
    telemetry: createTelemetry(tracing, metrics, logger, attempts),
  };

  const limits = { ...config.limits, bodyLimitBytes: config.bodyLimitBytes };
  const app = Fastify({
    ...serverOptions(limits),
    loggerInstance: logger as FastifyBaseLogger,
    // One access-log line per request is written by attache itself, not by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    exposeHeadRoutes: false,
    schemaController: NO_SCHEMA_COMPILERS,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    genReqId: (raw) => requestIdFrom(raw.headers),
    // Requests Node's HTTP parser rejects, and Fastify's own routing failures (a URL it cannot decode…),
    // are answered in the same Status shape as every other error.
    clientErrorHandler,
    frameworkErrors: (error, request, reply) => {
      const answer = errorAnswer(toStatus(error), request.id ?? requestIdFrom(request.headers));
      write(reply as FastifyReply, answer, false);
    },
  });
  guardServer(app.server, limits, { answer: (status) => errorAnswer(status, requestIdFrom({})), writeRaw });
  installLeanPath(app.server, { ctx, limits, logger, enabled: options.leanPath ?? true });
  // The API reference page on the admin listener calls the data listener at the same host name (its
  // OpenAPI `servers`), so that one origin is allowed by CORS without configuration.
  const docsOrigin = (origin: string, host: string | undefined): boolean => origin === `http://${hostNameOf(host)}:${portOf(admin)}`;
  await app.register(transcoderPlugin, { ctx, bodyLimitBytes: config.bodyLimitBytes, limits, docsOrigin });
  const dataUrl = (host: string | undefined): string => dataListenerUrl(host, portOf(app), browsableHost(config.listen.host));
  const api: ApiDocsSource = {
    render: (format, host) => renderDocument(documentOf(ctx.snapshot(), PACKAGE_VERSION), dataUrl(host), format),
    document: (host) => withServer(documentOf(ctx.snapshot(), PACKAGE_VERSION), dataUrl(host)),
  };
  const admin = createAdminServer(lifecycle, metrics, readiness.report, api);

  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
    await admin.listen({ host: config.adminListen.host, port: config.adminListen.port });
  } catch (err) {
    await Promise.allSettled([app.close(), admin.close()]);
    readiness.close();
    live.channels.close();
    attempts?.close();
    await tracing.shutdown();
    await demo?.close();
    throw err;
  }
  lifecycle.advance('ready');
  const port = portOf(app);
  const adminPort = portOf(admin);
  logger.info(
    {
      listen: `${config.listen.host}:${port}`,
      adminListen: `${config.adminListen.host}:${adminPort}`,
      routes: snapshot.table.routes.length,
      watch: config.watch,
      protos: config.protos,
      mappings: config.mappings,
      upstream: config.upstream,
      defaultDeadlineMs: config.defaultDeadlineMs,
      bodyLimitBytes: config.bodyLimitBytes,
      json: config.json,
      demo: demo !== undefined,
      // No secret is in Config: OTLP endpoint headers stay in OTEL_EXPORTER_OTLP_HEADERS, read by the exporter.
      telemetry: {
        ...config.telemetry,
        tracesExporter: tracing.recording ? config.telemetry.tracesExporter : ['none'],
        propagators: config.telemetry.propagators ?? 'default: read tracecontext, baggage, b3, X-B3-*; write tracecontext, baggage, X-B3-*',
      },
    },
    'attache ready',
  );

  // Upstreams a reload stopped using: closed after the drain timeout, so the calls of requests still on
  // the previous snapshot can finish; at stop, whatever is left is closed once the drain is over.
  const retiring = new Set<{ readonly timer: NodeJS.Timeout; readonly upstreams: Upstreams; readonly close: () => void }>();
  const reloader = createReloader<ServingSnapshot>({
    current: () => live,
    loadConfig() {
      const loaded = options.reloadConfig?.() ?? { ok: true, config: initial };
      if (!loaded.ok) return { ok: false, problems: loaded.errors.map((e) => e.toString()) };
      // As withDemo: the demo's upstream is its embedded backend, which keeps running.
      return { ok: true, config: demo !== undefined ? Object.freeze({ ...loaded.config, upstream: demo.target }) : loaded.config };
    },
    async build(next, previous) {
      // Through loadSnapshot, so --reflection fetches the upstream's descriptors again.
      const built = await loadSnapshot(next, env);
      if (!built.ok) return { ok: false, problems: built.problems.map(formatProblem) };
      return { ok: true, snapshot: Object.freeze({ ...built.snapshot, channels: await makeUpstreams(built.snapshot.upstreams, next.outbound, previous.channels) }) };
    },
    swap(next, previous) {
      live = next;
      const keep = new Set(next.channels.list());
      const dropped = previous.channels.list().filter((u) => !keep.has(u));
      if (dropped.length > 0) {
        logger.info({ upstreams: dropped.map((u) => u.key), closeInMs: config.drainTimeoutMs }, 'upstreams no longer used; closing them once their calls have had the drain timeout to finish');
        const entry = {
          timer: setTimeout(() => {
            retiring.delete(entry);
            previous.channels.closeExcept(keep);
          }, config.drainTimeoutMs),
          upstreams: previous.channels,
          close: () => previous.channels.closeExcept(keep),
        };
        entry.timer.unref();
        retiring.add(entry);
      }
      return { keptUpstreams: previous.channels.list().filter((u) => keep.has(u)).map((u) => u.key) };
    },
    logger,
    configReload: (ok) => metrics.configReload(ok),
  });
  const reload = async (trigger = 'reload'): Promise<ReloadOutcome> => {
    if (lifecycle.phase() !== 'ready') {
      logger.warn({ trigger, phase: lifecycle.phase() }, 'reload ignored: attache is not serving');
      return { ok: false, problems: [`attache is ${lifecycle.phase()}`] };
    }
    return reloader.reload(trigger);
  };
  const watcher: Watcher | undefined = config.watch
    ? watchPaths({
        paths: () => [...live.config.protos, ...live.config.mappings, ...(live.config.configFile !== undefined ? [live.config.configFile] : [])],
        onChange: () => reload('watch'),
        logger,
      })
    : undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    watcher?.close();
    stopping ??= drain({ app, admin, lifecycle, inflight, upstreams, drainTimeoutMs: config.drainTimeoutMs, logger }).finally(async () => {
      readiness.close();
      for (const r of retiring) {
        clearTimeout(r.timer);
        r.close();
      }
      retiring.clear();
      live.channels.close();
      attempts?.close();
      await tracing.shutdown();
      await demo?.close();
      lifecycle.advance('stopped');
    });
    return stopping;
  };
  return {
    port,
    adminPort,
    lifecycle,
    get snapshot() {
      return live;
    },
    metrics,
    demoTarget: demo?.target,
    reload,
    stop,
  };
}

/** The host name of a Host header (`localhost:8080` → `localhost`, `[::1]:8080` → `[::1]`). */
function hostNameOf(host: string | undefined): string {
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(host ?? '');
  return m === null ? '' : m[1]!;
}

/** A host a browser can reach a listener at: the loopback address for a wildcard one. */
function browsableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

function portOf(app: FastifyInstance): number {
  const addr = app.server.address();
  return addr !== null && typeof addr === 'object' ? addr.port : 0;
}

/** How long requests whose calls the drain cancelled get to write their answer before sockets are cut. */
const CANCELLED_ANSWER_GRACE_MS = 100;

/** Resolves when `p` settles or after `ms`, whichever comes first; the timer is cleared either way. */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  await Promise.race([p.then(() => undefined, () => undefined), elapsed]);
  clearTimeout(timer);
}

/** SIGTERM sequence: readiness 503 → stop accepting → wait for in-flight up to the grace period → cancel the rest. */
async function drain(d: {
  app: FastifyInstance;
  admin: FastifyInstance;
  lifecycle: Lifecycle;
  inflight: SlotSet<RunningCall>;
  upstreams: Upstreams;
  drainTimeoutMs: number;
  logger: Logger;
}): Promise<void> {
  d.lifecycle.advance('draining');
  d.logger.info({ inflight: d.inflight.size, drainTimeoutMs: d.drainTimeoutMs }, 'draining');
  const closed = d.app.close();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), d.drainTimeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    d.logger.warn({ cancelled: d.inflight.size }, 'drain timeout: cancelling the calls still in flight');
    for (const c of d.inflight.values()) c.cancel();
    // Calls still waiting for a bulkhead slot have not started; they are refused like the cancelled ones.
    for (const u of d.upstreams.list()) u.guard.bulkhead.rejectQueued();
    // Cancelled calls end at once and their requests answer 503 with `Connection: close` (pipeline.ts), which
    // lets `closed` resolve; only a connection that still has not finished after a short grace is cut off.
    await settleWithin(closed, CANCELLED_ANSWER_GRACE_MS);
    d.app.server.closeAllConnections();
    await closed;
  }
  await d.admin.close();
  d.logger.info('stopped');
}
