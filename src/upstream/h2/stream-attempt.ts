/**
 * One streaming gRPC exchange on an HTTP/2 stream (grpc/doc/PROTOCOL-HTTP2.md): the request side stays open
 * for any number of length-prefixed messages until `end()` (END_STREAM), and response messages are handed
 * over one by one as they complete. Serves all three streaming kinds (server, client, bidi); the unary hot
 * path keeps its own leaner Attempt (attempt.ts). Both open their stream, classify the response headers,
 * read the status and map a closed stream with the same functions (attempt.ts openStream, closeEnd,
 * pickOrWait; wire.ts notGrpcResponse, statusOfTrailers); what differs is the message flow.
 *
 * Flow control both ways, so memory stays bounded however long the stream runs:
 * - request: `write` frames the message into the stream's pending body; the session sends what the
 *   server's windows allow. `write` returns false above {@link HIGH_WATER} bytes pending, and `onWritable`
 *   follows once everything pushed is framed (session.ts `onDrained`).
 * - response: `pause()` stops delivery and stops the stream's WINDOW_UPDATEs (ClientStream.setPaused), so
 *   the server can run at most one stream window (connection.ts: 1 MiB) ahead; what arrives meanwhile
 *   waits here and is delivered, then the end, on `resume()`.
 *
 * Ends: exactly one `onEnd`, after every delivered message. Deadline and cancel reset the stream with
 * CANCEL (the server sees CANCELLED). `unprocessed` as attempt.ts reports it (REFUSED_STREAM, beyond a
 * GOAWAY, never sent): the caller decides whether a transparent retry is safe (stream-call.ts).
 */
import { CallMetadata } from '../call-metadata.js';
import { nodeZlib } from '../lazy-builtins.js';
import type { AttemptHandle, StreamAttemptControl, StreamAttemptListener } from '../transport.js';
import type { Waiter } from './balancer.js';
import type { Connection, Session } from './connection.js';
import { Code } from '../../status/status.js';
import { ErrorCode } from './frames.js';
import type { ClientStream, StreamListener } from './session.js';
import { closeEnd, openStream, pickOrWait, type AttemptContext } from './attempt.js';
import { notGrpcResponse, readHeaderBlock, statusOfTrailers, type HeaderBlock } from './wire.js';

/** Request bytes pending (not yet framed for lack of window) above which `write` asks the caller to wait. */
export const HIGH_WATER = 64 * 1024;
const EMPTY = Buffer.alloc(0);

const enum Phase { Waiting, Running, Ended }

function onDeadline(a: StreamAttempt): void {
  a.expire();
}

/** A streaming attempt: a {@link Waiter} while queued, then the owner of one stream. */
export class StreamAttempt implements StreamAttemptControl, Waiter, StreamListener {
  private phase = Phase.Waiting;
  private timer: NodeJS.Timeout | undefined;
  private stream: ClientStream | undefined;
  private session: Session | undefined;
  private handle: AttemptHandle | undefined;
  private headers: CallMetadata | undefined;
  private encoding: string | undefined;
  private httpStatus = 0;
  private gotResponse = false;
  private budgetMs = 0;
  /** Request messages written before the stream opened (framed), and whether `end()` came. */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private halfClosed = false;
  private wantWritable = false;
  /** Response bytes not yet a whole message. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private paused = false;
  /** Messages (and the end) held while paused. */
  private held: Buffer[] = [];
  private heldEnd: (() => void) | undefined;

  constructor(
    private readonly ctx: AttemptContext,
    private readonly path: string,
    private readonly metadata: CallMetadata,
    private readonly deadline: number,
    private readonly listener: StreamAttemptListener,
  ) {}

  start(): void {
    const left = this.deadline - Date.now();
    this.budgetMs = Math.max(0, left);
    if (left <= 0) {
      this.end_(Code.DEADLINE_EXCEEDED, this.deadlineText(), CallMetadata.EMPTY, true);
      return;
    }
    if (left < 2 ** 31) {
      this.timer = setTimeout(onDeadline, left, this);
      this.timer.unref();
    }
    pickOrWait(this.ctx.balancer, this);
  }

