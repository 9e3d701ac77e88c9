/**
 * The admin listener: a separate Fastify instance (it shares no plugins with the data plane) serving
 * liveness and readiness. It reads the lifecycle state only; it never imports the transcoder.
 *
 * It usually listens on the pod IP (the kubelet's probes and the metrics scraper connect there), so it is
 * the part of attache other pods can reach (SECURITY.md): it takes no request body (no content-type parser:
 * a body is refused before it is read), and its errors are google.rpc.Status bodies like the data plane's,
 * without Fastify's error codes.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { NO_SCHEMA_COMPILERS } from '../http/schema-compilers.js';
import { httpStatusOf } from '../status/http.js';
import { Code, RpcStatus, toStatus } from '../status/status.js';
import { statusToJson } from '../status/wire.js';
import type { Lifecycle } from './lifecycle.js';
import type { Metrics } from './metrics.js';
import { registerDocs } from './docs.js';

/** Upstream readiness per the `--readiness` policy (src/upstream/health.ts); absent means ignored. */
export type UpstreamReadinessProbe = () => { readonly ready: boolean; readonly upstreams: Readonly<Record<string, string>> };

/** The current OpenAPI document, rendered for a client that reached the admin listener with `host`. */
export interface ApiDocsSource {
  render(format: 'json' | 'yaml', host: string | undefined): string;
  /** The same document as an object (for the /docs page). */
  document(host: string | undefined): Record<string, unknown>;
}

/**
 * Builds (does not start) the admin server. `/metrics` is served when `metrics` is given; `/openapi.json`,
 * `/openapi.yaml` and the `/docs` page when `api` is.
 */
export function createAdminServer(lifecycle: Lifecycle, metrics?: Metrics, upstreams?: UpstreamReadinessProbe, api?: ApiDocsSource): FastifyInstance {
  const answer = (reply: FastifyReply, status: RpcStatus): FastifyReply =>
    reply.code(httpStatusOf(status)).header('content-type', 'application/json').send(statusToJson(status));
  const admin = Fastify({
    logger: false,
    exposeHeadRoutes: true,
    schemaController: NO_SCHEMA_COMPILERS,
    frameworkErrors: (err, _req, reply) => answer(reply, toStatus(err)),
  });
  admin.removeAllContentTypeParsers();
  admin.setNotFoundHandler((req, reply) =>
    answer(reply, new RpcStatus(Code.NOT_FOUND, `no admin endpoint ${req.method} ${(req.raw.url ?? '/').split('?')[0]}`)),
  );
  admin.setErrorHandler((err, _req, reply) => answer(reply, toStatus(err)));
  // Liveness: 200 while the process can answer at all.
  admin.get('/healthz', async (_req, reply) => reply.code(200).send({ status: 'ok' }));
  // Readiness: 200 once routes are loaded and both listeners are bound; 503 from the moment a drain starts.
  admin.get('/readyz', async (_req, reply) => {
    const phase = lifecycle.phase();
    const up = upstreams?.();
    if (up === undefined || Object.keys(up.upstreams).length === 0) return reply.code(phase === 'ready' ? 200 : 503).send({ status: phase });
    const ready = phase === 'ready' && up.ready;
    return reply.code(ready ? 200 : 503).send({ status: phase === 'ready' && !up.ready ? 'waiting for upstreams' : phase, upstreams: up.upstreams });
  });
  // Prometheus text exposition format (version 0.0.4), every metric declared in metrics.ts.
  if (metrics !== undefined) {
    admin.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics.exposition();
      return reply.code(200).header('content-type', contentType).send(body);
    });
  }
  if (api !== undefined) {
    admin.get('/openapi.json', async (req, reply) => reply.code(200).header('content-type', 'application/json').send(api.render('json', req.headers.host)));
    admin.get('/openapi.yaml', async (req, reply) => reply.code(200).header('content-type', 'application/yaml').send(api.render('yaml', req.headers.host)));
    registerDocs(admin, (host) => api.document(host));
  }
  return admin;
}
