/**
 * Single attempts on a grpc-js channel, as a {@link Transport}, so attache's policy driver (retrying.ts) can
 * retry an unsafe method's calls on the grpc-js wire: grpc-js's own retries cannot tell a status the server
 * answered from a connection lost after the request was delivered, and would repeat a POST whose outcome is
 * unknown (the at-most-once rule, retrying.ts). The channel is given no retry policy for such methods
 * (service-config.ts), so each call here is one attempt; grpc-js still makes the gRFC A6 transparent retry of
 * a refused stream itself, which is always safe.
 *
 * Which failures are "outcome unknown" ({@link isLostCall}): grpc-js reports them only in words, the ones its
 * subchannel-call.ts writes when the stream or the connection ends before trailers. They are matched exactly;
 * a server could send the same words as its own status, and would then only lose a retry, never gain one.
 */
import type * as grpc from '@grpc/grpc-js';
import { Code } from '../status/status.js';
import { toBuffer } from './stream-call.js';
import type { CallMetadata } from './call-metadata.js';
import { fromGrpcJsMetadata, toGrpcJsMetadata } from './grpcjs-metadata.js';
import type { AttemptControl, AttemptListener, Connectivity, Transport } from './transport.js';

/** grpc-js subchannel-call.ts's words for a stream or connection lost before the status arrived. */
const LOST_DETAILS = /^(?:Connection dropped|Call cancelled|Bandwidth exhausted or memory limit exceeded|Protocol not secure enough|Received RST_STREAM with code \d+.*|[a-z]+ E(?:CONNRESET|TIMEDOUT))$/;

/** Whether a grpc-js status says the call was lost after it was sent, before the server's status. */
export function isLostCall(code: number, details: string): boolean {
  return code !== Code.OK && LOST_DETAILS.test(details);
}

const NO_CONTEXT = Object.freeze({});

/** One attempt's state, and grpc-js's listener for it. */
class GrpcJsAttempt implements AttemptControl {
  private response: Buffer | undefined;
  private headers: CallMetadata | undefined;
  private ended = false;
  call!: ReturnType<grpc.Channel['createCall']>;

  constructor(private readonly listener: AttemptListener) {}

  onReceiveMetadata(metadata: grpc.Metadata): void {
    this.headers = fromGrpcJsMetadata(metadata);
    this.listener.onHeaders();
  }

  onReceiveMessage(message: Buffer): void {
    if (this.response !== undefined) {
      this.call.cancelWithStatus(Code.UNIMPLEMENTED, 'Too many responses received');
      return;
    }
    this.response = message;
  }

  onReceiveStatus(status: grpc.StatusObject): void {
    if (this.ended) return;
    this.ended = true;
    const ok = status.code === Code.OK;
    this.listener.onEnd({
      code: status.code,
      details: status.details,
      response: ok ? this.response : undefined,
      headers: this.headers,
      trailers: fromGrpcJsMetadata(status.metadata),
      unprocessed: false,
      unknown: isLostCall(status.code, status.details),
    });
  }

  cancel(): void {
    this.call.cancelWithStatus(Code.CANCELLED, 'Cancelled on client');
  }
}

/** A Transport whose attempts are single calls on the channel of `client()` (read per attempt: rotation). */
export function createGrpcJsAttempts(client: () => grpc.Client, connectivity: (connect: boolean) => Connectivity): Transport {
  return {
    start(path, metadata, message, deadline, listener) {
      const a = new GrpcJsAttempt(listener);
      const call = client().getChannel().createCall(path, deadline, undefined, null, undefined);
      a.call = call;
      call.start(toGrpcJsMetadata(metadata), a);
      call.startRead();
      call.sendMessageWithContext(NO_CONTEXT, toBuffer(message));
      call.halfClose();
      return a;
    },
    connectivity,
    close: () => undefined,
  };
}
