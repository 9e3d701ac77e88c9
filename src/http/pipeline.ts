/**
 * The request path, top to bottom: route lookup → deadline → request message → metadata → gRPC call →
 * response JSON (or the one error writer). Every failure becomes an RpcStatus before anything is written.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { SlotSet } from '../collections/slot-set.js';
import type { ServedRoute, ServingSnapshot, Snapshot } from '../snapshot.js';
import type { Binding } from '../routing/matcher.js';
import { httpStreamIo } from './http-stream.js';
import { serveStream, type StreamIo } from './stream-exchange.js';
import { CodecError } from '../codec/index.js';
import { buildRequest } from '../transcode/request.js';
import { responseBody } from '../transcode/response.js';
import type { RunningCall } from '../upstream/call.js';
import type { CallMetadata } from '../upstream/call-metadata.js';
import type { Upstreams } from '../upstream/channels.js';
import { timeoutFrom } from '../upstream/deadline.js';
import { GRPC_METADATA_PREFIX, GRPC_STATUS_DETAILS_BIN, GRPC_TRAILER_PREFIX, RETRY_AFTER } from '../upstream/headers.js';
import { headersFromMetadata, metadataFromHeaders } from '../upstream/metadata.js';
import { httpStatusOf, retryAfterSeconds } from '../status/http.js';
import { Code, isRpcStatus, RpcStatus } from '../status/status.js';
import { FALLBACK_STATUS_JSON, statusFromGrpc, statusToJson } from '../status/wire.js';
import { beginExchange, endExchange, endUpstream, exchangeRouted, startUpstream, type Exchange, type Telemetry } from '../telemetry/exchange.js';

/** A finished HTTP answer, ready to write. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: string;
  /**
   * A large body as UTF-8 Buffers, in order (then `body` is '' and `bytesOut` their total): written as
   * they are, with backpressure, never joined into one string or Buffer (plugin.ts `write`).
   */
  readonly chunks?: readonly Buffer[];
  /** The gRPC code the answer stands for (0 for a success), for metrics and the access log. */
  readonly code: number;
  /** A stream: the response was written as it came (http-stream.ts); nothing is left to write. */
  readonly streamed?: true;
  /** Streams: messages each way, and the JSON bytes written. */
  readonly messagesIn?: number;
  readonly messagesOut?: number;
  readonly bytesOut?: number;
}

/** The live state the pipeline reads (owned by main.ts). */
export interface PipelineContext {
  /** The current snapshot, live upstreams included; read once per request (a reload swaps it whole). */
  snapshot(): ServingSnapshot;
  /** The current snapshot's upstreams (follows reloads); a request uses its own snapshot's `channels`. */
  readonly upstreams: Upstreams;
  /** True once shutdown started: new requests are refused with 503. */
  draining(): boolean;
  /** In-flight upstream calls, so the drain can cancel what outlives the grace period. */
  readonly inflight: SlotSet<RunningCall>;
  /** Tracer, metrics and access logger (src/telemetry/exchange.ts). */
  readonly telemetry: Telemetry;
}

/** The inbound request as the pipeline needs it (decoupled from Fastify's types). */
export interface InboundRequest {
  readonly method: string;
  /** The raw request target, e.g. `/api/x%2Fy?a=1`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /**
   * The body text. The pipeline sets it to undefined once the request message is encoded, so a large body
   * is not held while the upstream call runs.
   */
  body: string | undefined;
  readonly requestId: string;
  /** The response, to notice a client that goes away before the answer (and to stream into). */
  readonly res: ServerResponse;
  /** The unread body of a client or bidi streaming route (plugin.ts hands it over unparsed). */
  readonly bodyStream?: Readable | undefined;
  /** Takes the response over from the framework, for a streamed answer (Fastify's reply). */
  readonly takeover?: { hijack(): unknown };
  /** An upgraded WebSocket (websocket.ts): the stream's io, for bidi routes. */
  readonly webSocket?: StreamIo;
}

