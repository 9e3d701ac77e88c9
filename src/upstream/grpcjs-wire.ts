/**
 * An upstream's calls on a grpc-js channel: for targets the lean transport does not handle (`xds:`, …), with
 * raw grpc-js `channelOptions`, behind an HTTP proxy, or with `--upstream-transport grpc-js`.
 *
 * grpc-js does retries, hedging, keepalive, reconnection and load balancing itself; the channel is given:
 * - the service config built at load time (service-config.ts: per-method retry/hedging, retry throttling,
 *   the load-balancing policy), with DNS TXT service config turned off so only ours applies. Methods that
 *   are not safe to repeat get no grpc-js retry policy: attache's own driver retries them over single
 *   grpc-js attempts (grpcjs-attempts.ts), so a call whose connection was lost is never sent twice;
 * - keepalive per gRFC A8, at an interval servers accept: grpc-js pings every keepalive time while calls
 *   are in flight, whether or not the server is talking, so it gets max(time, serverMinTime) (the lean
 *   transport pings only into silence: h2/connection.ts). grpc-js honours a server's GOAWAY
 *   `too_many_pings` by doubling its keepalive time (subchannel.ts), the back-off A8 asks clients for;
 * - message size limits, reconnect backoff (gRPC connection-backoff.md), and the pass-through options;
 * - its own subchannel pool, so its connections are its own and close with it.
 *
 * Certificate rotation builds a new channel for new calls; the old one closes once its calls have finished.
 */
import * as grpc from '@grpc/grpc-js';
import { Code } from '../status/status.js';
import { registerAttemptLbPolicy } from './attempt-lb.js';
import { callWithPerTryTimeout } from './attempts.js';
import { callUnary, type CallStatus, type RunningCall, type UnaryOutcome } from './call.js';
import { createGrpcJsAttempts } from './grpcjs-attempts.js';
import { openGrpcJsStream } from './grpcjs-stream.js';
import { failedStreamCall, toBuffer, type MessageCall } from './stream-call.js';
import { CallMetadata } from './call-metadata.js';
import { toGrpcJsMetadata } from './grpcjs-metadata.js';
import type { UpstreamEvents, Wire } from './channels.js';
import type { OutboundSettings } from './policy.js';
import { callWithPolicy, createRetryThrottle } from './retrying.js';
import type { UpstreamPlan } from './service-config.js';
import { watchTls, type Material, type TlsSource } from './tls.js';
import type { Connectivity } from './transport.js';

/** Channel options from the settings and the plan. */
export function channelOptions(plan: UpstreamPlan, s: OutboundSettings): grpc.ChannelOptions {
  const serverName = plan.policy.tls?.serverName;
  return {
    'grpc.service_config': plan.serviceConfigJson,
    'grpc.service_config_disable_resolution': 1,
    // channelz keeps per-call bookkeeping we do not expose; it costs CPU on every call.
    'grpc.enable_channelz': 0,
    'grpc.use_local_subchannel_pool': 1,
    'grpc.keepalive_time_ms': Math.max(s.keepaliveTimeMs, s.keepaliveServerMinTimeMs),
    'grpc.keepalive_timeout_ms': s.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': s.keepalivePermitWithoutCalls ? 1 : 0,
    'grpc.max_send_message_length': s.maxSendBytes,
    'grpc.max_receive_message_length': s.maxReceiveBytes,
    'grpc.initial_reconnect_backoff_ms': s.reconnectInitialBackoffMs,
    'grpc.max_reconnect_backoff_ms': s.reconnectMaxBackoffMs,
    ...(serverName !== undefined ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
    ...s.channelOptions,
  };
}

/** A channel and the calls still running on it. */
interface Generation {
  readonly client: grpc.Client;
  inflight: number;
  retired: boolean;
}

function failedCall(message: string): RunningCall {
  const error: CallStatus = { code: Code.UNAVAILABLE, details: message, metadata: CallMetadata.EMPTY };
  const outcome: UnaryOutcome = { response: undefined, error, headers: undefined, trailers: undefined };
  return { cancel: () => undefined, done: Promise.resolve(outcome) };
}

/** grpc-js credentials of TLS material that tls.ts checked already (so this does not throw). */
function credentialsOf(m: Material): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(m.ca ?? null, m.key ?? null, m.cert ?? null);
}

