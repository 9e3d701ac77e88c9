/**
 * One grpc-js client (one channel) per upstream target, shared by every route that uses it.
 *
 * grpc-js does retries, keepalive and load balancing itself when given a service config (gRFC A2, A6); we
 * hand it the contract's default retry policy (UNAVAILABLE, 3 attempts, jittered exponential backoff,
 * retry throttling) rather than retrying by hand.
 */
import * as grpc from '@grpc/grpc-js';
import type { UpstreamRef } from '../routing/routes.js';

/** The contract's default: only UNAVAILABLE is retried, up to 3 attempts, with throttling (gRFC A6). */
export const DEFAULT_SERVICE_CONFIG = Object.freeze({
  methodConfig: [
    {
      name: [{}],
      retryPolicy: {
        maxAttempts: 3,
        initialBackoff: '0.1s',
        maxBackoff: '2s',
        backoffMultiplier: 2,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
  // A dead upstream cannot turn every request into three: retries stop once most calls fail.
  retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
});

const CHANNEL_OPTIONS: grpc.ChannelOptions = Object.freeze({
  'grpc.service_config': JSON.stringify(DEFAULT_SERVICE_CONFIG),
  // channelz keeps per-call bookkeeping we do not expose; it costs CPU on every call.
  'grpc.enable_channelz': 0,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.max_send_message_length': 4 * 1024 * 1024,
});

/** The set of upstream clients of one snapshot. */
export interface Upstreams {
  /** The client for `ref`, created on first use. */
  forTarget(ref: UpstreamRef): grpc.Client;
  /** Each channel's connectivity state (grpc-js ConnectivityState name), read without connecting; for /metrics. */
  states(): Array<{ readonly upstream: string; readonly state: string }>;
  /** Closes every channel; calls still running fail with CANCELLED/UNAVAILABLE. */
  close(): void;
}

function keyOf(ref: UpstreamRef): string {
  return ref.tls ? `grpcs://${ref.target}` : ref.target;
}

/** Creates the client registry. Channels connect lazily, on their first call. */
export function createUpstreams(): Upstreams {
  const clients = new Map<string, grpc.Client>();
  return {
    forTarget(ref) {
      const key = keyOf(ref);
      let c = clients.get(key);
      if (c === undefined) {
        const creds = ref.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
        c = new grpc.Client(ref.target, creds, CHANNEL_OPTIONS);
        clients.set(key, c);
      }
      return c;
    },
    states() {
      return [...clients].map(([upstream, c]) => ({ upstream, state: grpc.connectivityState[c.getChannel().getConnectivityState(false)] }));
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}