  dispatch(c: Connection): void {
    if (this.phase !== Phase.Waiting) return;
    const s = c.session!;
    let md = this.metadata;
    const observer = this.ctx.observer;
    if (observer !== undefined) {
      this.handle = observer.attempt(md, c.peer);
      md = this.handle?.metadata ?? md;
    }
    const body = this.early.length === 0 ? EMPTY : Buffer.concat(this.early, this.earlyBytes);
    this.early = [];
    this.earlyBytes = 0;
    let stream: ClientStream;
    try {
      stream = openStream(this.ctx, s, this.path, md, this.deadline, body, this, this.halfClosed);
    } catch (err) {
      this.end_(Code.UNAVAILABLE, `${c.peer}: ${err instanceof Error ? err.message : String(err)}`, CallMetadata.EMPTY, true);
      return;
    }
    this.phase = Phase.Running;
    this.stream = stream;
    this.session = s;
    if (this.paused) stream.setPaused(true);
    c.streamStarted(s);
  }

  failPick(details: string): void {
    if (this.phase !== Phase.Waiting) return;
    this.ctx.observer?.attempt(this.metadata, undefined)?.ended(Code.UNAVAILABLE, details);
    this.end_(Code.UNAVAILABLE, details, CallMetadata.EMPTY, false);
  }

  // ---- StreamAttemptControl

  write(message: Buffer): boolean {
    if (this.phase === Phase.Ended || this.halfClosed) return true;
    if (message.length > this.ctx.maxSendBytes) {
      this.abort(Code.RESOURCE_EXHAUSTED, `Sent message larger than max (${message.length} vs. ${this.ctx.maxSendBytes})`);
      return true;
    }
    const frame = Buffer.allocUnsafe(5 + message.length);
    frame[0] = 0;
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    if (this.stream === undefined) {
      this.early.push(frame);
      this.earlyBytes += frame.length;
      const ok = this.earlyBytes < HIGH_WATER;
      if (!ok) this.wantWritable = true;
      return ok;
    }
    this.stream.push(frame, false);
    const ok = this.stream.body.length < HIGH_WATER;
    if (!ok) this.wantWritable = true;
    return ok;
  }

  end(): void {
    if (this.halfClosed) return;
    this.halfClosed = true;
    this.stream?.push(EMPTY, true);
  }

  pause(): void {
    this.paused = true;
    this.stream?.setPaused(true);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // Delivery may pause again (the listener's writes fill up): keep what is left held.
    while (!this.paused && this.held.length > 0) this.listener.onMessage(this.held.shift()!);
    if (this.paused) return;
    const end = this.heldEnd;
    this.heldEnd = undefined;
    if (end !== undefined) {
      end();
      return;
    }
    this.stream?.setPaused(false);
  }

  cancel(): void {
    this.abort(Code.CANCELLED, 'Cancelled on client');
  }

  expire(): void {
    this.timer = undefined;
    this.abort(Code.DEADLINE_EXCEEDED, this.deadlineText());
  }

  private deadlineText(): string {
    return `Deadline exceeded after ${this.budgetMs} ms`;
  }

  /** A local end: delivered at once (held messages are dropped: the call is over). */
  private abort(code: number, details: string): void {
    if (this.phase === Phase.Ended) return;
    const unsent = this.phase === Phase.Waiting;
    this.held = [];
    this.heldEnd = undefined;
    this.end_(code, details, CallMetadata.EMPTY, unsent);
    this.stream?.close(ErrorCode.CANCEL);
  }

  // ---- StreamListener

  onDrained(): void {
    if (!this.wantWritable || this.phase === Phase.Ended) return;
    this.wantWritable = false;
    this.listener.onWritable();
  }

  onHeaders(fields: string[], end: boolean): void {
    if (this.phase !== Phase.Running) return;
    const headers = readHeaderBlock(fields);
    if (this.gotResponse) {
      this.trailers(headers);
      return;
    }
    this.gotResponse = true;
    this.httpStatus = Number(headers.status);
    if (end) {
      this.trailers(headers);
      return;
    }
    const notGrpc = notGrpcResponse(this.httpStatus, headers.contentType);
    if (notGrpc !== undefined) {
      this.abort(notGrpc.code, notGrpc.details);
      return;
    }
    const enc = headers.grpcEncoding;
    if (enc !== undefined && enc !== 'identity') this.encoding = enc;
    this.headers = headers.metadata;
    this.listener.onHeaders(headers.metadata);
  }

