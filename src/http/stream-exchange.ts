/**
 * The request path of a streaming route (server, client or bidi), after routing and the deadline: the
 * request messages (one from the body, or one per NDJSON line as it arrives), the call (upstream/
 * stream-call.ts: one interface over messages for every kind and wire), and the response messages through
 * one {@link ResponseSink} (NDJSON or SSE over HTTP/1.x here; WebSocket frames in websocket.ts).
 *
 * Commit point (grpc-gateway's): response headers go out with the first message, so a failure
 * before it is a plain HTTP error in the contract's shape (the returned HttpAnswer); after it, the failure is
 * the stream's last frame. A client-streaming call's one response is answered like a unary call's.
 *
 * Flow control end to end: a sink that cannot take more (the HTTP response's write() returned false)
 * pauses the call, and the upstream is slowed (stream-call.ts); a call that cannot send more pauses the
 * request body. Memory per stream is bounded by those buffers, not by the stream's length.
 *
 * Ends: the whole stream is bounded by its deadline (the call's), and, when configured, by an idle timeout
 * between messages either way; a client that goes away cancels the call (the upstream sees CANCELLED); a
 * bad request line is a 400 naming the line (or the last frame, once committed) and cancels the call.
 */
import type { Readable } from 'node:stream';
import { CodecError, type Msg } from '../codec/index.js';
import type { Binding } from '../routing/matcher.js';
import type { ServedRoute, ServingSnapshot, Snapshot } from '../snapshot.js';
import { Code, isRpcStatus, RpcStatus } from '../status/status.js';
import { statusToJson } from '../status/wire.js';
import { endUpstream, startUpstream, type Exchange } from '../telemetry/exchange.js';
import { buildRequest } from '../transcode/request.js';
import { responseJson } from '../transcode/response.js';
import type { CallMetadata } from '../upstream/call-metadata.js';
import type { Admission } from '../upstream/guard.js';
import { GRPC_METADATA_PREFIX, GRPC_TRAILER_PREFIX } from '../upstream/headers.js';
import { headersFromMetadata, metadataFromHeaders } from '../upstream/metadata.js';
import type { CallEnd, MessageCall, MessageListener } from '../upstream/stream-call.js';
import type { Upstream } from '../upstream/channels.js';
import { errorAnswer, upstreamStatus, type HttpAnswer, type InboundRequest, type PipelineContext } from './pipeline.js';
import { LineSplitter, LineTooLong } from './stream.js';

/** Where a streamed response goes (one implementation per framing family). */
export interface ResponseSink {
  /** Commits the response (its headers: Grpc-Metadata-*, X-Request-Id). Called once, before any write. */
  begin(headers: Record<string, string | string[]>): void;
  /** Writes one message (its JSON); false asks to wait for the `drain` callback before writing more. */
  write(json: string, index: number): boolean;
  /** `cb` runs once the sink can take more. */
  onDrain(cb: () => void): void;
  /** Ends a committed response: OK (`failure` undefined) or with the failure as the last frame; `trailers` as Grpc-Trailer-*. */
  end(failure: RpcStatus | undefined, trailers: Record<string, string | string[]>): void;
  /** A heartbeat while idle, for framings that have one (SSE); undefined otherwise. */
  readonly heartbeat?: () => void;
}

/** Where request messages come from, for client and bidi streams (an NDJSON body, WebSocket frames). */
export interface RequestSource {
  /** Starts delivery: `line` per message text (numbered from 1), then `end`, or `fail` with the reason. */
  start(line: (n: number, text: string) => void, end: () => void, fail: (status: RpcStatus) => void): void;
  pause(): void;
  resume(): void;
  /** Stops reading (the call is over). */
  stop(): void;
}

/** What a streaming exchange needs besides the request: its response sink and request source. */
export interface StreamIo {
  /** The sink for server and bidi streams (undefined for client streams: one JSON answer). */
  readonly sink: ResponseSink | undefined;
  /** The request messages of client and bidi streams (undefined: the body is the one message). */
  readonly source: RequestSource | undefined;
  /** Something the transport watches for the client going away: `cb` runs once if it does. */
  onClientGone(cb: () => void): void;
  /** True once the client went away. */
  clientGone(): boolean;
  /** The idle timeout between messages (0: none) and the SSE heartbeat interval (0: none). */
  readonly idleTimeoutMs: number;
  readonly heartbeatMs: number;
}

