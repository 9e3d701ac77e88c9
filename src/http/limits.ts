/**
 * The data listener's limits and its manners with clients that send too much, too slowly or oddly, at the
 * Node HTTP server level (everything a route never sees). Every refusal is a google.rpc.Status in JSON.
 *
 * - Head size (431), head timeout (slowloris: 408), keep-alive timeout (longer than the idle timeout of a
 *   load balancer in front, so the balancer closes first and never sends into a closing connection), and a
 *   cap on concurrent connections. No whole-request timeout: request bodies may be streams.
 * - URL length (414) and query parameter count (400): {@link tooLong}, asked by the plugin's onRequest hook.
 * - `Expect: 100-continue` with a Content-Length over the body limit: answered 413 at once, never
 *   "100 Continue" first (a client that was told to go on would be sending its body into a closing socket).
 * - A body too large while the client is still sending it: the answer goes out, and the rest of the body is
 *   read and thrown away for `lingerMs` at most (nginx's lingering close) instead of closing at once, which
 *   resets the connection under a client that writes its whole body before it reads (Node's http client
 *   then reports EPIPE and never sees the 413).
 * - CONNECT: 405 (attache is not a forward proxy); Node would otherwise close the socket without a word.
 * - A half-close (the client's FIN) ends an HTTP/1.1 request in flight, as before: the client went away, and
 *   its upstream call is cancelled. An HTTP/1.0 client that half-closes after its request (legacy scripts,
 *   `nc -q 0`) is done sending, not gone, and still gets its answer, as nginx gives it (Node aborts it).
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { Code, RpcStatus } from '../status/status.js';
import type { HttpAnswer } from './pipeline.js';

/** The limits (config `limits`, plus the body limit). */
export interface HttpLimits {
  readonly bodyLimitBytes: number;
  readonly maxUrlLength: number;
  readonly maxHeaderSize: number;
  readonly maxQueryParams: number;
  readonly headerTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
  readonly lingerMs: number;
}

/** Node's server field for half-closed clients (read per connection; not in @types/node). */
interface TunableServer extends http.Server {
  httpAllowHalfOpen: boolean;
}

/** The response a socket is writing (Node's `_httpMessage`, not in @types/node). */
interface HttpSocket extends Socket {
  _httpMessage?: http.ServerResponse | null;
}

/** A client's FIN: the end of an HTTP/1.1 request in flight (see the module comment); HTTP/1.0 waits. */
function onClientFin(this: HttpSocket): void {
  const res = this._httpMessage;
  if (res != null && !res.writableEnded && res.req.httpVersionMinor !== 0) this.destroy();
}

/** What a raw answer needs: the error writer (pipeline's errorAnswer) and the socket-level writer. */
export interface RawAnswering {
  readonly answer: (status: RpcStatus) => HttpAnswer;
  readonly writeRaw: (socket: Socket, answer: HttpAnswer) => void;
}

const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * The Fastify options that carry the limits into Node's server when Fastify creates it. Node checks the
 * head timeout on a timer it sets up then (every 30 s by default, so a 10 s timeout could take 40 s): the
 * check runs at a quarter of the timeout.
 */
export function serverOptions(limits: HttpLimits): { http: http.ServerOptions; keepAliveTimeout: number; requestTimeout: number } {
  return {
    http: {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4))),
    },
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Bodies may be streams: the head timeout and the call's own deadline bound a request, not a total.
    requestTimeout: 0,
  };
}

/** Applies the rest of the limits to the data listener's server (Fastify's, before it listens). */
export function guardServer(server: http.Server, limits: HttpLimits, raw: RawAnswering): void {
  const s = server as TunableServer;
  if (limits.maxConnections > 0) s.maxConnections = limits.maxConnections;
  s.httpAllowHalfOpen = true;
  s.on('connection', (socket: Socket) => socket.on('end', onClientFin));

  // With a listener here Node sends no automatic "100 Continue": the request goes on as usual, and the
  // body parser answers 413 from the Content-Length before the client has sent any of its body.
  s.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const length = Number(req.headers['content-length']);
    if (!(length > limits.bodyLimitBytes)) res.writeContinue();
    s.emit('request', req, res);
  });

  s.on('connect', (_req: http.IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    const answer = raw.answer(new RpcStatus(Code.UNIMPLEMENTED, 'CONNECT is not supported: attache is not a forward proxy', [], { httpStatus: 405, headers: { allow: ALLOW } }));
    raw.writeRaw(socket, answer);
    socket.end();
  });
}

/**
 * The refusal for a request target over the limits (414 for its length, 400 for its query parameter
 * count), or undefined. Cheap enough for every request: a length test, and a scan of the query only.
 */
export function tooLong(url: string, limits: HttpLimits): RpcStatus | undefined {
  if (url.length > limits.maxUrlLength) {
    return new RpcStatus(Code.INVALID_ARGUMENT, `the request URL is ${url.length} bytes long; the limit is ${limits.maxUrlLength}`, [], { httpStatus: 414 });
  }
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  let params = 1;
  for (let i = url.indexOf('&', q); i >= 0; i = url.indexOf('&', i + 1)) {
    if (++params > limits.maxQueryParams) {
      return new RpcStatus(Code.INVALID_ARGUMENT, `the request has more than ${limits.maxQueryParams} query parameters`, [], { httpStatus: 400 });
    }
  }
  return undefined;
}

/**
 * Called when a request is answered before its body was read (413), with the answer not yet written and
 * without a `Connection: close` of its own (which would reset the connection under the client's body: see
 * the module comment): once the answer is out, the rest of the body is read and thrown away; a body still
 * arriving after `lingerMs` closes the connection. Whether the body is incomplete: `req.complete`.
 */
export function lingerAfterEarlyAnswer(req: http.IncomingMessage, res: http.ServerResponse, lingerMs: number): void {
  if (req.complete) return;
  res.once('finish', () => {
    if (req.complete) return;
    const socket = req.socket;
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    req.resume();
    // The answer did not say close: once the body is read, the connection serves the client's next request.
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  });
}

/** Whether an error on the request path is the client going away (a reset or an aborted body), not ours. */
export function isClientAbort(err: unknown, req: http.IncomingMessage): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return req.destroyed || code === 'ECONNRESET' || code === 'ECONNABORTED' || (err instanceof Error && err.message === 'aborted');
}
