/**
 * One unary gRPC exchange on an HTTP/2 stream (grpc/doc/PROTOCOL-HTTP2.md), written for the hot path: one
 * object per attempt holds all its state and is itself the stream's listener (session.ts calls it; no
 * per-call closures); the deadline timer gets the attempt as its argument.
 *
 * Request: HEADERS (`:method POST`, `:scheme`, `:path`, `:authority`, `content-type: application/grpc`,
 * `te: trailers`, `user-agent`, `grpc-accept-encoding` — encoded once per method path (hpack.ts) — then
 * `grpc-timeout` and the metadata, straight from its entry list, `-bin` values base64-encoded
 * (PROTOCOL-HTTP2.md); metadata named like one of those headers, or like an HTTP/1 connection header RFC 9113 §8.2.2
 * forbids, is not sent) and one DATA frame with the 5-byte length prefix and END_STREAM.
 *
 * Response: headers (a non-200 `:status` or a content-type other than application/grpc* ends the attempt
 * with the http-grpc-status-mapping.md code), length-prefixed messages reassembled across DATA frames,
 * trailers with `grpc-status` and percent-encoded `grpc-message`; or a trailers-only response (HEADERS
 * with END_STREAM). The unary rules are grpc-js's (src/upstream/call.ts): a second message is UNIMPLEMENTED
 * "Too many responses received", OK without a message is INTERNAL "No message received". Compressed
 * messages (flag 1) are inflated for `grpc-encoding` gzip or deflate (we advertise them, as grpc-js does);
 * any other encoding is INTERNAL.
 *
 * Ends: exactly one `onEnd`. A local deadline timer (unref'd, cleared at the end) ends the attempt
 * DEADLINE_EXCEEDED and resets the stream with CANCEL, as does `cancel()` with CANCELLED (PROTOCOL-HTTP2.md:
 * RST_STREAM CANCEL on client cancellation or deadline). A stream reset by the server maps as grpc-js maps
 * it (wire.ts); a lost session is UNAVAILABLE.
 */
import { CallMetadata } from '../call-metadata.js';
import { nodeZlib } from '../lazy-builtins.js';
import type { AttemptControl, AttemptEnd, AttemptHandle, AttemptListener, AttemptObserver } from '../transport.js';
import type { Balancer, Waiter } from './balancer.js';
import type { Connection, Session } from './connection.js';
import { Code } from '../../status/status.js';
import { ErrorCode } from './frames.js';
import { encodeFields, encodeIndexed, headerListSize, staticIndex } from './hpack.js';
import type { ClientStream, StreamListener } from './session.js';
import { notGrpcResponse, readHeaderBlock, statusFromGoaway, statusFromHttp, statusFromReset, statusOfTrailers, timeoutHeader, type HeaderBlock } from './wire.js';

/** Per-transport constants an attempt reads. */
export interface AttemptContext {
  readonly balancer: Balancer;
  readonly observer: AttemptObserver | undefined;
  readonly scheme: 'http' | 'https';
  readonly authority: string;
  readonly userAgent: string;
  readonly maxSendBytes: number;
  readonly maxReceiveBytes: number;
  /** The constant start of each method path's header block (bounded: see {@link headerPrefix}). */
  readonly prefixes: Map<string, HeaderPrefix>;
}