  onData(chunk: Buffer): void {
    if (this.phase !== Phase.Running) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.phase === Phase.Running && this.pendingBytes >= 5) {
      let first = this.pending[0]!;
      if (first.length < 5) first = this.joinPending();
      const len = first.readUInt32BE(1);
      if (len > this.ctx.maxReceiveBytes) {
        this.abort(Code.RESOURCE_EXHAUSTED, `Received message larger than max (${len} vs ${this.ctx.maxReceiveBytes})`);
        return;
      }
      if (this.pendingBytes < 5 + len) return;
      const buf = this.pending.length === 1 ? first : this.joinPending();
      const rest = buf.subarray(5 + len);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      this.take(buf[0]!, buf.subarray(5, 5 + len));
    }
  }

  private joinPending(): Buffer {
    const one = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [one];
    return one;
  }

  private take(flag: number, body: Buffer): void {
    let message = body;
    if (flag === 1) {
      if (this.encoding !== 'gzip' && this.encoding !== 'deflate') {
        this.abort(Code.INTERNAL, `Received compressed message but "grpc-encoding" header was ${this.encoding ?? 'identity'}`);
        return;
      }
      const max = this.ctx.maxReceiveBytes;
      try {
        // Synchronous: a stream's messages must stay in order, and each is bounded by maxReceiveBytes.
        message = this.encoding === 'gzip' ? nodeZlib().gunzipSync(body, { maxOutputLength: max }) : nodeZlib().inflateSync(body, { maxOutputLength: max });
      } catch (err) {
        const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        this.abort(tooBig ? Code.RESOURCE_EXHAUSTED : Code.INTERNAL, tooBig ? `Received message that decompresses to a size larger than ${max}` : `Failed to decompress ${this.encoding}-encoded message`);
        return;
      }
    }
    // A held message is copied out of the socket's chunk, so a paused stream pins no more than its messages.
    if (this.paused) this.held.push(message === body ? Buffer.from(body) : message);
    else this.listener.onMessage(message);
  }

  private trailers(headers: HeaderBlock): void {
    const { code, details } = statusOfTrailers(headers, this.httpStatus);
    this.endAfterHeld(code, details, headers.metadata, false);
  }

  onClose(rst: number): void {
    const st = this.stream!;
    this.session!.streamClosed();
    if (this.phase !== Phase.Running) return;
    const e = closeEnd(rst, st.id, this.session!, this.httpStatus);
    this.endAfterHeld(e.code, e.details, CallMetadata.EMPTY, e.unprocessed, e.unknown);
  }

  /** The end the server gave: after the messages still held for a paused reader. */
  private endAfterHeld(code: number, details: string, trailers: CallMetadata, unprocessed: boolean, unknown = false): void {
    if (this.phase === Phase.Ended) return;
    if (this.paused && this.held.length > 0) {
      // The stream is over on the wire; only the delivery waits. The deadline no longer applies.
      this.phase = Phase.Ended;
      this.clearTimer();
      this.heldEnd = () => this.deliverEnd(code, details, trailers, unprocessed, unknown);
      return;
    }
    this.end_(code, details, trailers, unprocessed, unknown);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private end_(code: number, details: string, trailers: CallMetadata, unprocessed: boolean, unknown = false): void {
    if (this.phase === Phase.Ended) return;
    const wasWaiting = this.phase === Phase.Waiting;
    this.phase = Phase.Ended;
    this.clearTimer();
    if (wasWaiting) this.ctx.balancer.dequeue(this);
    this.deliverEnd(code, details, trailers, unprocessed, unknown);
  }

  private deliverEnd(code: number, details: string, trailers: CallMetadata, unprocessed: boolean, unknown: boolean): void {
    this.handle?.ended(code, details);
    this.listener.onEnd({ code, details, headers: this.headers, trailers, unprocessed, unknown });
  }
}