const JSON_TYPE = 'application/json';

/** Renders any failure as the contract's google.rpc.Status body. The single error writer. */
export function errorAnswer(status: RpcStatus, requestId: string, extraHeaders?: Record<string, string | string[]>): HttpAnswer {
  const headers: Record<string, string | string[]> = extraHeaders ?? {};
  headers['content-type'] = JSON_TYPE;
  headers['x-request-id'] = requestId;
  const opt = status.options.headers;
  if (opt !== undefined) for (const k of Object.keys(opt)) headers[k] = opt[k]!;
  const retryAfter = retryAfterSeconds(status.details);
  if (retryAfter !== undefined) headers[RETRY_AFTER] = String(retryAfter);
  const body = statusToJson(status);
  // statusToJson falls back to a constant INTERNAL body when a status cannot be serialised; keep the
  // HTTP status consistent with the body it sends.
  return { status: body === FALLBACK_STATUS_JSON ? 500 : httpStatusOf(status), headers, body, code: status.code };
}

/**
 * The origin-form (`/path?query`) of a request target. RFC 9112 §3.2.2: a server MUST accept the
 * absolute-form (`http://host/path?query`), which clients send through proxies; its authority is not part
 * of the route.
 */
export function originForm(url: string): string {
  if (url.charCodeAt(0) === 0x2f /* '/' */) return url;
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  if (m === null) return url;
  const rest = url.slice(m[0].length);
  return rest === '' || rest.charCodeAt(0) === 0x3f /* '?' */ ? `/${rest}` : rest;
}

/**
 * The RpcStatus of a failed upstream call: its code and message, and the details of its
 * `grpc-status-details-bin` trailer. Never throws.
 */
export function upstreamStatus(snap: Snapshot, code: number, details: string, trailers: CallMetadata | undefined, timeoutMs: number): RpcStatus {
  const detailsBin = trailers?.get(GRPC_STATUS_DETAILS_BIN);
  return statusFromGrpc(
    code,
    // grpc-js words its own deadline errors with timings and the upstream's address; say it plainly.
    code === Code.DEADLINE_EXCEEDED && details.startsWith('Deadline exceeded after') ? `the upstream call did not finish within its deadline of ${timeoutMs} ms` : details,
    typeof detailsBin === 'string' ? undefined : detailsBin,
    snap.renderAny,
  );
}

/** A streaming route's answer: serveStream over the request's HTTP stream io (http-stream.ts). */
async function streamAnswer(
  ctx: PipelineContext,
  req: InboundRequest,
  ex: Exchange,
  snap: ServingSnapshot,
  route: ServedRoute,
  bindings: readonly Binding[],
  rawQuery: string,
  timeoutMs: number,
): Promise<HttpAnswer> {
  const config = snap.config;
  const io = req.webSocket ?? httpStreamIo({
    res: req.res,
    headers: req.headers,
    bodyStream: req.bodyStream,
    requestStreams: route.kind === 'client-stream' || route.kind === 'bidi',
    responseStreams: route.kind === 'server-stream' || route.kind === 'bidi',
    hijack: () => void req.takeover?.hijack(),
    maxLineBytes: config.bodyLimitBytes,
    idleTimeoutMs: config.streamIdleTimeoutMs,
    heartbeatMs: config.sseHeartbeatMs,
    draining: ctx.draining,
  });
  const out = await serveStream(ctx, req, ex, snap, route, bindings, rawQuery, timeoutMs, io);
  const counts = { messagesIn: out.messagesIn, messagesOut: out.messagesOut, bytesOut: out.bytesOut };
  if (out.answer !== undefined) return { ...out.answer, ...counts };
  return { status: 200, headers: {}, body: '', code: out.code, streamed: true, ...counts };
}

