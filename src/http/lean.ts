/**
 * The lean path: a plain `node:http` request listener in front of Fastify that serves the commonest requests
 * itself — a unary route's GET with no body, or its POST/PUT/PATCH/DELETE with a JSON body of known length
 * (or none), with no Origin header and nothing unusual about the URL — and hands every other request to
 * Fastify unchanged. Why: Fastify's per-request machinery (routing the catch-all route, the hook chain,
 * @fastify/cors working out its options again for every request, the Request/Reply objects and a child
 * logger, the content-type parser, the reply's send path) was 8–9% of a request's CPU on this path
 * (bench/RESULTS.md §15), for requests whose answer is finished JSON text.
 *
 * The answer is the one Fastify writes, byte for byte: the same pipeline (handleRequest), the same request id
 * (genReqId is requestIdFrom), the same body text (the bytes read whole, decoded once as UTF-8, as Fastify's
 * string parser does), the same headers in the same order — `vary: Origin` first, as @fastify/cors's
 * onRequest hook adds it to every response, then the answer's headers, then `content-length` — and the same
 * `connection: close` while draining. Anything the lean path cannot answer the same way goes to Fastify: an
 * Origin (CORS decides), a path with a percent sign (find-my-way may refuse it before routing), a URL over
 * the limits, a route miss, a stream route or a 405, a body of unknown length or over the limit, any content
 * type but `application/json`, `Expect`, an upgrade, a drain.
 */
import type http from 'node:http';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Code, RpcStatus, toStatus } from '../status/status.js';
import { recordAnswer } from '../telemetry/exchange.js';
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
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string, body: string | undefined): void => {
    handleRequest(ctx, { method: req.method!, url: req.url!, headers: req.headers, body, requestId, res }).then(
      (a) => writeAnswer(res, a, ctx.draining(), logger),
      (err: unknown) => {
        // As the plugin's error handler: handleRequest already recorded the exchange (THREW).
        const status = errorStatus(err, req, limits);
        if (status.code === Code.INTERNAL) logger.child({ reqId: requestId }).error({ err }, 'unexpected error on the request path');
        writeAnswer(res, errorAnswer(status, requestId), ctx.draining(), logger);
      },
    );
  };
  return (req, res) => {
    let body: ReturnType<typeof takes>;
    try {
      body = takes(req, ctx, limits);
    } catch {
      // Never expected (the route lookup does not throw); Fastify then answers as it always did.
      body = false;
    }
    if (body === false) {
      next(req, res);
      return;
    }
    const requestId = requestIdFrom(req.headers);
    if (body === 'none') {
      answer(req, res, requestId, undefined);
      return;
    }
    // The body is read whole (its length is known and within the limit) and decoded once, as Fastify's
    // `parseAs: 'string'` parser does. A client that goes away meanwhile gets what Fastify's error handler
    // gives it: CANCELLED, recorded once.
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
    };
    const onEnd = (err?: unknown): void => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onEnd);
      if (err != null) {
        const a = errorAnswer(errorStatus(err, req, limits), requestId);
        recordAnswer(ctx.telemetry, { method: req.method!, url: req.url!, headers: req.headers, requestId, body: undefined }, a);
        writeAnswer(res, a, ctx.draining(), logger);
        return;
      }
      answer(req, res, requestId, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, length).toString('utf8'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onEnd);
  };
}

/** The status of a request that failed outside the pipeline's answers, as the plugin's error handler words it. */
function errorStatus(err: unknown, req: http.IncomingMessage, limits: HttpLimits): RpcStatus {
  return isClientAbort(err, req)
    ? new RpcStatus(Code.CANCELLED, 'the client closed the connection before the request was complete', [], { cause: err })
    : toStatus(err, { bodyLimit: limits.bodyLimitBytes });
}

/** Methods whose body Fastify reads with the data plane's string parser (OPTIONS belongs to CORS). */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A Content-Length Fastify and the lean path read the same way: digits only. */
const DIGITS = /^\d{1,15}$/;

/**
 * Whether the lean path answers `req` exactly as Fastify would (module doc): false if not, else whether it
 * has a body to read ('json') or none ('none'). Exported for tests.
 */
export function takes(
  req: Pick<http.IncomingMessage, 'method' | 'url' | 'headers'>,
  ctx: Pick<PipelineContext, 'snapshot' | 'draining'>,
  limits: HttpLimits,
): false | 'none' | 'json' {
  const method = req.method;
  const h = req.headers;
  if (h.origin !== undefined || h.upgrade !== undefined || h['transfer-encoding'] !== undefined || h.expect !== undefined) return false;
  const cl = h['content-length'];
  const type = h['content-type'];
  let body: 'none' | 'json';
  if (method === 'GET') {
    if (cl !== undefined && cl !== '0') return false;
    body = 'none';
  } else if (method !== undefined && BODY_METHODS.has(method)) {
    // Fastify: no content type and no body → no body; a JSON body of a stated length → its text.
    if (type === undefined && (cl === undefined || cl === '0')) body = 'none';
    else if (type === 'application/json' && cl !== undefined && DIGITS.test(cl) && Number(cl) <= limits.bodyLimitBytes) body = 'json';
    else return false;
  } else {
    return false;
  }
  const url = req.url;
  if (url === undefined || url.charCodeAt(0) !== 0x2f /* '/' */) return false;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path.includes('%') || tooLong(url, limits) !== undefined || ctx.draining()) return false;
  const found = ctx.snapshot().table.matcher.lookup(method, path);
  return found.kind === 'match' && found.value.kind === 'unary' ? body : false;
}

/** The headers every Fastify-written data-plane response starts with (@fastify/cors, dynamic options). */
const VARY_ORIGIN = 'Origin';

/**
 * Writes `answer` as the plugin's `write` through Fastify's reply does (same status, headers and order; a
 * large body's Buffers streamed with backpressure, as Fastify streams the Readable the plugin gives it).
 * Never throws: should writeHead refuse the answer (not expected: header names and values are checked where
 * they are made), the error is logged and the connection closed, and the process keeps serving.
 */
function writeAnswer(res: http.ServerResponse, answer: HttpAnswer, draining: boolean, logger: Logger): void {
  if (res.writableEnded || res.headersSent) return;
  const headers: Record<string, string | string[]> = { vary: VARY_ORIGIN };
  const own = answer.headers;
  for (const k in own) headers[k] = own[k]!;
  if (draining) headers['connection'] = 'close';
  // A chunked answer carries its content-length already (pipeline.ts); Fastify adds one to a string body.
  if (answer.chunks === undefined) headers['content-length'] = String(Buffer.byteLength(answer.body));
  try {
    res.writeHead(answer.status, headers);
  } catch (err) {
    logger.error({ err, reqId: headers['x-request-id'] }, 'unexpected error writing the response');
    res.destroy();
    return;
  }
  if (answer.chunks === undefined) {
    res.end(answer.body);
    return;
  }
  const source = Readable.from(answer.chunks, { objectMode: false });
  // A client that leaves half-way: stop reading the chunks (Fastify destroys its stream payload likewise).
  res.once('close', () => source.destroy());
  source.pipe(res);
}
