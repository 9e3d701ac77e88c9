/**
 * The composition root: builds the snapshot, the upstream clients, both Fastify instances and the
 * logger, and owns the drain sequence. Only this file and cli.ts construct servers, channels or loggers.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config/load.js';
import { startDemoBackend, type DemoBackend } from './demo/backend.js';
import { errorAnswer, type PipelineContext } from './http/pipeline.js';
import { transcoderPlugin } from './http/plugin.js';
import { createAdminServer } from './ops/admin.js';
import { createLifecycle, type Lifecycle } from './ops/lifecycle.js';
import { buildSnapshot, formatProblem, type LoadProblem, type Snapshot } from './snapshot.js';
import { toStatus } from './status/status.js';
import type { RunningCall } from './upstream/call.js';
import { createUpstreams } from './upstream/channels.js';
import { createReadiness } from './upstream/health.js';
import { requestIdFrom } from './upstream/metadata.js';

/** The repo's own folder (dist/.. or src/..), where the demo's protos/ and mappings/ live. */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
  readonly snapshot: Snapshot;
  /** The demo backend's target when running with --demo. */
  readonly demoTarget: string | undefined;
  /** Drains and stops: readiness 503, stop accepting, finish in-flight calls up to the drain timeout,
   *  cancel the rest, close channels and listeners. Idempotent. */
  stop(): Promise<void>;
}

/** Creates the logger from config. pino writes JSON lines to stdout. */
export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'attache' },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  });
}

/** The demo's defaults: the repo's own protos/ and mappings/ and an embedded backend. */
async function withDemo(config: Config): Promise<{ config: Config; demo: DemoBackend | undefined }> {
  if (!config.demo) return { config, demo: undefined };
  const demo = await startDemoBackend({ protosDir: path.join(PACKAGE_DIR, 'protos'), host: '127.0.0.1', port: 0 });
  return { config: Object.freeze({ ...config, upstream: demo.target }), demo };
}

/** Starts attache. @throws StartupError when the configuration does not load. */
export async function start(initial: Config, logger: Logger = createLogger(initial)): Promise<Running> {
  const lifecycle = createLifecycle();
  const { config, demo } = await withDemo(initial);
  const built = buildSnapshot(config);
  if (!built.ok) {
    await demo?.close();
    throw new StartupError(built.problems);
  }
  const snapshot = built.snapshot;
  const upstreams = createUpstreams(snapshot.upstreams, config.outbound, {
    tlsRotated: (key) => logger.info({ upstream: key }, 'upstream certificates changed; new calls use them'),
    tlsError: (key, err) => logger.warn({ upstream: key, err }, 'upstream certificate files changed but cannot be used; keeping the previous ones'),
  });
  const readiness = createReadiness(upstreams, { policy: config.outbound.readiness, intervalMs: config.outbound.healthIntervalMs, service: config.outbound.healthService });
  const inflight = new Set<RunningCall>();
  const ctx: PipelineContext = {
    snapshot: () => snapshot,
    upstreams,
    draining: () => lifecycle.phase() !== 'ready',
    inflight,
  };

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One access-log line per request is written by attache itself, not by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    exposeHeadRoutes: false,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    genReqId: (raw) => requestIdFrom(raw.headers),
    // Fastify's own routing failures (a URL it cannot decode…) also go through the one error writer.
    frameworkErrors: (error, request, reply) => {
      const answer = errorAnswer(toStatus(error), request.id ?? requestIdFrom(request.headers));
      void (reply as FastifyReply).code(answer.status).headers(answer.headers).send(answer.body);
    },
  });
  await app.register(transcoderPlugin, { ctx, bodyLimitBytes: config.bodyLimitBytes });
  const admin = createAdminServer(lifecycle, readiness.report);

  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
    await admin.listen({ host: config.adminListen.host, port: config.adminListen.port });
  } catch (err) {
    await Promise.allSettled([app.close(), admin.close()]);
    readiness.close();
    upstreams.close();
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
      protos: config.protos,
      mappings: config.mappings,
      upstream: config.upstream,
      defaultDeadlineMs: config.defaultDeadlineMs,
      bodyLimitBytes: config.bodyLimitBytes,
      json: config.json,
      demo: demo !== undefined,
    },
    'attache ready',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= drain({ app, admin, lifecycle, inflight, drainTimeoutMs: config.drainTimeoutMs, logger }).finally(async () => {
      readiness.close();
      upstreams.close();
      await demo?.close();
      lifecycle.advance('stopped');
    });
    return stopping;
  };
  return { port, adminPort, lifecycle, snapshot, demoTarget: demo?.target, stop };
}

function portOf(app: FastifyInstance): number {
  const addr = app.server.address();
  return addr !== null && typeof addr === 'object' ? addr.port : 0;
}

/** SIGTERM sequence: readiness 503 → stop accepting → wait for in-flight up to the grace period → cancel the rest. */
async function drain(d: {
  app: FastifyInstance;
  admin: FastifyInstance;
  lifecycle: Lifecycle;
  inflight: Set<RunningCall>;
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
    for (const c of d.inflight) c.cancel();
    d.app.server.closeAllConnections();
    await closed;
  }
  await d.admin.close();
  d.logger.info('stopped');
}