const EMPTY = Buffer.alloc(0);
/** Request messages from this size on are not copied behind their length prefix (session.ts sends both). */
const JOIN_BELOW = 16 * 1024;
const ACCEPT_ENCODING = 'identity,deflate,gzip';
/** Paths whose header block prefix is kept (a transport serves the methods of its config: far fewer). */
const MAX_PREFIXES = 1000;
/** Headers the attempt sets itself, and connection-specific ones HTTP/2 forbids (RFC 9113 §8.2.2). */
const NOT_FROM_METADATA = new Set(['content-type', 'te', 'user-agent', 'grpc-accept-encoding', 'grpc-timeout', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** The constant part of a request's header block: encoded, and its RFC 9113 §6.5.2 header list size. */
export interface HeaderPrefix {
  readonly block: Buffer;
  readonly listSize: number;
}

/**
 * `parts` joined into a buffer of its own. A small Buffer from `allocUnsafe` or `concat` is a slice of
 * Node's shared pool (Buffer.poolSize: 8 KiB on Node 20, 64 KiB on Node 24), and the slice keeps the whole
 * pool chunk alive, with whatever requests were allocated around it. Prefixes live as long as the transport
 * and are made on each method's first call, between requests: on the 1,218 routes of bench/realworld they
 * held 31 chunks, 1.9 MiB, on Node 24. Each now holds only its own ~100–200 bytes.
 */
function ownBuffer(parts: readonly Buffer[]): Buffer {
  let n = 0;
  for (const b of parts) n += b.length;
  const out = Buffer.allocUnsafeSlow(n);
  let at = 0;
  for (const b of parts) at += b.copy(out, at);
  return out;
}

/** The header block prefix for `path` (pseudo-headers first, RFC 9113 §8.3). */
export function headerPrefix(ctx: AttemptContext, path: string): HeaderPrefix {
  let p = ctx.prefixes.get(path);
  if (p !== undefined) return p;
  const fields = [':path', path, ':authority', ctx.authority, 'content-type', 'application/grpc', 'te', 'trailers', 'user-agent', ctx.userAgent, 'grpc-accept-encoding', ACCEPT_ENCODING];
  p = {
    block: ownBuffer([encodeIndexed(staticIndex(':method', 'POST')), encodeIndexed(staticIndex(':scheme', ctx.scheme)), encodeFields(fields)]),
    listSize: headerListSize([':method', 'POST', ':scheme', ctx.scheme, ...fields]),
  };
  if (ctx.prefixes.size < MAX_PREFIXES) ctx.prefixes.set(path, p);
  return p;
}

/**
 * A request's header fields after the constant prefix: `grpc-timeout` for `deadline`, then the metadata,
 * `-bin` values base64-encoded. Pseudo-header names are not metadata (grpc-js toHttp2Headers skips them too),
 * nor are the headers an attempt sets itself ({@link NOT_FROM_METADATA}). For unary and streaming attempts.
 */
export function requestFields(md: CallMetadata, deadline: number): string[] {
  const fields: string[] = ['grpc-timeout', timeoutHeader(deadline - Date.now())];
  for (let i = 0; i < md.size; i++) {
    const name = md.keyAt(i);
    if (name.charCodeAt(0) === 0x3a || NOT_FROM_METADATA.has(name)) continue;
    const v = md.valueAt(i);
    fields.push(name, typeof v === 'string' ? v : v.toString('base64'));
  }
  return fields;
}

/**
 * Opens an attempt's stream on session `s`: the header block (the method's constant prefix, `grpc-timeout`
 * for `deadline`, the metadata `md`), then `body` (`head`, if given, goes first: a large message's length
 * prefix). For unary and streaming attempts. Throws what session.request throws (the session started
 * closing since the pick, or the headers exceed the server's limit).
 */
export function openStream(
  ctx: AttemptContext, s: Session, path: string, md: CallMetadata, deadline: number, body: Buffer, listener: StreamListener, endBody: boolean, head?: Buffer,
): ClientStream {
  const fields = requestFields(md, deadline);
  const prefix = headerPrefix(ctx, path);
  return s.h2.request(encodeFields(fields, prefix.block), prefix.listSize + headerListSize(fields), body, listener, endBody, head);
}

/** Starts `w` on a READY connection at once, fails it in TRANSIENT_FAILURE or SHUTDOWN, else queues it. */
export function pickOrWait(b: Balancer, w: Waiter): void {
  const c = b.state === 'READY' ? b.pick() : undefined;
  if (c !== undefined) w.dispatch(c);
  else if (b.state === 'TRANSIENT_FAILURE' || b.state === 'SHUTDOWN') w.failPick(b.state === 'SHUTDOWN' ? 'Transport closed' : b.lastError());
  else b.enqueue(w);
}

/** How a stream that closed before its status ended the attempt (see {@link closeEnd}). */
export interface CloseEnd {
  readonly code: number;
  readonly details: string;
  /** The server never processed it (gRFC A6: a transparent retry is safe). */
  readonly unprocessed: boolean;
  /** It was sent and may have been acted on (AttemptEnd.unknown). */
  readonly unknown: boolean;
}

/**
 * The end of an attempt whose stream (`streamId`, 0 if it never left the session's queue) closed with
 * RST_STREAM code `rst` (NO_ERROR for a plain close) before a status arrived, on session `s`, after response
 * headers with `:status` `httpStatus` (0: none). For unary and streaming attempts.
 */
export function closeEnd(rst: number, streamId: number, s: Session, httpStatus: number): CloseEnd {
  const beyondGoaway = s.goawayLastStreamId >= 0 && (streamId === 0 || streamId > s.goawayLastStreamId);
  if (rst === ErrorCode.REFUSED_STREAM || beyondGoaway) {
    // RFC 9113 §8.7: a refused stream, or one above a GOAWAY's last stream id, was not processed.
    const details = beyondGoaway ? `${s.lostReason ?? 'GOAWAY'}; the stream was not processed` : statusFromReset(rst).details;
    return { code: Code.UNAVAILABLE, details, unprocessed: true, unknown: false };
  }
  if (s.h2.destroyed) {
    // Sent (id ≠ 0) and lost with its connection: the server may have run it.
    const sent = streamId !== 0;
    const g = s.goawayError >= 0 ? statusFromGoaway(s.goawayError, s.goawayDebug) : { code: Code.UNAVAILABLE, details: s.lostReason ?? 'Connection dropped' };
    return { code: g.code, details: g.details, unprocessed: !sent, unknown: sent };
  }
  if (rst === ErrorCode.NO_ERROR && httpStatus !== 0 && httpStatus !== 200) {
    const m = statusFromHttp(httpStatus);
    return { code: m.code, details: m.details, unprocessed: false, unknown: false };
  }
  // Reset by the server before its status: delivered, outcome unknown.
  const m = statusFromReset(rst);
  return { code: m.code, details: m.details, unprocessed: false, unknown: true };
}

const enum Phase { Waiting, Running, Ended }

/** One attempt: a {@link Waiter} while queued, then the owner of one stream. */
export class Attempt implements AttemptControl, Waiter, StreamListener {
  private phase = Phase.Waiting;
  private timer: NodeJS.Timeout | undefined;
  private stream: ClientStream | undefined;
  private session: Session | undefined;
  private handle: AttemptHandle | undefined;
  private headers: CallMetadata | undefined;
  private encoding: string | undefined;
  private httpStatus = 0;
  /** The one message (undefined until it arrived) and whether it is compressed. */
  private message: Buffer | undefined;
  private compressed = false;
  /**
   * A message that spans DATA frames: allocated at its length once its 5-byte prefix has arrived (at most
   * maxReceiveBytes) and filled as frames come, so each byte is copied once and no frame is kept. Keeping
   * the frames and joining them at the end held the message twice, and every 64 KiB socket read a frame
   * pointed into stayed alive until then (bench/RESULTS.md §13).
   */
  private partial: Buffer | undefined;
  private partialFilled = 0;
  private partialFlag = 0;
  /** The octets of a length prefix split across DATA frames (rare), and how many have arrived. */
  private prefix: Buffer | undefined;
  private prefixBytes = 0;
  /** Response headers arrived (further HEADERS are trailers). */
  private gotResponse = false;
  /** The time this attempt had when it started, for the deadline message. */
  private budgetMs = 0;

  constructor(
    private readonly ctx: AttemptContext,
    private readonly path: string,
    private readonly metadata: CallMetadata,
    private readonly payload: Buffer,
    private readonly deadline: number,
    private readonly listener: AttemptListener,
  ) {}

  /** Starts: on a READY connection at once, queued while connecting, failed in TRANSIENT_FAILURE. */
  start(): void {
    if (this.payload.length > this.ctx.maxSendBytes) {
      this.end(Code.RESOURCE_EXHAUSTED, `Sent message larger than max (${this.payload.length} vs. ${this.ctx.maxSendBytes})`, undefined, CallMetadata.EMPTY, false);
      return;
    }
    const left = this.deadline - Date.now();
    this.budgetMs = Math.max(0, left);
    if (left <= 0) {
      this.end(Code.DEADLINE_EXCEEDED, this.deadlineText(), undefined, CallMetadata.EMPTY, true);
      return;
    }
    if (left < 2 ** 31) {
      this.timer = setTimeout(onDeadline, left, this);
      this.timer.unref();
    }
    pickOrWait(this.ctx.balancer, this);
  }

  /** Waiter: a connection was picked; open the stream and send. */
  dispatch(c: Connection): void {
    if (this.phase !== Phase.Waiting) return;
    const s = c.session!;
    let md = this.metadata;
    const observer = this.ctx.observer;
    if (observer !== undefined) {
      this.handle = observer.attempt(md, c.peer);
      md = this.handle?.metadata ?? md;
    }
    const n = this.payload.length;
    // The gRPC message: a 5-octet prefix and the payload. Small ones are joined (one DATA frame, one copy of
    // a few bytes); a large one is sent as prefix + the payload itself, so the message is not copied.
    let body: Buffer;
    let head: Buffer | undefined;
    if (n < JOIN_BELOW) {
      body = Buffer.allocUnsafe(5 + n);
      body[0] = 0;
      body.writeUInt32BE(n, 1);
      this.payload.copy(body, 5);
    } else {
      head = Buffer.allocUnsafe(5);
      head[0] = 0;
      head.writeUInt32BE(n, 1);
      body = this.payload;
    }
    let stream: ClientStream;
    try {
      stream = openStream(this.ctx, s, this.path, md, this.deadline, body, this, true, head);
    } catch (err) {
      // The session started closing between the pick and now (GOAWAY or close in the same tick).
      this.end(Code.UNAVAILABLE, `${c.peer}: ${err instanceof Error ? err.message : String(err)}`, undefined, CallMetadata.EMPTY, true);
      return;
    }
    this.phase = Phase.Running;
    this.stream = stream;
    this.session = s;
    c.streamStarted(s);
  }

  /**
   * Waiter: no connection (TRANSIENT_FAILURE without wait-for-ready, or shutdown). Not `unprocessed`: a
   * failed pick is an attempt that failed (the retry policy may try again, after its backoff), not a stream
   * the server refused; a transparent retry would only fail the same pick again at once (grpc-js likewise
   * applies the retry policy, not a transparent retry, to failed picks).
   */
  failPick(details: string): void {
    if (this.phase !== Phase.Waiting) return;
    this.ctx.observer?.attempt(this.metadata, undefined)?.ended(Code.UNAVAILABLE, details);
    this.end(Code.UNAVAILABLE, details, undefined, CallMetadata.EMPTY, false);
  }

  cancel(): void {
    this.abort(Code.CANCELLED, 'Cancelled on client');
  }

  /** Deadline timer. */
  expire(): void {
    this.timer = undefined;
    this.abort(Code.DEADLINE_EXCEEDED, this.deadlineText());
  }

  /**
   * A local deadline's words. They start like grpc-js's ("Deadline exceeded after …"), which is how the
   * request path tells attache's own deadline from a DEADLINE_EXCEEDED the upstream sent.
   */
  private deadlineText(): string {
    return `Deadline exceeded after ${this.budgetMs} ms`;
  }

  private abort(code: number, details: string): void {
    if (this.phase === Phase.Ended) return;
    const unsent = this.phase === Phase.Waiting;
    this.end(code, details, undefined, CallMetadata.EMPTY, unsent);
    this.resetStream();
  }

  private resetStream(): void {
    this.stream?.close(ErrorCode.CANCEL);
  }

  /** StreamListener: the response headers, then the trailers. */
  onHeaders(fields: string[], end: boolean): void {
    if (this.phase !== Phase.Running) return; // ended (cancelled, deadline): nothing reads them
    const headers = readHeaderBlock(fields);
    if (this.gotResponse) this.trailers(headers);
    else {
      this.gotResponse = true;
      this.response(headers, end);
    }
  }

  private response(headers: HeaderBlock, end: boolean): void {
    if (this.phase !== Phase.Running) return;
    this.httpStatus = Number(headers.status);
    if (end) {
      this.trailers(headers); // trailers-only
      return;
    }
    const notGrpc = notGrpcResponse(this.httpStatus, headers.contentType);
    if (notGrpc !== undefined) {
      this.end(notGrpc.code, notGrpc.details, undefined, CallMetadata.EMPTY, false);
      this.resetStream();
      return;
    }
    const enc = headers.grpcEncoding;
    if (enc !== undefined && enc !== 'identity') this.encoding = enc;
    this.headers = headers.metadata;
    this.listener.onHeaders();
  }

  /** StreamListener: a DATA frame's payload. */
  onData(chunk: Buffer): void {
    if (this.phase !== Phase.Running) return;
    // The common case: exactly one whole message in one DATA frame.
    if (this.partial === undefined && this.prefixBytes === 0 && chunk.length >= 5 && chunk.length === 5 + chunk.readUInt32BE(1)) {
      this.take(chunk[0]!, chunk.subarray(5));
      return;
    }
    let at = 0;
    while (at < chunk.length && this.phase === Phase.Running) {
      const partial = this.partial;
      if (partial !== undefined) {
        const n = Math.min(chunk.length - at, partial.length - this.partialFilled);
        chunk.copy(partial, this.partialFilled, at, at + n);
        this.partialFilled += n;
        at += n;
        if (this.partialFilled === partial.length) {
          this.partial = undefined;
          this.take(this.partialFlag, partial);
        }
        continue;
      }
      let flag: number;
      let len: number;
      if (this.prefixBytes === 0 && chunk.length - at >= 5) {
        flag = chunk[at]!;
        len = chunk.readUInt32BE(at + 1);
        at += 5;
      } else {
        const p = (this.prefix ??= Buffer.allocUnsafe(5));
        const n = Math.min(5 - this.prefixBytes, chunk.length - at);
        chunk.copy(p, this.prefixBytes, at, at + n);
        this.prefixBytes += n;
        at += n;
        if (this.prefixBytes < 5) return;
        this.prefixBytes = 0;
        flag = p[0]!;
        len = p.readUInt32BE(1);
      }
      if (len > this.ctx.maxReceiveBytes) {
        this.end(Code.RESOURCE_EXHAUSTED, `Received message larger than max (${len} vs ${this.ctx.maxReceiveBytes})`, undefined, CallMetadata.EMPTY, false);
        this.resetStream();
        return;
      }
      if (chunk.length - at >= len) {
        // Whole in this frame: a view, no copy.
        this.take(flag, chunk.subarray(at, at + len));
        at += len;
      } else {
        this.partial = Buffer.allocUnsafe(len);
        this.partialFilled = 0;
        this.partialFlag = flag;
      }
    }
  }

  private take(flag: number, body: Buffer): void {
    if (this.message !== undefined) {
      this.end(Code.UNIMPLEMENTED, 'Too many responses received', undefined, CallMetadata.EMPTY, false);
      this.resetStream();
      return;
    }
    if (body.length > this.ctx.maxReceiveBytes) {
      this.end(Code.RESOURCE_EXHAUSTED, `Received message larger than max (${body.length} vs ${this.ctx.maxReceiveBytes})`, undefined, CallMetadata.EMPTY, false);
      this.resetStream();
      return;
    }
    if (flag === 1 && this.encoding !== 'gzip' && this.encoding !== 'deflate') {
      this.end(Code.INTERNAL, `Received compressed message but "grpc-encoding" header was ${this.encoding ?? 'identity'}`, undefined, CallMetadata.EMPTY, false);
      this.resetStream();
      return;
    }
    this.compressed = flag === 1;
    this.message = body.length === 0 ? EMPTY : body;
  }

  private trailers(headers: HeaderBlock): void {
    if (this.phase !== Phase.Running) return;
    const md = headers.metadata;
    const { code, details } = statusOfTrailers(headers, this.httpStatus);
    if (code !== Code.OK) {
      this.end(code, details, undefined, md, false);
    } else if (this.message === undefined) {
      this.end(Code.INTERNAL, 'No message received', undefined, md, false);
    } else if (this.compressed) {
      this.inflate(this.message, md, details);
    } else {
      this.end(Code.OK, details, this.message, md, false);
    }
  }

  private inflate(body: Buffer, md: CallMetadata, details: string): void {
    this.phase = Phase.Ended; // nothing else may end it; the real end follows
    const max = this.ctx.maxReceiveBytes;
    const done = (err: Error | null, out: Buffer): void => {
      this.phase = Phase.Running;
      if (err !== null) {
        const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        this.end(tooBig ? Code.RESOURCE_EXHAUSTED : Code.INTERNAL, tooBig ? `Received message that decompresses to a size larger than ${max}` : `Failed to decompress ${this.encoding}-encoded message`, undefined, md, false);
      } else this.end(Code.OK, details, out, md, false);
    };
    if (this.encoding === 'gzip') nodeZlib().gunzip(body, { maxOutputLength: max }, done);
    else nodeZlib().inflate(body, { maxOutputLength: max }, done);
  }

  /** StreamListener: the stream is over (id 0: it never left the session's queue, so was never sent). */
  onClose(rst: number): void {
    const st = this.stream!;
    this.session!.streamClosed();
    if (this.phase !== Phase.Running) return;
    const e = closeEnd(rst, st.id, this.session!, this.httpStatus);
    this.end(e.code, e.details, undefined, CallMetadata.EMPTY, e.unprocessed, e.unknown);
  }

  private end(code: number, details: string, response: Buffer | undefined, trailers: CallMetadata, unprocessed: boolean, unknown = false): void {
    if (this.phase === Phase.Ended) return;
    const wasWaiting = this.phase === Phase.Waiting;
    this.phase = Phase.Ended;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (wasWaiting) this.ctx.balancer.dequeue(this);
    this.handle?.ended(code, details);
    const e: AttemptEnd = { code, details, response, headers: this.headers, trailers, unprocessed, unknown };
    this.listener.onEnd(e);
  }
}

function onDeadline(a: Attempt): void {
  a.expire();
}