/** A streamed exchange's result, for the plugin and telemetry: the answer, or the committed stream's summary. */
export interface StreamOutcome {
  /** The plain answer when nothing was streamed; undefined once the sink committed (it wrote everything). */
  readonly answer: HttpAnswer | undefined;
  /** The final gRPC code. */
  readonly code: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesOut: number;
}

const JSON_TYPE = 'application/json';

/** A request body for a client or bidi stream: NDJSON lines, read as they arrive. */
export function ndjsonSource(body: Readable | undefined, maxLineBytes: number): RequestSource {
  let stopped = false;
  return {
    start(line, end, fail) {
      if (body === undefined) {
        setImmediate(end);
        return;
      }
      const splitter = new LineSplitter(maxLineBytes);
      const run = (lines: Array<[number, string]>): void => {
        for (const [n, text] of lines) if (!stopped) line(n, text);
      };
      body.on('data', (chunk: Buffer) => {
        if (stopped) return;
        try {
          run(splitter.push(chunk));
        } catch (err) {
          if (!(err instanceof LineTooLong)) throw err;
          stopped = true;
          fail(new RpcStatus(Code.RESOURCE_EXHAUSTED, err.message, [], { httpStatus: 413 }));
        }
      });
      body.on('end', () => {
        if (stopped) return;
        try {
          run(splitter.end());
        } catch (err) {
          if (!(err instanceof LineTooLong)) throw err;
          fail(new RpcStatus(Code.RESOURCE_EXHAUSTED, err.message, [], { httpStatus: 413 }));
          return;
        }
        if (!stopped) end();
      });
      // An aborted upload ('aborted'/'error') is seen by the exchange as the client going away.
      body.on('error', () => undefined);
    },
    pause: () => body?.pause(),
    resume: () => body?.resume(),
    stop() {
      stopped = true;
      // Drain what is left so the connection stays usable (and Node does not wait on an unread body).
      body?.resume();
    },
  };
}

/** The streaming exchange: the listener of its call, and the pump of its request messages. */
class StreamExchange implements MessageListener {
  call!: MessageCall;
  private committed = false;
  private ended = false;
  private headers: CallMetadata | undefined;
  private single: Buffer | undefined;
  private messagesIn = 0;
  private messagesOut = 0;
  private bytesOut = 0;
  /** A failure attache decided (a bad line, the idle timeout): the call was cancelled for it. */
  private local: RpcStatus | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastWrite = Date.now();
  private readonly done: Promise<StreamOutcome>;
  private resolve!: (o: StreamOutcome) => void;
  readonly settled: Promise<void>;

  constructor(
    private readonly snap: Snapshot,
    private readonly route: ServedRoute,
    private readonly bindings: readonly Binding[],
    private readonly rawQuery: string,
    private readonly rid: string,
    private readonly timeoutMs: number,
    private readonly io: StreamIo,
    private readonly finish: (end: CallEnd) => void,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
    this.settled = this.done.then(() => undefined);
  }

  outcome(): Promise<StreamOutcome> {
    return this.done;
  }

  begin(first: Uint8Array | undefined): void {
    this.touch();
    if (this.io.heartbeatMs > 0 && this.io.sink?.heartbeat !== undefined) {
      this.heartbeatTimer = setInterval(() => this.beat(), this.io.heartbeatMs);
      this.heartbeatTimer.unref();
    }
    if (first !== undefined) {
      this.call.write(first);
      this.call.end();
    }
    const source = this.io.source;
    if (source !== undefined) {
      source.start(
        (n, text) => this.requestLine(n, text),
        () => this.call.end(),
        (status) => this.failLocally(status),
      );
    }
  }