/**
 * The request message's bytes, or the INVALID_ARGUMENT of a bad request. Its own function so that neither
 * the parsed message nor the body text stays reachable from the suspended request while the upstream call
 * runs: for a 3 MiB body they are ~10–20 MB (bench/RESULTS.md §13).
 */
function requestBytes(snap: ServingSnapshot, route: ServedRoute, bindings: readonly Binding[], rawQuery: string, req: InboundRequest): Uint8Array | RpcStatus {
  const msg = buildRequest(snap.codec, route, bindings, rawQuery, req.body);
  if (isRpcStatus(msg)) return msg;
  req.body = undefined;
  return snap.codec.encode(route.requestType, msg);
}

/** What an exchange that threw is recorded as (the plugin's error handler then answers 500). */
const THREW = Object.freeze({ status: 500, body: '', code: Code.INTERNAL });

/**
 * Handles one request end to end; never throws for request-caused problems. Every request ends with one
 * metrics observation and one access-log line (endExchange), whatever the outcome.
 */
export async function handleRequest(ctx: PipelineContext, req: InboundRequest): Promise<HttpAnswer> {
  const ex = beginExchange(ctx.telemetry, req);
  let answer: HttpAnswer | undefined;
  try {
    answer = await answerRequest(ctx, req, ex);
    return answer;
  } finally {
    endExchange(ctx.telemetry, ex, answer ?? THREW);
  }
}