/**
 * The grpc-js wire of one upstream. The channel connects on its first call, or when readiness asks.
 * @throws Error when a grpcs:// upstream's certificate files cannot be read (they were checked at load time)
 */
export function createGrpcJsWire(key: string, plan: UpstreamPlan, s: OutboundSettings, events: UpstreamEvents): Wire {
  const options = channelOptions(plan, s);
  const target = plan.policy.target;
  let tls: TlsSource | undefined;
  let current: Generation;
  const retire = (g: Generation): void => {
    g.retired = true;
    if (g.inflight === 0) g.client.close();
  };
  // The plan's service config may name attache's attempt-observing policy (telemetry/attempt-spans.ts).
  registerAttemptLbPolicy();
  if (plan.policy.tls !== undefined) {
    tls = watchTls(
      plan.policy.tls,
      s.tlsReloadMs,
      (material) => {
        const old = current;
        current = { client: new grpc.Client(target, credentialsOf(material), options), inflight: 0, retired: false };
        retire(old);
        events.tlsRotated?.(key);
      },
      (err) => events.tlsError?.(key, err),
    );
  }
  current = { client: new grpc.Client(target, tls === undefined ? grpc.credentials.createInsecure() : credentialsOf(tls.material), options), inflight: 0, retired: false };
  const connectivity = (connect: boolean): Connectivity => grpc.connectivityState[current.client.getChannel().getConnectivityState(connect)] as Connectivity;
  // Unsafe methods' retries (see the module comment): attempts on the current channel, their own throttle.
  const attempts = createGrpcJsAttempts(() => current.client, connectivity);
  const throttle = createRetryThrottle(s.retryThrottleMaxTokens, s.retryThrottleTokenRatio);
  return {
    call(route, request, callMetadata, timeoutMs) {
      const g = current;
      let running: RunningCall;
      try {
        const retry = route.policy.retry;
        if (retry !== undefined && !route.policy.safe) {
          running = callWithPolicy(attempts, route.grpcPath, toBuffer(request), callMetadata, timeoutMs, route.policy, throttle);
        } else {
          // grpc-js clones what it is given per attempt, so one conversion serves every try.
          const metadata = toGrpcJsMetadata(callMetadata);
          running =
            retry?.perTryTimeoutMs !== undefined
              ? callWithPerTryTimeout((ms) => callUnary(g.client, route.grpcPath, request, metadata, ms), { ...retry, perTryTimeoutMs: retry.perTryTimeoutMs }, timeoutMs)
              : callUnary(g.client, route.grpcPath, request, metadata, timeoutMs);
        }
      } catch (err) {
        return failedCall(`the channel to ${key} is closed: ${err instanceof Error ? err.message : String(err)}`);
      }
      g.inflight++;
      void running.done.then(() => {
        if (--g.inflight === 0 && g.retired) g.client.close();
      });
      return running;
    },
    stream(route, callMetadata, timeoutMs, listener) {
      const g = current;
      let call: MessageCall;
      try {
        call = openGrpcJsStream(g.client, route.grpcPath, toGrpcJsMetadata(callMetadata), timeoutMs, {
          onHeaders: (h) => listener.onHeaders(h),
          onMessage: (m) => listener.onMessage(m),
          onWritable: () => listener.onWritable(),
          onEnd: (e) => {
            if (--g.inflight === 0 && g.retired) g.client.close();
            listener.onEnd(e);
          },
        });
      } catch (err) {
        return failedStreamCall(listener, Code.UNAVAILABLE, `the channel to ${key} is closed: ${err instanceof Error ? err.message : String(err)}`, CallMetadata.EMPTY);
      }
      g.inflight++;
      return call;
    },
    connectivity,
    close() {
      tls?.close();
      current.client.close();
    },
  };
}
