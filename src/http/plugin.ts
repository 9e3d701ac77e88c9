/**
 * The data-plane Fastify plugin: a raw-text body parser, one catch-all route that hands every request to
 * the pipeline, and not-found / error handlers that end in the same error writer. Encapsulated (no `fp`):
 * its parsers and handlers do not leak into anything else registered on the instance.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { Code, RpcStatus, toStatus } from '../status/status.js';
import { recordAnswer } from '../telemetry/exchange.js';
import { requestIdFrom } from '../upstream/metadata.js';
import { registerCors } from './cors.js';
import { isClientAbort, lingerAfterEarlyAnswer, tooLong, type HttpLimits } from './limits.js';
import { errorAnswer, handleRequest, originForm, type HttpAnswer, type PipelineContext } from './pipeline.js';
import { webSocketHandler } from './websocket.js';

export interface TranscoderPluginOptions {
  readonly ctx: PipelineContext;
  readonly bodyLimitBytes: number;
  /** Whether an Origin is attache's own API reference page (allowed by CORS without configuration). */
  readonly docsOrigin?: (origin: string, host: string | undefined) => boolean;
  readonly limits: HttpLimits;
}

/** Writes an answer; every response of the data plane goes through here. */
export function write(reply: FastifyReply, answer: HttpAnswer, draining: boolean): void {
  // While draining, keep-alive connections are told to go so the listener can close.
  if (draining) answer.headers['connection'] = 'close';
  // The body is JSON text already: an identity serializer keeps Fastify from re-inspecting it and from
  // appending "; charset=utf-8" to the contract's `Content-Type: application/json`.
  reply.code(answer.status).headers(answer.headers);
  // A large body (pipeline.ts: UTF-8 Buffers, content-length set) goes out as a stream of its Buffers, so
  // the socket takes them as they are, with backpressure, and no copy of the whole body is made.
  if (answer.chunks !== undefined) reply.send(Readable.from(answer.chunks, { objectMode: false }));
  else reply.serializer(asIs).send(answer.body);
}

const asIs = (body: unknown): string => body as string;

/** The content type preParsing gives the requests of client and bidi streaming routes (never sent by clients). */
const STREAM_BODY_TYPE = 'application/x-attache-request-stream';

/** Every method Node's HTTP parser accepts, so custom HttpRule kinds (PURGE, REPORT…) reach the router. */
const ALL_METHODS = http.METHODS.filter((m) => m !== 'CONNECT');

