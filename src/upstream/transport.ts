/**
 * The seam between a call's policy (retries, hedging, per-try timeouts: retrying.ts) and the wire that
 * carries one attempt (the lean HTTP/2 transport in h2/, or grpc-js).
 *
 * Why a seam at all: grpc-js implements the whole client (resolver → retries → load balancing → subchannel
 * → HTTP/2), and its per-call machinery above HTTP/2 costs more CPU than everything else attache does for a
 * request (bench/RESULTS.md §6: the same unary call is 0.44× the CPU on bare node:http2). So attache drives
 * its own attempts for the targets it can reach directly (host:port, dns:, ipv4:, ipv6:, unix:) and keeps
 * grpc-js for the rest. Everything above this file (guard, pipeline, telemetry) sees one `RunningCall` per
 * call either way.
 *
 * Types only; no behaviour.
 */
import type { CallMetadata } from './call-metadata.js';

/** gRPC connectivity states (grpc/doc/connectivity-semantics-and-api.md), named as grpc-js names them. */
export type Connectivity = 'IDLE' | 'CONNECTING' | 'READY' | 'TRANSIENT_FAILURE' | 'SHUTDOWN';

/** How one attempt ended. */
export interface AttemptEnd {
  /** google.rpc.Code number; 0 only with a `response`. */
  readonly code: number;
  /** grpc-message (percent-decoded) or attache's own words for a local failure. */
  readonly details: string;
  /** The one response message, for code 0. */
  readonly response: Buffer | undefined;
  /**
   * Response headers when the server sent them before the message (undefined: trailers-only or none).
   * Neither this nor `trailers` holds pseudo-headers or the gRPC fields the transport consumes
   * (`grpc-status`, `grpc-message` — they are `code` and `details` —, `grpc-encoding`, `grpc-accept-encoding`).
   */
  readonly headers: CallMetadata | undefined;
  /** Trailers, or the headers of a trailers-only response; CallMetadata.EMPTY when there were none. */
  readonly trailers: CallMetadata;
  /**
   * The attempt is known not to have reached the server application (no connection, stream refused,
   * GOAWAY before the stream was processed, written before the connection failed): gRFC A6 lets it be
   * retried transparently, whatever the retry policy.
   */
  readonly unprocessed: boolean;
  /**
   * The outcome is unknown: the request was delivered (the stream was not refused, nor above a GOAWAY's last
   * stream id), then the stream or the connection was lost before a status arrived (connection closed or
   * reset, GOAWAY with an error, RST_STREAM, keepalive timeout). The server application may have acted, so
   * the policy driver sends such an attempt again only for a method that is safe to repeat. False for every
   * status the upstream answered itself, and for attache's own deadline and cancel.
   */
  readonly unknown: boolean;
}

/** What an attempt reports, in order: at most one `onHeaders`, then exactly one `onEnd`. */
export interface AttemptListener {
  /** Response headers arrived (not trailers-only): gRFC A6 commits the call to this attempt. */
  onHeaders(): void;
  onEnd(end: AttemptEnd): void;
}

/** A running attempt. */
export interface AttemptControl {
  /** Ends the attempt with CANCELLED (RST_STREAM CANCEL on the wire); `onEnd` still fires once. Idempotent. */
  cancel(): void;
}

/** The wire to one upstream: connections, name resolution, load balancing, keepalive, TLS. */
export interface Transport {
  /**
   * Starts one attempt of `path` (`/pkg.Service/Method`) with `metadata` (sent as this attempt's headers,
   * `-bin` values base64-encoded; immutable, so attempts may share it) and the serialised `message`.
   * Waits for a READY connection while the upstream is connecting, fails at once with UNAVAILABLE while it
   * is in TRANSIENT_FAILURE (gRPC wait-for-ready off), and ends with DEADLINE_EXCEEDED at `deadline`
   * (epoch ms; also sent as `grpc-timeout`). Never throws; every failure is an `onEnd`.
   */
  start(path: string, metadata: CallMetadata, message: Buffer, deadline: number, listener: AttemptListener): AttemptControl;
  /** The aggregated state of the upstream's connections; `connect` asks an IDLE transport to connect. */
  connectivity(connect: boolean): Connectivity;
  /** Closes every connection; attempts still running end with UNAVAILABLE. Idempotent. */
  close(): void;
}

/** One attempt being watched. */
export interface AttemptHandle {
  /**
   * The metadata this attempt sends instead of the one the observer was given (the observer's own trace
   * headers, say); undefined: send it as given.
   */
  readonly metadata?: CallMetadata | undefined;
  /** The attempt ended with `code` (its end, or a failed pick). Called at most once. */
  ended(code: number, details: string): void;
}

/**
 * Watches the attempts of one attache instance's calls, on either wire (the lean transport calls it per
 * attempt at pick time; on grpc-js the `attache_attempts` load-balancing policy does: attempt-lb.ts).
 */
export interface AttemptObserver {
  /**
   * An attempt is about to start (or failed its pick) with `metadata`. `peer` is the picked address
   * (undefined for a failed pick). Returns undefined to leave the attempt alone. Must not throw.
   */
  attempt(metadata: CallMetadata, peer: string | undefined): AttemptHandle | undefined;
}

/** How a streaming attempt ended: an {@link AttemptEnd} without a response (the messages came one by one). */
export type StreamEnd = Omit<AttemptEnd, 'response'>;

/**
 * What a streaming attempt reports, in order: at most one `onHeaders`, any number of `onMessage` (none
 * while paused), then exactly one `onEnd`; `onWritable` whenever the request messages written so far have
 * all gone out, after a `write` that returned false.
 */
export interface StreamAttemptListener {
  /** Response headers arrived (not trailers-only): the call is committed to this attempt (gRFC A6). */
  onHeaders(headers: CallMetadata): void;
  onMessage(message: Buffer): void;
  onWritable(): void;
  onEnd(end: StreamEnd): void;
}

/** A running streaming attempt: the request side, flow control of the response side, and cancel. */
export interface StreamAttemptControl extends AttemptControl {
  /**
   * Sends one serialised request message. False when the messages not yet sent (flow control) are above the
   * high-water mark: the caller waits for `onWritable` before writing more. Ignored after `end` or the end.
   */
  write(message: Buffer): boolean;
  /** Half-closes: no more request messages (END_STREAM). Idempotent. */
  end(): void;
  /**
   * Stops delivering messages; the transport then stops granting the server flow-control credit, so at
   * most a bounded window of response data waits here (a slow reader slows the server). Messages that
   * arrive meanwhile, and the end, are delivered after `resume`.
   */
  pause(): void;
  resume(): void;
}

/** A transport that also carries streaming calls (all four kinds as a stream of messages each way). */
export interface StreamTransport extends Transport {
  /**
   * Opens one streaming attempt of `path` with `metadata`; request messages follow with `write`. The same
   * connection, deadline and failure rules as {@link Transport.start}. Never throws; every failure is an
   * `onEnd`.
   */
  open(path: string, metadata: CallMetadata, deadline: number, listener: StreamAttemptListener): StreamAttemptControl;
}
