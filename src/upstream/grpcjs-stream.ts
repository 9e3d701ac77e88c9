/**
 * A streaming call on a grpc-js channel, as a {@link MessageCall}: on the channel's own call API
 * (`Channel.createCall` + a listener), as call.ts does for unary calls, so messages stay Buffers.
 *
 * Flow control is grpc-js's own: a response message is only read after `startRead()`, which is asked for
 * again after each delivered message unless the caller paused (grpc-js then stops reading the HTTP/2
 * stream and nghttp2 stops granting window: a slow reader slows the server). A request message's write
 * callback fires once grpc-js handed it to the HTTP/2 stream; `write` returns false while more than
 * {@link HIGH_WATER} bytes wait for theirs, and `onWritable` follows when none wait.
 * Retries: grpc-js's RetryingCall commits a call at its first response headers, so a stream whose first
 * response arrived is never replayed.
 */
import type * as grpc from '@grpc/grpc-js';
import { fromGrpcJsMetadata } from './grpcjs-metadata.js';
import type { MessageCall, MessageListener } from './stream-call.js';

const HIGH_WATER = 64 * 1024;

type ChannelCall = ReturnType<grpc.Channel['createCall']>;

class GrpcJsStream implements MessageCall {
  call!: ChannelCall;
  private paused = false;
  /** A startRead() is outstanding (grpc-js delivers at most one message per startRead). */
  private reading = false;
  /**
   * Messages waiting to be handed to grpc-js: its call takes one message at a time (the next only after
   * the previous one's write callback, as its own ClientWritableStream does through Node's Writable).
   */
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private sending = false;
  private wantWritable = false;
  private ended = false;
  private halfClosed = false;
  private halfCloseSent = false;
  private readonly written = (): void => {
    this.sending = false;
    this.pump();
  };
  constructor(private readonly listener: MessageListener) {}

  onReceiveMetadata(metadata: grpc.Metadata): void {
    this.listener.onHeaders(fromGrpcJsMetadata(metadata));
  }

  onReceiveMessage(message: Buffer): void {
    this.reading = false;
    this.listener.onMessage(message);
    if (!this.paused && !this.ended) this.read();
  }

  onReceiveStatus(status: grpc.StatusObject): void {
    if (this.ended) return;
    this.ended = true;
    this.listener.onEnd({ code: status.code, details: status.details, headers: undefined, trailers: fromGrpcJsMetadata(status.metadata) });
  }

  read(): void {
    this.reading = true;
    this.call.startRead();
  }

  write(message: Uint8Array): boolean {
    if (this.ended || this.halfClosed) return true;
    const b = Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    this.queue.push(b);
    this.queuedBytes += b.length;
    this.pump();
    if (this.queuedBytes < HIGH_WATER) return true;
    this.wantWritable = true;
    return false;
  }

  private pump(): void {
    if (this.sending || this.ended) return;
    const next = this.queue.shift();
    if (next !== undefined) {
      this.queuedBytes -= next.length;
      this.sending = true;
      this.call.sendMessageWithContext({ callback: this.written }, next);
      return;
    }
    if (this.halfClosed && !this.halfCloseSent) {
      this.halfCloseSent = true;
      this.call.halfClose();
    }
    if (this.wantWritable) {
      this.wantWritable = false;
      this.listener.onWritable();
    }
  }

  end(): void {
    if (this.ended || this.halfClosed) return;
    this.halfClosed = true;
    this.pump();
  }

  cancel(): void {
    if (this.ended) return;
    this.call.cancelWithStatus(1 /* CANCELLED */, 'Cancelled on client');
    // grpc-js 1.14 ResolvingCall: a cancel that lands before its config promise settles ends the call, yet
    // the promise then still creates and starts the child call, which nothing cancels (the server would
    // wait for the stream to end until its deadline). Cancelling again once that promise has run reaches
    // the child; on an already-cancelled call it is a no-op.
    const call = this.call;
    setImmediate(() => call.cancelWithStatus(1 /* CANCELLED */, 'Cancelled on client'));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.reading && !this.ended) this.read();
  }
}

/**
 * Opens a streaming call of `path` on `client`'s channel; request messages follow with `write`.
 * @param timeoutMs  relative deadline for the whole stream; grpc-js ends it with DEADLINE_EXCEEDED
 * @throws Error when the channel is closed (grpc-js throws from createCall)
 */
export function openGrpcJsStream(client: grpc.Client, path: string, metadata: grpc.Metadata, timeoutMs: number, listener: MessageListener): MessageCall {
  const s = new GrpcJsStream(listener);
  const call = client.getChannel().createCall(path, Date.now() + timeoutMs, undefined, null, undefined);
  s.call = call;
  // The listener shape grpc-js's own streaming clients pass: headers, each message, the status.
  call.start(metadata, {
    onReceiveMetadata: (md) => s.onReceiveMetadata(md),
    onReceiveMessage: (m: Buffer) => s.onReceiveMessage(m),
    onReceiveStatus: (st) => s.onReceiveStatus(st),
  });
  s.read();
  return s;
}
