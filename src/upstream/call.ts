/**
 * One unary gRPC call with pre-serialised bytes.
 *
 * attache encodes and decodes messages itself (the JSON codec), so grpc-js is given identity
 * (de)serialisers and moves Buffers only. The outcome is delivered once grpc-js reports the final status,
 * because trailers arrive with the status, after the response callback has run.
 */
import type * as grpc from '@grpc/grpc-js';

/** What a finished call produced. `error` is set when the status is not OK. */
export interface UnaryOutcome {
  readonly response: Buffer | undefined;
  readonly error: grpc.ServiceError | undefined;
  readonly headers: grpc.Metadata | undefined;
  readonly trailers: grpc.Metadata | undefined;
}

export interface RunningCall {
  /** Cancels the call (the upstream sees CANCELLED); the outcome then carries code 1. */
  cancel(): void;
  readonly done: Promise<UnaryOutcome>;
}

const identity = (b: Buffer): Buffer => b;
const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Starts a unary call of `path` (`/pkg.Service/Method`) on `client`.
 * @param timeoutMs  relative deadline; grpc-js ends the call with DEADLINE_EXCEEDED when it passes
 */
export function callUnary(
  client: grpc.Client,
  path: string,
  request: Uint8Array,
  metadata: grpc.Metadata,
  timeoutMs: number,
): RunningCall {
  let response: Buffer | undefined;
  let error: grpc.ServiceError | undefined;
  let headers: grpc.Metadata | undefined;
  let resolve!: (o: UnaryOutcome) => void;
  const done = new Promise<UnaryOutcome>((r) => (resolve = r));
  const call = client.makeUnaryRequest<Buffer, Buffer>(
    path,
    identity,
    identity,
    toBuffer(request),
    metadata,
    { deadline: Date.now() + timeoutMs },
    (err, value) => {
      error = err ?? undefined;
      response = value;
    },
  );
  call.on('metadata', (md: grpc.Metadata) => {
    headers = md;
  });
  call.on('status', (status: grpc.StatusObject) => {
    resolve({ response, error, headers, trailers: status.metadata });
  });
  return { cancel: () => call.cancel(), done };
}