  private requestLine(n: number, text: string): void {
    if (this.ended || this.local !== undefined) return;
    const msg = buildRequest(this.snap.codec, this.route, this.bindings, this.rawQuery, text);
    if (isRpcStatus(msg)) {
      this.failLocally(new RpcStatus(msg.code, `request line ${n}: ${msg.message}`, msg.details, msg.options));
      return;
    }
    this.messagesIn++;
    this.touch();
    if (!this.call.write(this.snap.codec.encode(this.route.requestType, msg as Msg))) this.io.source?.pause();
  }

  /** Ends the call for a reason of attache's own; the answer is that status. */
  failLocally(status: RpcStatus): void {
    if (this.ended || this.local !== undefined) return;
    this.local = status;
    this.io.source?.stop();
    this.call.cancel();
  }

  private touch(): void {
    const ms = this.io.idleTimeoutMs;
    if (ms <= 0 || this.ended) return;
    if (this.idleTimer === undefined) {
      this.idleTimer = setTimeout(() => this.idle(), ms);
      this.idleTimer.unref();
    } else this.idleTimer.refresh();
  }

  private idle(): void {
    this.idleTimer = undefined;
    this.failLocally(new RpcStatus(Code.DEADLINE_EXCEEDED, `the stream was idle (no message either way) for ${this.io.idleTimeoutMs} ms`));
  }

  private beat(): void {
    if (this.ended || Date.now() - this.lastWrite < this.io.heartbeatMs) return;
    const sink = this.io.sink!;
    // A long wait for the first message: commit, so the heartbeat can keep proxies from closing the connection.
    if (!this.committed) this.commit();
    sink.heartbeat!();
    this.lastWrite = Date.now();
  }

  private commit(): void {
    this.committed = true;
    const headers: Record<string, string | string[]> = {};
    if (this.headers !== undefined) headersFromMetadata(this.headers, GRPC_METADATA_PREFIX, headers);
    headers['x-request-id'] = this.rid;
    this.io.sink!.begin(headers);
  }

  // ---- MessageListener

  onHeaders(headers: CallMetadata): void {
    this.headers = headers;
  }

  onMessage(message: Buffer): void {
    if (this.ended || this.local !== undefined) return;
    this.touch();
    const sink = this.io.sink;
    if (sink === undefined) {
      if (this.single !== undefined) {
        this.failLocally(new RpcStatus(Code.UNIMPLEMENTED, 'Too many responses received'));
        return;
      }
      this.single = message;
      return;
    }
    let json: string;
    try {
      json = responseJson(this.snap.codec, this.route, message);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      this.failLocally(new RpcStatus(Code.INTERNAL, `upstream response could not be decoded as ${this.route.responseType.fullName.slice(1)}: ${err.description}`));
      return;
    }
    if (!this.committed) this.commit();
    const index = this.messagesOut++;
    this.bytesOut += json.length;
    this.lastWrite = Date.now();
    if (!sink.write(json, index)) {
      this.call.pause();
      sink.onDrain(() => this.call.resume());
    }
  }

  onWritable(): void {
    this.io.source?.resume();
  }

  onEnd(end: CallEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.io.source?.stop();
    this.finish(end);
    const failure = this.failureOf(end);
    const trailers: Record<string, string | string[]> = {};
    headersFromMetadata(end.trailers, GRPC_TRAILER_PREFIX, trailers);
    const code = failure?.code ?? Code.OK;
    const summary = { code, messagesIn: this.messagesIn, messagesOut: this.messagesOut, bytesOut: this.bytesOut };
    if (this.committed) {
      this.io.sink!.end(failure, trailers);
      this.resolve({ answer: undefined, ...summary });
      return;
    }
    const headers: Record<string, string | string[]> = {};
    if (this.headers !== undefined) headersFromMetadata(this.headers, GRPC_METADATA_PREFIX, headers);
    Object.assign(headers, trailers);
    if (failure !== undefined) {
      this.resolve({ answer: errorAnswer(failure, this.rid, headers), ...summary });
      return;
    }
    if (this.io.sink !== undefined) {
      // An empty stream: committed now, with no message.
      this.commit();
      this.io.sink.end(undefined, trailers);
      this.resolve({ answer: undefined, ...summary });
      return;
    }
    if (this.single === undefined) {
      this.resolve({ answer: errorAnswer(new RpcStatus(Code.INTERNAL, 'No message received'), this.rid, headers), ...summary, code: Code.INTERNAL });
      return;
    }
    let body: string;
    try {
      body = responseJson(this.snap.codec, this.route, this.single);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      const s = new RpcStatus(Code.INTERNAL, `upstream response could not be decoded as ${this.route.responseType.fullName.slice(1)}: ${err.description}`);
      this.resolve({ answer: errorAnswer(s, this.rid, headers), ...summary, code: Code.INTERNAL });
      return;
    }
    headers['content-type'] = JSON_TYPE;
    headers['x-request-id'] = this.rid;
    this.resolve({ answer: { status: 200, headers, body, code: Code.OK }, ...summary, messagesOut: 1, bytesOut: body.length });
  }

