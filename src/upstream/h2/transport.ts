/**
 * attache's own unary gRPC transport, on its own HTTP/2 client framing (session.ts): `createH2Transport`
 * gives a {@link Transport} for one upstream target (host:port, dns:, ipv4:, ipv6:, unix:), plaintext or TLS.
 *
 * Why attache has its own: grpc-js implements the whole client — resolving call, retrying call,
 * load-balancing call, subchannel call, filter stacks, per-call AsyncResource binding — and that machinery
 * above HTTP/2 costs ~55–80 µs of the ~170 µs attache spends on a request, more than attache's whole
 * dynamic layer; the same unary exchange on bare node:http2 takes 0.44× the CPU (bench/RESULTS.md §6). A
 * unary call needs far less: one stream, HEADERS + one DATA frame out, headers, DATA, trailers back. The
 * policy above it (retries, hedging: retrying.ts) is transport-independent; targets this module does not
 * parse (target.ts returns undefined: xds:, unix-abstract:…) keep grpc-js.
 *
 * Layers: target.ts (what to dial) → resolver.ts (dns lookups) → balancer.ts (pick_first/round_robin,
 * aggregated state, the wait queue) → connection.ts (one HTTP/2 session per address: backoff, keepalive,
 * GOAWAY, TLS) → session.ts (the HTTP/2 connection: frames.ts, hpack.ts, huffman.ts) → attempt.ts (one
 * exchange on a stream).
 */
import type { CallMetadata } from '../call-metadata.js';
import type { AttemptControl, AttemptListener, AttemptObserver, Connectivity, StreamAttemptControl, StreamAttemptListener, StreamTransport } from '../transport.js';
import { Attempt, type AttemptContext } from './attempt.js';
import { Balancer } from './balancer.js';
import { StreamAttempt } from './stream-attempt.js';
import { Connection, type ConnectionInternals, type ConnectionSettings, type TlsMaterial } from './connection.js';
import type { ParsedTarget } from './target.js';

export type { TlsMaterial } from './connection.js';

/** The outbound settings the transport reads (a subset of config `outbound`, so `Config['outbound']` fits). */
export interface H2Settings extends ConnectionSettings {
  readonly maxSendBytes: number;
  readonly maxReceiveBytes: number;
  readonly loadBalancing: 'round_robin' | 'pick_first';
}

export interface H2TransportOptions {
  /** From `parseTarget(target, serverName)`. */
  readonly target: ParsedTarget;
  /** TLS material for grpcs:// upstreams; undefined for plaintext. */
  readonly tls: TlsMaterial | undefined;
  readonly settings: H2Settings;
  /** Sees every attempt (per-attempt CLIENT spans); see attempt-lb.ts for the contract. */
  readonly observer?: AttemptObserver;
  /** `user-agent` header (default `attache grpc-node-h2`). */
  readonly userAgent?: string;
  /** Test-only knobs. */
  readonly internals?: ConnectionInternals;
}

/** The transport plus the TLS swap. */
export interface H2Transport extends StreamTransport {
  /**
   * New TLS material (certificate rotation, tls.ts `watchTls`): new connections use it; sessions already
   * open finish their calls in flight and then close. Ignored for a plaintext transport.
   */
  setTls(material: TlsMaterial): void;
}

const NO_CONTROL: AttemptControl = Object.freeze({ cancel: () => undefined });

/**
 * Creates the transport. Nothing connects until the first attempt or `connectivity(true)`.
 * Never throws for a parsed target; bad TLS material shows up as failing connections (TRANSIENT_FAILURE).
 */
export function createH2Transport(o: H2TransportOptions): H2Transport {
  const s = o.settings;
  const secure = o.tls !== undefined;
  let tlsMaterial = o.tls;
  const internals = o.internals ?? {};
  const balancer = new Balancer(
    o.target.addresses,
    s.loadBalancing,
    (a, onState) => new Connection(a, { settings: s, internals, tlsHost: secure ? o.target.tlsHost : undefined, onState }, tlsMaterial),
    s.reconnectInitialBackoffMs,
  );
  const ctx: AttemptContext = {
    balancer,
    observer: o.observer,
    scheme: secure ? 'https' : 'http',
    authority: o.target.authority,
    userAgent: o.userAgent ?? 'attache grpc-node-h2',
    maxSendBytes: s.maxSendBytes,
    maxReceiveBytes: s.maxReceiveBytes,
    prefixes: new Map(),
  };
  return {
    start(path: string, metadata: CallMetadata, message: Buffer, deadline: number, listener: AttemptListener): AttemptControl {
      const a = new Attempt(ctx, path, metadata, message, deadline, listener);
      try {
        a.start();
      } catch (err) {
        // Never throws (Transport contract): an unexpected failure is this attempt's UNAVAILABLE.
        a.failPick(`attache h2 transport: ${err instanceof Error ? err.message : String(err)}`);
        return NO_CONTROL;
      }
      return a;
    },
    open(path: string, metadata: CallMetadata, deadline: number, listener: StreamAttemptListener): StreamAttemptControl {
      const a = new StreamAttempt(ctx, path, metadata, deadline, listener);
      try {
        a.start();
      } catch (err) {
        a.failPick(`attache h2 transport: ${err instanceof Error ? err.message : String(err)}`);
      }
      return a;
    },
    connectivity(connect: boolean): Connectivity {
      if (connect && balancer.state === 'IDLE') balancer.exitIdle();
      return balancer.state;
    },
    setTls(material: TlsMaterial): void {
      if (!secure) return;
      tlsMaterial = material;
      balancer.setTls(material);
    },
    close(): void {
      balancer.close();
    },
  };
}
