/**
 * The lean path: a plain `node:http` request listener in front of Fastify that serves the commonest request
 * itself — a GET that a unary route matches, with no Origin header, no body and nothing unusual about its
 * URL — and hands every other request to Fastify unchanged. Why: Fastify's per-request machinery (routing
 * the catch-all route, the hook chain, @fastify/cors working out its options again for every request, the
 * Request/Reply objects and a child logger, the reply's send path) was ~8% of a GET's CPU on this path
 * (bench/RESULTS.md §15), for a request whose answer is already finished JSON text.
 *
 * The answer is the one Fastify writes, byte for byte: the same pipeline (handleRequest), the same request id
 * (genReqId is requestIdFrom), the same headers in the same order — `vary: Origin` first, as @fastify/cors's
 * onRequest hook adds it to every response, then the answer's headers, then `content-length` — and the same
 * `connection: close` while draining. Anything the lean path cannot answer the same way (an Origin, which
 * CORS decides; a path with a percent sign, which find-my-way may refuse before routing; a URL over the
 * limits; a route miss, a stream route or a 405; a body; an upgrade; a drain) goes to Fastify.
 */
import type http from 'node:http';
import type { Logger } from 'pino';
import { Code, RpcStatus, toStatus } from '../status/status.js';
import { requestIdFrom } from '../upstream/metadata.js';
import { isClientAbort, tooLong, type HttpLimits } from './limits.js';
import { errorAnswer, handleRequest, type HttpAnswer, type PipelineContext } from './pipeline.js';

type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface LeanPathOptions {
  readonly ctx: PipelineContext;
  readonly limits: HttpLimits;
  /** The data plane's logger: the lean path's "unexpected error" line carries the request id, as Fastify's child logger's does. */
  readonly logger: Logger;
  /** Whether the lean path serves anything (false: every request goes to `next`). */
  readonly enabled: boolean;
}

/**
 * Puts the lean path in front of `server`'s existing request listeners (Fastify's), which keep serving
 * every request the lean path does not take. Call once, after Fastify created the server.
 */
export function installLeanPath(server: http.Server, opts: LeanPathOptions): void {
  if (!opts.enabled) return;
  const existing = server.listeners('request') as RequestListener[];
  if (existing.length !== 1) throw new Error(`the lean path expects one request listener (Fastify's), found ${existing.length}`);
  const next = existing[0]!;
  server.removeListener('request', next);
  server.on('request', leanListener(opts, next));
}

/** The request listener: the lean path for the requests it takes, `next` (Fastify) for the rest. */
export function leanListener(opts: LeanPathOptions, next: RequestListener): RequestListener {
  const { ctx, limits, logger } = opts;
  return (req, res) => {
    if (!takes(req, ctx, limits)) {
      next(req, res);
      return;
    }
    const requestId = requestIdFrom(req.headers);
    handleRequest(ctx, { method: 'GET', url: req.url!, headers: req.headers, body: undefined, requestId, res }).then(
      (answer) => writeAnswer(res, answer, ctx.draining()),
      (err: unknown) => {
        // As the plugin's error handler: handleRequest already recorded the exchange (THREW).
        const status = isClientAbort(err, req)
          ? new RpcStatus(Code.CANCELLED, 'the client closed the connection before the request was complete', [], { cause: err })
          : toStatus(err, { bodyLimit: limits.bodyLimitBytes });
        if (status.code === Code.INTERNAL) logger.child({ reqId: requestId }).error({ err }, 'unexpected error on the request path');
        writeAnswer(res, errorAnswer(status, requestId), ctx.draining());
      },
    );
  };
}

/** Whether the lean path answers `req` exactly as Fastify would (module doc). Exported for tests. */
export function takes(req: Pick<http.IncomingMessage, 'method' | 'url' | 'headers'>, ctx: Pick<PipelineContext, 'snapshot' | 'draining'>, limits: HttpLimits): boolean {
  if (req.method !== 'GET') return false;
  const h = req.headers;
  if (h.origin !== undefined || h.upgrade !== undefined || h['transfer-encoding'] !== undefined) return false;
  if (h['content-length'] !== undefined && h['content-length'] !== '0') return false;
  const url = req.url;
  if (url === undefined || url.charCodeAt(0) !== 0x2f /* '/' */) return false;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path.includes('%') || tooLong(url, limits) !== undefined || ctx.draining()) return false;
  const found = ctx.snapshot().table.matcher.lookup('GET', path);
  return found.kind === 'match' && found.value.kind === 'unary';
}

/** The headers every Fastify-written data-plane response starts with (@fastify/cors, dynamic options). */
const VARY_ORIGIN = 'Origin';

/** Writes `answer` as the plugin's `write` through Fastify's reply does (same status, headers and order). */
function writeAnswer(res: http.ServerResponse, answer: HttpAnswer, draining: boolean): void {
  if (res.writableEnded || res.headersSent) return;
  const headers: Record<string, string | string[]> = { vary: VARY_ORIGIN };
  const own = answer.headers;
  for (const k in own) headers[k] = own[k]!;
  if (draining) headers['connection'] = 'close';
  headers['content-length'] = String(Buffer.byteLength(answer.body));
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}