/** Registers the transcoder on `app`. */
export async function transcoderPlugin(app: FastifyInstance, opts: TranscoderPluginOptions): Promise<void> {
  const { ctx } = opts;
  // Keep the body as text: no JSON.parse may run before the message type is known, for int64 precision,
  // unknown-field errors and __proto__ safety.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: opts.bodyLimitBytes }, (_req, body, done) => {
    done(null, body);
  });

  // Requests handed to the pipeline are observed there; the handlers below observe the rest, once.
  const observed = new WeakSet<FastifyRequest>();
  const observe = (request: FastifyRequest, answer: HttpAnswer): HttpAnswer => {
    if (!observed.has(request)) {
      const { method = 'GET', url = '/' } = request.raw;
      recordAnswer(ctx.telemetry, { method, url, headers: request.headers, requestId: request.id, body: undefined }, answer);
    }
    return answer;
  };

  // The body of a client or bidi streaming route is read line by line as it arrives (http-stream.ts), not
  // buffered whole: such requests get this internal content type in preParsing (below), whose parser hands
  // the unread payload stream over. Fastify reads the content type only after preParsing.
  app.addContentTypeParser(STREAM_BODY_TYPE, (_req, payload, done) => {
    done(null, payload);
  });

  for (const m of ALL_METHODS) {
    if (!app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true });
  }

  // WebSocket upgrades (bidi streams: websocket.ts) arrive as GETs: GET gets its own catch-all route, with the
  // same HTTP handler, plus the upgrade handler. Registered here, @fastify/websocket's route wrapper stays
  // inside this plugin.
  await app.register(fastifyWebsocket, { options: { maxPayload: opts.bodyLimitBytes } });
  const wsHandler = webSocketHandler(ctx);

  const preParsing = (request: FastifyRequest, _reply: FastifyReply, payload: RequestPayload, done: (err: Error | null, payload?: RequestPayload) => void) => {
    const snap = ctx.snapshot();
    if (snap.requestStreams && request.headers['content-type'] !== STREAM_BODY_TYPE) {
      const url = originForm(request.raw.url ?? '/');
      const q = url.indexOf('?');
      const found = snap.table.matcher.lookup(request.raw.method ?? 'GET', q < 0 ? url : url.slice(0, q));
      if (found.kind === 'match' && (found.value.kind === 'client-stream' || found.value.kind === 'bidi')) {
        request.headers['content-type'] = STREAM_BODY_TYPE;
      }
    }
    done(null, payload);
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    observed.add(request);
    const body = request.body;
    // The pipeline holds the body only until the request message is built (pipeline.ts requestBytes).
    request.body = undefined;
    const answer = await handleRequest(ctx, {
      method: request.raw.method ?? 'GET',
      url: request.raw.url ?? '/',
      headers: request.headers,
      body: typeof body === 'string' ? body : undefined,
      requestId: request.id,
      res: reply.raw,
      bodyStream: body instanceof Readable ? body : undefined,
      // The reply itself (no per-request closure): a streamed answer takes the response over with hijack().
      takeover: reply,
    });
    if (answer.streamed !== true) write(reply, answer, ctx.draining());
    return reply;
  };
  const routeOptions = { url: '/*', handler };
  // Only requests with a body can be request streams: GETs skip the hook (a GET bidi is a WebSocket upgrade).
  // OPTIONS belongs to CORS (preflights); other OPTIONS requests reach `handler` through the not-found handler.
  app.route({ method: ALL_METHODS.filter((m) => m !== 'GET' && m !== 'OPTIONS'), ...routeOptions, preParsing });
  app.route({ method: 'GET', ...routeOptions, wsHandler });

  app.setNotFoundHandler(async (request, reply) => {
    if (request.raw.method === 'OPTIONS') return handler(request, reply);
    const path = (request.raw.url ?? '/').split('?')[0];
    write(reply, observe(request, errorAnswer(new RpcStatus(Code.NOT_FOUND, `no route for ${request.raw.method} ${path}`), request.id)), ctx.draining());
    return reply;
  });

  // URL length and query parameter count, before routing (limits.ts).
  app.addHook('onRequest', (request, reply, done) => {
    const refused = tooLong(request.raw.url ?? '/', opts.limits);
    if (refused === undefined) return done();
    write(reply, observe(request, errorAnswer(refused, request.id)), true);
  });

  app.setErrorHandler((error, request, reply) => {
    // A client that went away mid-request is an expected event: its access line says 499, no stack trace.
    const status = isClientAbort(error, request.raw)
      ? new RpcStatus(Code.CANCELLED, 'the client closed the connection before the request was complete', [], { cause: error })
      : toStatus(error, { bodyLimit: opts.bodyLimitBytes });
    if (status.code === Code.INTERNAL) request.log.error({ err: error }, 'unexpected error on the request path');
    if (status.options.httpStatus === 413 && request.headers.expect === undefined) {
      // Fastify asks to close; lingering instead lets a client still sending its body read the 413.
      reply.removeHeader('connection');
      lingerAfterEarlyAnswer(request.raw, reply.raw, opts.limits.lingerMs);
    }
    write(reply, observe(request, errorAnswer(status, request.id)), ctx.draining());
  });

  // CORS owns the `OPTIONS *` route (preflights); other OPTIONS requests reach the pipeline through the
  // not-found handler above. Registered last, so that its route gets this context's error handler.
  await registerCors(app, { snapshot: ctx.snapshot, docsOrigin: opts.docsOrigin ?? (() => false) });
}

/** The status for a request Node's HTTP parser rejected, by Node's error code. */
function clientErrorStatus(err: Error & { code?: string; reason?: unknown }): RpcStatus {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new RpcStatus(Code.DEADLINE_EXCEEDED, 'the request was not received in time', [], { httpStatus: 408, cause: err });
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new RpcStatus(Code.RESOURCE_EXHAUSTED, 'the request headers are too large', [], { httpStatus: 431, cause: err });
  }
  // llhttp says what it did not accept ("Invalid header value char"); the request text itself is not echoed.
  const reason = typeof err.reason === 'string' && err.reason !== '' ? `: ${err.reason}` : '';
  return new RpcStatus(Code.INVALID_ARGUMENT, `malformed HTTP request${reason}`, [], { cause: err });
}

/**
 * Fastify's `clientErrorHandler` for the data plane. A request that Node's HTTP parser rejects (broken
 * framing, a control character in a header, headers over the size limit, a request timeout) never reaches
 * a route, so without this Fastify answers it in its own `{"error","message","statusCode"}` shape. Answers
 * it instead in the contract's google.rpc.Status shape with a generated X-Request-Id (the headers were not
 * parsed), then closes the connection, whose parser state is lost — as Node's and Fastify's defaults do.
 * Never throws.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody left to answer (Node's "clientError" documentation).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ err }, 'malformed HTTP request');
  if (socket.writable) writeRaw(socket, errorAnswer(clientErrorStatus(err), requestIdFrom({})));
  socket.destroy(err);
}

/**
 * Writes `answer` straight to `socket` as an HTTP/1.1 response that closes the connection: for requests
 * that never became a Fastify request (a parser error, CONNECT). The headers were not parsed, so the
 * X-Request-Id is a generated one.
 */
export function writeRaw(socket: Socket, answer: HttpAnswer): void {
  if (!socket.writable) return;
  const head = [`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? ''}`];
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const v of typeof value === 'string' ? [value] : value) head.push(`${name}: ${v}`);
  }
  head.push(`content-length: ${Buffer.byteLength(answer.body)}`, 'connection: close');
  socket.write(`${head.join('\r\n')}\r\n\r\n${answer.body}`);
}
