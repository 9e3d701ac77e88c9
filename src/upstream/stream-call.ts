/**
 * The call interface over messages: one shape for the streaming kinds (server, client, bidi) on either
 * wire. A caller writes request messages (with backpressure), half-closes, pauses and resumes delivery of
 * response messages (flow control reaches the upstream), and hears headers, each message and one end.
 * A unary call is the same exchange with one message each way; it keeps its own leaner path (call.ts,
 * retrying.ts: one promise, no listener objects) because it is the hot path bench/RESULTS.md measures.
 *
 * Retries on attache's own transport (gRFC A6 semantics, simplest correct policy for streams): one attempt,
 * plus one transparent retry when the attempt was not processed by the server (refused, beyond a GOAWAY,
 * never sent) before any response headers arrived and while at most one request message had been written
 * (kept, so the retry can send it again). A stream whose first response arrived is never replayed, and
 * policy retries and hedging (which would replay a client's messages) do not apply to streams. On grpc-js,
 * its RetryingCall commits a call at its first response headers, with the same effect.
 */
import { Code } from '../status/status.js';
import type { CallMetadata } from './call-metadata.js';
import type { StreamAttemptControl, StreamAttemptListener, StreamEnd, StreamTransport } from './transport.js';

/** How a streaming call ended: its status, with the response headers and trailers. */
export interface CallEnd {
  /** google.rpc.Code number. */
  readonly code: number;
  readonly details: string;
  readonly headers: CallMetadata | undefined;
  readonly trailers: CallMetadata;
}

/** What the caller hears: at most one `onHeaders`, `onMessage` per response message, exactly one `onEnd`. */
export interface MessageListener {
  onHeaders(headers: CallMetadata): void;
  onMessage(message: Buffer): void;
  /** After a `write` returned false: the request messages written so far have gone out. */
  onWritable(): void;
  onEnd(end: CallEnd): void;
}

/** A running streaming call. Every method is a no-op once the call ended. */
export interface MessageCall {
  /** Sends a serialised request message; false asks the caller to wait for `onWritable`. */
  write(message: Uint8Array): boolean;
  /** Half-closes the request side. */
  end(): void;
  /** Ends the call with CANCELLED (the upstream sees CANCELLED); `onEnd` follows at once. */
  cancel(): void;
  /** Stops and restarts delivery of response messages; while paused the upstream is slowed (flow control). */
  pause(): void;
  resume(): void;
}

/** The same bytes as a Buffer, without copying (protobufjs's writer may hand back a plain Uint8Array). */
export const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The streaming call driver over attache's own transport (see the module comment for its retry rule). */
class StreamCall implements MessageCall, StreamAttemptListener {
  private attempt: StreamAttemptControl | undefined;
  private written = 0;
  private first: Buffer | undefined;
  private halfClosed = false;
  private paused = false;
  private committed = false;
  private retried = false;
  private ended = false;

  constructor(
    private readonly transport: StreamTransport,
    private readonly path: string,
    private readonly metadata: CallMetadata,
    private readonly deadline: number,
    private readonly listener: MessageListener,
  ) {}

  begin(): void {
    const a = this.transport.open(this.path, this.metadata, this.deadline, this);
    // An attempt that ended inside open() may already have been replaced by its transparent retry.
    if (!this.retried) this.attempt = a;
  }

  write(message: Uint8Array): boolean {
    if (this.ended || this.halfClosed) return true;
    const m = toBuffer(message);
    if (++this.written === 1) this.first = m;
    else this.first = undefined;
    return this.attempt!.write(m);
  }

  end(): void {
    if (this.ended || this.halfClosed) return;
    this.halfClosed = true;
    this.attempt!.end();
  }

  cancel(): void {
    if (this.ended) return;
    this.attempt!.cancel(); // its onEnd (CANCELLED) ends the call
  }

  pause(): void {
    this.paused = true;
    this.attempt?.pause();
  }

  resume(): void {
    this.paused = false;
    this.attempt?.resume();
  }

  onHeaders(headers: CallMetadata): void {
    this.committed = true;
    this.listener.onHeaders(headers);
  }

  onMessage(message: Buffer): void {
    this.committed = true;
    this.listener.onMessage(message);
  }

  onWritable(): void {
    if (!this.ended) this.listener.onWritable();
  }

  onEnd(end: StreamEnd): void {
    if (this.ended) return;
    if (end.unprocessed && !this.committed && !this.retried && this.written <= 1 && Date.now() < this.deadline) {
      // gRFC A6 transparent retry: the server application never saw this stream.
      this.retried = true;
      const a = this.transport.open(this.path, this.metadata, this.deadline, this);
      this.attempt = a;
      if (this.paused) a.pause();
      if (this.first !== undefined) a.write(this.first);
      if (this.halfClosed) a.end();
      return;
    }
    this.ended = true;
    this.first = undefined;
    this.listener.onEnd({ code: end.code, details: end.details, headers: end.headers, trailers: end.trailers });
  }
}

/**
 * Opens a streaming call of `path` on attache's own transport; request messages follow with `write`.
 * Never throws; a failure is an `onEnd` (possibly before this returns).
 */
export function openStreamCall(transport: StreamTransport, path: string, metadata: CallMetadata, timeoutMs: number, listener: MessageListener): MessageCall {
  const call = new StreamCall(transport, path, metadata, Date.now() + timeoutMs, listener);
  call.begin();
  return call;
}

/** A call that failed before it started (a closed channel): `onEnd` on the next tick, so the caller is set up. */
export function failedStreamCall(listener: MessageListener, code: Code, details: string, trailers: CallMetadata): MessageCall {
  let cancelled = false;
  setImmediate(() => {
    if (!cancelled) listener.onEnd({ code, details, headers: undefined, trailers });
  });
  const noop = (): void => undefined;
  return {
    write: () => true,
    end: noop,
    cancel: () => {
      if (cancelled) return;
      cancelled = true;
      listener.onEnd({ code: Code.CANCELLED, details: 'Cancelled on client', headers: undefined, trailers });
    },
    pause: noop,
    resume: noop,
  };
}
