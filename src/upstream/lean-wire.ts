/**
 * An upstream's calls on attache's own HTTP/2 transport (h2/) with the gRFC A6 policy driver (retrying.ts)
 * on top: the wire for `host:port`, `dns:`, `ipv4:`, `ipv6:` and `unix:` targets unless the settings ask
 * for grpc-js (see {@link leanTargetOf}). Why attache has its own transport: h2/transport.ts.
 *
 * Per upstream: one transport (its connections, resolver, balancer, keepalive, TLS) and one retry throttle
 * (gRFC A6 throttling is per channel, as grpc-js keeps it). Certificate rotation hands the transport new
 * PEM material: new connections use it, open sessions finish their calls first.
 */
import type { AttemptObserver } from './attempt-lb.js';
import type { UpstreamEvents, Wire } from './channels.js';
import { createH2Transport, type H2Transport } from './h2/transport.js';
import { parseTarget, type ParsedTarget } from './h2/target.js';
import type { OutboundSettings } from './policy.js';
import { callWithPolicy, createRetryThrottle } from './retrying.js';
import { openStreamCall, toBuffer } from './stream-call.js';
import type { UpstreamPlan } from './service-config.js';
import { watchTls, type TlsSource } from './tls.js';

/** grpc-js's proxy variables (http_proxy.ts): with one set, grpc-js tunnels through the proxy; we do not. */
const PROXY_VARIABLES = ['grpc_proxy', 'https_proxy', 'http_proxy'] as const;

/**
 * The parsed target when this upstream gets the lean transport: `transport: auto`, no raw grpc-js
 * `channelOptions` (they only mean something to grpc-js), no proxy variable set, and a target syntax the
 * transport reaches (h2/target.ts). Undefined: use grpc-js.
 */
export function leanTargetOf(plan: UpstreamPlan, s: OutboundSettings, env: NodeJS.ProcessEnv): ParsedTarget | undefined {
  if (s.transport !== 'auto') return undefined;
  if (Object.keys(s.channelOptions).length > 0) return undefined;
  if (PROXY_VARIABLES.some((v) => (env[v] ?? '') !== '')) return undefined;
  return parseTarget(plan.policy.target, plan.policy.tls?.serverName);
}

/**
 * The lean wire of one upstream. Nothing connects until the first call or a readiness check asks.
 * @throws Error when a grpcs:// upstream's certificate files cannot be read (they were checked at load time)
 */
export function createLeanWire(
  key: string,
  plan: UpstreamPlan,
  target: ParsedTarget,
  s: OutboundSettings,
  events: UpstreamEvents,
  observer: AttemptObserver | undefined,
  userAgent: string | undefined,
): Wire {
  let transport: H2Transport | undefined;
  let tls: TlsSource | undefined;
  if (plan.policy.tls !== undefined) {
    tls = watchTls(
      plan.policy.tls,
      s.tlsReloadMs,
      (material) => {
        transport?.setTls(material);
        events.tlsRotated?.(key);
      },
      (err) => events.tlsError?.(key, err),
    );
  }
  const t = createH2Transport({ target, tls: tls?.material, settings: s, ...(observer !== undefined ? { observer } : {}), ...(userAgent !== undefined ? { userAgent } : {}) });
  transport = t;
  const throttle = createRetryThrottle(s.retryThrottleMaxTokens, s.retryThrottleTokenRatio);
  return {
    call: (route, request, metadata, timeoutMs) => callWithPolicy(t, route.grpcPath, toBuffer(request), metadata, timeoutMs, route.policy, throttle),
    stream: (route, metadata, timeoutMs, listener) => openStreamCall(t, route.grpcPath, metadata, timeoutMs, listener),
    connectivity: (connect) => t.connectivity(connect),
    close() {
      tls?.close();
      t.close();
    },
  };
}