  private failureOf(end: CallEnd): RpcStatus | undefined {
    if (this.local !== undefined) return this.local;
    if (end.code === Code.OK) return undefined;
    return upstreamStatus(this.snap, end.code, end.details, end.trailers, this.timeoutMs);
  }
}

/**
 * Serves one streaming route. Resolves with the plain answer to write (anything that failed before the
 * stream committed, and client streams' one response), or with `answer` undefined when the sink wrote
 * the whole response. Never rejects for request-caused problems.
 */
export async function serveStream(
  ctx: PipelineContext,
  req: InboundRequest,
  ex: Exchange,
  snap: ServingSnapshot,
  route: ServedRoute,
  bindings: readonly Binding[],
  rawQuery: string,
  timeoutMs: number,
  io: StreamIo,
): Promise<StreamOutcome> {
  const rid = req.requestId;
  const plain = (answer: HttpAnswer): StreamOutcome => ({ answer, code: answer.code, messagesIn: 0, messagesOut: 0, bytesOut: answer.body.length });
  let first: Uint8Array | undefined;
  if (io.source === undefined) {
    const msg = buildRequest(snap.codec, route, bindings, rawQuery, req.body);
    if (isRpcStatus(msg)) return plain(errorAnswer(msg, rid));
    first = snap.codec.encode(route.requestType, msg);
  }
  const metadata = metadataFromHeaders(req.headers, rid);
  if (isRpcStatus(metadata)) return plain(errorAnswer(metadata, rid));

  const up: Upstream = snap.channels.get(route.policy.upstream.key)!;
  let admission = up.guard.admit(timeoutMs);
  const queuedAt = admission instanceof Promise ? Date.now() : 0;
  if (admission instanceof Promise) admission = await admission;
  if (isRpcStatus(admission)) return plain(errorAnswer(admission, rid));
  const admitted: Admission = admission;
  if (io.clientGone()) {
    up.guard.settle(admitted, Code.CANCELLED);
    return plain(errorAnswer(new RpcStatus(Code.CANCELLED, 'the client went away'), rid));
  }

  const upstream = startUpstream(ctx.telemetry, ex, metadata);
  const left = queuedAt === 0 ? timeoutMs : Math.max(1, timeoutMs - (Date.now() - queuedAt));
  const x = new StreamExchange(snap, route, bindings, rawQuery, rid, timeoutMs, io, (end) => {
    up.guard.settle(admitted, end.code);
    endUpstream(ctx.telemetry, ex, upstream, { code: end.code, details: end.details, headers: end.headers, trailers: end.trailers });
  });
  x.call = up.stream(route, upstream.metadata, left, x);
  // The drain cancels calls still running past its timeout; a stream is one of them.
  const running = { cancel: () => x.call.cancel(), done: x.settled.then(() => ({ response: undefined, error: undefined, headers: undefined, trailers: undefined })) };
  const inflightSlot = ctx.inflight.add(running);
  io.onClientGone(() => x.call.cancel());
  x.begin(first);
  const outcome = await x.outcome();
  ctx.inflight.delete(inflightSlot);
  return outcome;
}