async function answerRequest(ctx: PipelineContext, req: InboundRequest, ex: Exchange): Promise<HttpAnswer> {
  const rid = req.requestId;
  if (ctx.draining()) {
    return errorAnswer(new RpcStatus(Code.UNAVAILABLE, 'attache is shutting down', [], { headers: { connection: 'close' } }), rid);
  }
  const snap = ctx.snapshot();
  const target = originForm(req.url);
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);

  let found = snap.table.matcher.lookup(req.method, path);
  if (req.webSocket !== undefined && found.kind === 'methodNotAllowed') {
    // The upgrade is a GET; a bidi route bound to another method is reached on its path all the same.
    for (const m of found.allow) {
      const other = snap.table.matcher.lookup(m, path);
      if (other.kind === 'match' && other.value.kind === 'bidi') {
        found = other;
        break;
      }
    }
  }
  if (found.kind !== 'match') {
    switch (found.kind) {
      case 'notFound':
        return errorAnswer(new RpcStatus(Code.NOT_FOUND, `no route for ${req.method} ${path}`), rid);
      case 'methodNotAllowed':
        return errorAnswer(
          new RpcStatus(Code.UNIMPLEMENTED, `method ${req.method} is not allowed for ${path}; allowed: ${found.allow.join(', ')}`, [], {
            httpStatus: 405,
            headers: { allow: found.allow.join(', ') },
          }),
          rid,
        );
      case 'badPath':
        return errorAnswer(new RpcStatus(Code.INVALID_ARGUMENT, `invalid request path: ${found.reason}`), rid);
    }
  }
  const route = found.value;
  exchangeRouted(ctx.telemetry, ex, route);

  const timeoutMs = timeoutFrom(req.headers, route.deadlineMs, snap.config.defaultDeadlineMs);
  if (isRpcStatus(timeoutMs)) return errorAnswer(timeoutMs, rid);

  if (req.webSocket !== undefined && route.kind !== 'bidi') {
    return errorAnswer(new RpcStatus(Code.FAILED_PRECONDITION, `${route.selector} is a ${route.kind} method; WebSocket upgrades are served on bidi routes`), rid);
  }
  if (route.kind !== 'unary') return streamAnswer(ctx, req, ex, snap, route, found.bindings, rawQuery, timeoutMs);

  const bytes = requestBytes(snap, route, found.bindings, rawQuery, req);
  if (isRpcStatus(bytes)) return errorAnswer(bytes, rid);

  const metadata = metadataFromHeaders(req.headers, rid);
  if (isRpcStatus(metadata)) return errorAnswer(metadata, rid);

  // Breaker and bulkhead: refused at once, or admitted, possibly after a short wait for a slot.
  const up = snap.channels.get(route.policy.upstream.key)!;
  let admission = up.guard.admit(timeoutMs);
  const queuedAt = admission instanceof Promise ? Date.now() : 0;
  if (admission instanceof Promise) admission = await admission;
  if (isRpcStatus(admission)) {
    // A wait for a bulkhead slot that the drain ended: the call never started, so say why, as below.
    if (queuedAt !== 0 && ctx.draining()) return errorAnswer(new RpcStatus(Code.UNAVAILABLE, 'attache is shutting down: the call was still waiting for a free upstream slot'), rid);
    return errorAnswer(admission, rid);
  }
  // The call span starts once the call does: a call the guard refuses never reaches the upstream.
  const upstream = startUpstream(ctx.telemetry, ex, metadata);
  const running = up.call(route, bytes, upstream.metadata, queuedAt === 0 ? timeoutMs : Math.max(1, timeoutMs - (Date.now() - queuedAt)));
  const inflightSlot = ctx.inflight.add(running);
  // A client that disconnects cancels its upstream call (the server sees CANCELLED).
  let clientGone = false;
  const onClose = (): void => {
    if (req.res.writableEnded) return;
    clientGone = true;
    running.cancel();
  };
  req.res.on('close', onClose); // not once(): removed below anyway, and once() allocates a wrapper per request
  if (req.res.destroyed) running.cancel(); // the client left while the call waited for a bulkhead slot
  const outcome = await running.done;
  // A call never sent (no upstream credential could be had) says nothing about the upstream's health.
  up.guard.settle(admission, outcome.unsent === true ? Code.CANCELLED : (outcome.error?.code ?? Code.OK), timeoutMs < (route.deadlineMs ?? snap.config.defaultDeadlineMs));
  req.res.removeListener('close', onClose);
  ctx.inflight.delete(inflightSlot);
  endUpstream(ctx.telemetry, ex, upstream, { code: outcome.error?.code ?? Code.OK, details: outcome.error?.details, headers: outcome.headers, trailers: outcome.trailers ?? outcome.error?.metadata });

  const headers: Record<string, string | string[]> = {};
  if (outcome.headers !== undefined) headersFromMetadata(outcome.headers, GRPC_METADATA_PREFIX, headers);
  if (outcome.trailers !== undefined) headersFromMetadata(outcome.trailers, GRPC_TRAILER_PREFIX, headers);

  if (outcome.error !== undefined || outcome.response === undefined) {
    const e = outcome.error;
    if (e?.code === Code.CANCELLED && !clientGone && ctx.draining()) {
      // The drain cancelled the call (main.ts, past the drain timeout), not the client: CANCELLED's 499
      // would blame the client. UNAVAILABLE is what code.proto recommends retrying, on another instance.
      return errorAnswer(new RpcStatus(Code.UNAVAILABLE, 'attache is shutting down: the call did not finish within the drain timeout'), rid, headers);
    }
    return errorAnswer(upstreamStatus(snap, e?.code ?? Code.INTERNAL, e?.details ?? 'upstream returned no response', e?.metadata, timeoutMs), rid, headers);
  }
  let body: string | Buffer[];
  try {
    body = responseBody(snap.codec, route, outcome.response);
  } catch (err) {
    if (err instanceof CodecError) {
      return errorAnswer(new RpcStatus(Code.INTERNAL, `upstream response could not be decoded as ${route.responseType.fullName.slice(1)}: ${err.description}`), rid, headers);
    }
    throw err;
  }
  headers['content-type'] = JSON_TYPE;
  headers['x-request-id'] = rid;
  if (typeof body === 'string') return { status: 200, headers, body, code: Code.OK };
  let length = 0;
  for (const b of body) length += b.length;
  headers['content-length'] = String(length);
  return { status: 200, headers, body: '', chunks: body, bytesOut: length, code: Code.OK };
}
