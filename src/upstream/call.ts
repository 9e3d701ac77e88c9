/**
 * One unary gRPC call with pre-serialised bytes.
 *
 * attache encodes and decodes messages itself (the JSON codec), so the call moves Buffers only. It is made
 * on the channel's own call API (`Channel.createCall` + a listener: what grpc-js's Client builds on) rather
 * than `Client.makeUnaryRequest`, which per call also builds an EventEmitter, the (empty) interceptor chain,
 * an options copy, two wrapper listeners with their closures, and captures a stack trace (`new Error()`) to
 * decorate errors we never show. Retries, deadlines, load balancing and the service config all live below
 * `createCall` (ResolvingCall → RetryingCall → LoadBalancingCall), so nothing of those is lost.
 * The outcome is delivered once grpc-js reports the final status, because trailers arrive with the status,
 * after the message. Metadata crosses to attache's own type here (grpcjs-metadata.ts), at grpc-js's boundary.
 */
import type * as grpc from '@grpc/grpc-js';
import type { CallMetadata } from './call-metadata.js';
import { fromGrpcJsMetadata } from './grpcjs-metadata.js';
import { toBuffer } from './stream-call.js';

/** A call's final non-OK status: google.rpc.Code number, grpc-message (or attache's words), the trailers. */
export interface CallStatus {
  readonly code: number;
  readonly details: string;
  readonly metadata: CallMetadata;
}

/**
 * What a finished call produced, on either wire, in attache metadata. `error` is the final status when it
 * is not OK (code, details, trailers).
 */
export interface UnaryOutcome {
  readonly response: Buffer | undefined;
  readonly error: CallStatus | undefined;
  readonly headers: CallMetadata | undefined;
  readonly trailers: CallMetadata | undefined;
  /**
   * attache did not send the call: its upstream credential could not be obtained (credentials.ts). The
   * upstream is not at fault, so its circuit breaker counts the outcome as neither success nor failure.
   */
  readonly unsent?: true;
}

export interface RunningCall {
  /** Cancels the call (the upstream sees CANCELLED); the outcome then carries code 1. */
  cancel(): void;
  readonly done: Promise<UnaryOutcome>;
}

/** grpc-js's call listener (its `InterceptingListener`), which the package does not export by name. */
interface CallListener {
  onReceiveMetadata(metadata: grpc.Metadata): void;
  onReceiveMessage(message: Buffer): void;
  onReceiveStatus(status: grpc.StatusObject): void;
}

/** The part of grpc-js's `Call` used here (`Channel.createCall`'s result). */
type ChannelCall = ReturnType<grpc.Channel['createCall']>;

const OK = 0;
const NO_CONTEXT = Object.freeze({});

/** The call's state and its own listener: one object per call, no closures. */
class UnaryCall implements RunningCall, CallListener {
  readonly done: Promise<UnaryOutcome>;
  private resolve!: (o: UnaryOutcome) => void;
  private response: Buffer | undefined;
  private headers: CallMetadata | undefined;
  private finished = false;
  call!: ChannelCall;

  constructor() {
    this.done = new Promise<UnaryOutcome>((r) => (this.resolve = r));
  }

  onReceiveMetadata(metadata: grpc.Metadata): void {
    this.headers = fromGrpcJsMetadata(metadata);
  }

  onReceiveMessage(message: Buffer): void {
    if (this.response !== undefined) {
      this.call.cancelWithStatus(12 /* UNIMPLEMENTED */, 'Too many responses received');
      return;
    }
    this.response = message;
  }

  onReceiveStatus(status: grpc.StatusObject): void {
    if (this.finished) return;
    this.finished = true;
    const trailers = fromGrpcJsMetadata(status.metadata);
    let error: CallStatus | undefined;
    // An OK status without a message is what grpc-js's own unary client reports as INTERNAL.
    if (status.code === OK && this.response === undefined) error = { code: 13, details: 'No message received', metadata: trailers };
    else if (status.code !== OK) error = { code: status.code, details: status.details, metadata: trailers };
    this.resolve({ response: error === undefined ? this.response : undefined, error, headers: this.headers, trailers });
  }

  cancel(): void {
    this.call.cancelWithStatus(1 /* CANCELLED */, 'Cancelled on client');
  }
}

/**
 * Starts a unary call of `path` (`/pkg.Service/Method`) on `client`'s channel.
 * @param timeoutMs  relative deadline; grpc-js ends the call with DEADLINE_EXCEEDED when it passes
 */
export function callUnary(
  client: grpc.Client,
  path: string,
  request: Uint8Array,
  metadata: grpc.Metadata,
  timeoutMs: number,
): RunningCall {
  const state = new UnaryCall();
  const call = client.getChannel().createCall(path, Date.now() + timeoutMs, undefined, null, undefined);
  state.call = call;
  // The order grpc-js's own unary client uses: start, ask for the (one) message, send, half-close.
  call.start(metadata, state);
  call.startRead();
  call.sendMessageWithContext(NO_CONTEXT, toBuffer(request));
  call.halfClose();
  return state;
}
