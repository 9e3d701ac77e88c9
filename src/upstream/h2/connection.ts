/**
 * One connection ("subchannel") to one address: an HTTP/2 session over TCP, TLS or a unix socket, its
 * connectivity state, reconnect backoff, keepalive and GOAWAY handling.
 *
 * States (grpc/doc/connectivity-semantics-and-api.md): IDLE → CONNECTING → READY; a failed connection
 * attempt → TRANSIENT_FAILURE, and after the backoff (connection-backoff.md, backoff.ts) CONNECTING again
 * on its own. A READY session that is lost (socket closed, GOAWAY, keepalive timeout, stream ids running
 * out, certificates rotated) returns the connection to IDLE; the balancer reconnects it at once (the
 * backoff was reset by the success). Nothing connects until asked (`connect()`).
 *
 * Keepalive (gRFC A8), shaped by what servers punish. grpc-go, grpc-java and C-core servers by default
 * allow one PING per 5 minutes while they send nothing, and none at all on a connection without calls; a
 * third offence closes the connection with GOAWAY ENHANCE_YOUR_CALM `too_many_pings`. Their strike count
 * starts again whenever the server sends HEADERS or DATA. So attache pings only where it learns something and
 * the server does not mind:
 * - a PING goes out when calls are in flight (or always, with `keepalivePermitWithoutCalls`) and nothing
 *   (no HEADERS, no DATA) has arrived on the session for `keepaliveTimeMs`: a call is waiting in silence;
 * - and only if the server sent HEADERS or DATA since our last PING, or `keepaliveServerMinTimeMs` has
 *   passed since it (the server's own rule, so a silent 10-minute call costs one PING per 5 minutes and
 *   never a strike);
 * - a PING unanswered for `keepaliveTimeoutMs` destroys the session; its calls end UNAVAILABLE.
 * One timer per connection drives it. Between calls, dead peers are found by TCP keepalive instead (the
 * socket's SO_KEEPALIVE after `keepaliveTimeMs` idle; libuv then probes every second, ten times), which
 * servers never see. A GOAWAY ENHANCE_YOUR_CALM `too_many_pings` still doubles this connection's keepalive
 * time, as A8 asks and grpc-js subchannel.ts does.
 *
 * GOAWAY (RFC 9113 §6.8): the session takes no new streams. A graceful (NO_ERROR) session closes once its
 * streams end, and streams above the last stream id end with REFUSED_STREAM (unprocessed); an error GOAWAY
 * ends the session at once (its streams end UNAVAILABLE; those above the last stream id are marked
 * unprocessed by the attempt, from `Session.goawayLastStreamId`). session.ts does both, as node:http2 did.
 *
 * Flow control: Node's default stream window is 64 KiB, so a 4 MiB response (attache's default maximum)
 * would need ~64 WINDOW_UPDATE round trips. We advertise a 1 MiB stream window and a 16 MiB connection
 * window: a maximal message arrives in 4 round trips while a session holds at most 16 MiB of unread data
 * (attache reads every DATA frame as it arrives, so windows refill at once). grpc-js instead starts at
 * 64 KiB and relies on BDP probing by the server side.
 *
 * Concurrency: when the server's SETTINGS_MAX_CONCURRENT_STREAMS is reached, session.ts keeps further
 * streams queued until one closes (test/transport/h2-wire.test.ts checks it), as nghttp2 does under grpc-js;
 * one session per address is therefore enough.
 *
 * The HTTP/2 framing is attache's own (session.ts: why, and what it costs less than node:http2); this module
 * only dials the socket (TCP, TLS with ALPN h2, unix) and hands it over.
 */
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { nodeTls } from '../lazy-builtins.js';
import type { Connectivity } from '../transport.js';
import { Backoff, MIN_CONNECT_TIMEOUT_MS } from './backoff.js';
import { ErrorCode } from './frames.js';
import { ClientSession } from './session.js';
import { SocketReads } from './socket-reads.js';
import { addressString, type TargetAddress } from './target.js';

/** PEM material for TLS (null fields: system roots / no client certificate). */
export interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

/** The outbound settings a connection reads (config schema `outbound`). */
export interface ConnectionSettings {
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly keepalivePermitWithoutCalls: boolean;
  /** The upstream's ping policy: at most one PING per this interval while it sends nothing (see above). */
  readonly keepaliveServerMinTimeMs: number;
  readonly reconnectInitialBackoffMs: number;
  readonly reconnectMaxBackoffMs: number;
}

/** Knobs only tests turn. */
export interface ConnectionInternals {
  /** Streams a session carries before it is replaced (default: 2^30, the odd client ids below 2^31). */
  readonly maxStreamsPerSession?: number;
  /** connection-backoff.md MIN_CONNECT_TIMEOUT (default 20 s). */
  readonly minConnectTimeoutMs?: number;
}

/** What a connection needs besides its address. */
export interface ConnectionOptions {
  readonly settings: ConnectionSettings;
  readonly internals: ConnectionInternals;
  /** TLS: the name sent as SNI and checked against the certificate; undefined for plaintext. */
  readonly tlsHost: string | undefined;
  /** Called after every state change. */
  readonly onState: (c: Connection) => void;
}

/** The windows above, and node:http2's default SETTINGS_MAX_HEADER_LIST_SIZE (what attache accepted before). */
const SESSION_OPTIONS = { streamWindow: 1 << 20, connectionWindow: 16 << 20, maxHeaderList: 65_535 };
const MAX_KEEPALIVE_MS = 2 ** 31 - 1;

/** One HTTP/2 session and what the attempts on it need to know about it. */
export class Session {
  /** Calls in flight (streams not yet closed). */
  streams = 0;
  /** Streams ever started. */
  used = 0;
  /** The last stream id of a received GOAWAY (-1: none). */
  goawayLastStreamId = -1;
  /** The error code of a received GOAWAY other than NO_ERROR (-1: none), and its debug data as text. */
  goawayError = -1;
  goawayDebug = '';
  /** Why the session can no longer be used (set before Node tears its streams down). */
  lostReason: string | undefined;

  constructor(readonly h2: ClientSession, readonly owner: Connection) {}

  /** Takes no new streams and closes once its streams are done. */
  retired = false;

  /** A stream of this session closed. */
  streamClosed(): void {
    if (--this.streams === 0 && this.retired) this.h2.close();
  }
}

/** One address's connection. Not shared between transports. */
export class Connection {
  state: Connectivity = 'IDLE';
  /** The last connection error, for fast-failed attempts. */
  lastError = '';
  /** The address as grpc-js prints it (the observer's `peer`). */
  readonly peer: string;
  /** The session new streams go on; set only while READY. */
  session: Session | undefined;
  private connecting: Session | undefined;
  private readonly draining = new Set<Session>();
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private keepaliveMs: number;
  /** The session's HEADERS/DATA count when the keepalive timer was last armed, and when we last pinged. */
  private heardAtArm = 0;
  private heardAtPing = -1;
  private lastPingAt = -Infinity;
  /** A PING is out and unanswered. */
  private pingOutstanding = false;
  private tlsMaterial: TlsMaterial | undefined;
  private closed = false;

  constructor(readonly address: TargetAddress, private readonly o: ConnectionOptions, tlsMaterial: TlsMaterial | undefined) {
    this.peer = addressString(address);
    this.tlsMaterial = tlsMaterial;
    this.keepaliveMs = o.settings.keepaliveTimeMs;
    this.backoff = new Backoff(o.settings.reconnectInitialBackoffMs, o.settings.reconnectMaxBackoffMs);
  }

  /** Starts connecting when IDLE; otherwise nothing (TRANSIENT_FAILURE reconnects after its backoff). */
  connect(): void {
    if (this.state === 'IDLE' && !this.closed) this.startConnect();
  }

  /** A READY session's stream started (counts for keepalive and stream-id exhaustion). */
  streamStarted(s: Session): void {
    s.streams++;
    if (++s.used >= (this.o.internals.maxStreamsPerSession ?? 2 ** 30)) this.retire(s, 'stream ids exhausted');
    else if (this.keepaliveTimer === undefined && s === this.session) this.scheduleKeepalive(this.keepaliveMs);
  }

  /**
   * New TLS material: new connections use it; the current session keeps its calls in flight, takes no new
   * ones and closes when they are done.
   */
  setTls(m: TlsMaterial): void {
    this.tlsMaterial = m;
    if (this.session !== undefined) this.retire(this.session, 'certificates rotated');
  }

  /** Closes every session now; their calls end UNAVAILABLE. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    for (const s of [this.session, this.connecting, ...this.draining]) {
      if (s === undefined) continue;
      s.lostReason ??= 'Transport closed';
      s.h2.destroy();
    }
    this.session = undefined;
    this.connecting = undefined;
    this.draining.clear();
    this.setState('SHUTDOWN');
  }

  private setState(s: Connectivity): void {
    if (this.state === s) return;
    this.state = s;
    this.o.onState(this);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    clearTimeout(this.keepaliveTimer);
    this.retryTimer = this.connectTimer = this.keepaliveTimer = undefined;
  }

  private startConnect(): void {
    this.retryTimer = undefined;
    const timeout = this.backoff.attemptStarted(Date.now(), this.o.internals.minConnectTimeoutMs ?? MIN_CONNECT_TIMEOUT_MS);
    const reads = new SocketReads();
    const sock = this.socket(reads);
    // Assigned below, before any of these can run (the socket's events come on later turns).
    let s: Session | undefined;
    const h2 = new ClientSession(
      sock,
      {
        // READY once the server's SETTINGS arrived (as grpc-js): a socket that accepts and never speaks HTTP/2
        // (a hung host, a black-holing proxy) stays CONNECTING, and calls wait instead of being sent into it.
        onRemoteSettings: () => this.onConnect(s!),
        onGoaway: (code, lastStreamId, data) => this.onGoaway(s!, code, lastStreamId, data),
        onError: (err) => this.onError(s!, err),
        onClose: () => this.onClose(s!),
      },
      SESSION_OPTIONS,
    );
    reads.deliverTo((chunk) => h2.receive(chunk));
    s = new Session(h2, this);
    // A TLS server that did not pick h2 speaks something else: say so now rather than wait for SETTINGS.
    if (this.o.tlsHost !== undefined) sock.once('secureConnect', () => this.checkAlpn(s));
    // Like grpc-js: an idle connection does not keep the process alive.
    sock.unref();
    this.connecting = s;
    this.connectTimer = setTimeout(() => {
      if (this.connecting !== s) return;
      s.lostReason = `Connection to ${this.peer} timed out after ${timeout} ms`;
      this.lastError = s.lostReason;
      h2.destroy();
    }, timeout);
    this.connectTimer.unref();
    this.setState('CONNECTING');
  }

  /**
   * The socket to the address. TLS material that cannot be used (a bad PEM) makes `tls.connect` throw: that
   * becomes a socket failing on the next turn, so it is a failed connection attempt like any other.
   */
  private socket(reads: SocketReads): net.Socket {
    const a = this.address;
    const where = a.kind === 'unix' ? { path: a.path, onread: reads.onread } : { host: a.host, port: a.port, onread: reads.onread };
    let sock: net.Socket;
    try {
      sock = this.o.tlsHost === undefined ? net.connect(where) : this.tlsSocket(where, this.o.tlsHost);
    } catch (err) {
      const failed = new net.Socket();
      setImmediate(() => failed.destroy(err instanceof Error ? err : new Error(String(err))));
      return failed;
    }
    sock.setNoDelay(true);
    // Finds a vanished peer between calls without a PING the server would count (see the module comment).
    sock.setKeepAlive(true, this.o.settings.keepaliveTimeMs);
    return sock;
  }

  private tlsSocket(where: ({ path: string } | { host: string; port: number }) & { onread: net.OnReadOpts }, name: string): TLSSocket {
    const m = this.tlsMaterial;
    return nodeTls().connect({
      ...where,
      ALPNProtocols: ['h2'],
      // SNI must be a host name (RFC 6066 §3), never an IP literal.
      ...(net.isIP(name) === 0 ? { servername: name } : {}),
      ca: m?.ca,
      cert: m?.cert,
      key: m?.key,
      // The certificate must name the target host or the serverName override, not the address dialled.
      checkServerIdentity: (_host, cert) => nodeTls().checkServerIdentity(name, cert),
    });
  }

  /** RFC 9113 §3.2: over TLS, HTTP/2 only when ALPN chose h2. False (and the session destroyed) otherwise. */
  private checkAlpn(s: Session): boolean {
    if ((s.h2.socket as TLSSocket).alpnProtocol === 'h2') return true;
    this.lastError = `${this.peer} did not negotiate HTTP/2 (ALPN h2)`;
    s.lostReason = this.lastError;
    s.h2.destroy();
    return false;
  }

  private onConnect(s: Session): void {
    if (this.connecting !== s) return;
    if (this.o.tlsHost !== undefined && !this.checkAlpn(s)) return;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.connecting = undefined;
    this.backoff.reset();
    this.session = s;
    this.heardAtPing = -1;
    this.lastPingAt = -Infinity;
    this.pingOutstanding = false;
    this.setState('READY');
    // Starting the calls queued for this session (in setState) may have armed the timer already.
    if (this.o.settings.keepalivePermitWithoutCalls && this.keepaliveTimer === undefined) this.scheduleKeepalive(this.keepaliveMs);
  }

  private onError(s: Session, err: Error): void {
    const why = `${this.peer}: ${err.message}`;
    s.lostReason ??= why;
    if (s === this.connecting || s === this.session) this.lastError = why;
  }

  private onGoaway(s: Session, code: number, lastStreamId: number, data: Buffer): void {
    s.goawayLastStreamId = lastStreamId;
    if (code !== ErrorCode.NO_ERROR) {
      s.goawayError = code;
      s.goawayDebug = data.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    }
    // gRFC A8: a server that finds our pings too frequent says so; ping half as often from now on.
    if (code === ErrorCode.ENHANCE_YOUR_CALM && data.toString() === 'too_many_pings') {
      this.keepaliveMs = Math.min(this.keepaliveMs * 2, MAX_KEEPALIVE_MS);
    }
    const why = `${this.peer} sent GOAWAY (code ${code})`;
    s.lostReason ??= why;
    if (s === this.session) this.lastError = why;
    this.detach(s);
  }

  /** The session is gone (its 'close', or its socket's end). Idempotent. */
  private onClose(s: Session): void {
    this.draining.delete(s);
    if (s === this.connecting) {
      this.connecting = undefined;
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      if (this.closed) return;
      if (this.lastError === '' || s.lostReason !== undefined) this.lastError = s.lostReason ?? `Connection to ${this.peer} closed`;
      this.retryTimer = setTimeout(() => this.startConnect(), this.backoff.delayAfterFailure(Date.now()));
      this.retryTimer.unref();
      this.setState('TRANSIENT_FAILURE');
      return;
    }
    s.lostReason ??= `Connection to ${this.peer} closed`;
    this.detach(s);
  }

  /** `s` takes no new streams: if it was the current session, the connection goes IDLE (the balancer reconnects). */
  private detach(s: Session): void {
    if (s !== this.session) return;
    this.session = undefined;
    clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    if (!s.h2.destroyed) this.draining.add(s);
    if (!this.closed) this.setState('IDLE');
  }

  /** Graceful replacement: no new streams on `s`, which closes once its calls are done. */
  private retire(s: Session, why: string): void {
    s.lostReason ??= `Connection to ${this.peer} replaced (${why})`;
    this.detach(s);
    s.retired = true;
    // Closed only once idle: close() sends GOAWAY, which servers may answer by refusing a stream just opened.
    if (s.streams === 0) s.h2.close();
  }

  /** Arms the connection's one keepalive timer (replacing any), to check the session in `ms`. */
  private scheduleKeepalive(ms: number): void {
    clearTimeout(this.keepaliveTimer);
    this.heardAtArm = this.session?.h2.framesIn ?? 0;
    this.keepaliveTimer = setTimeout(keepaliveTick, Math.min(Math.max(ms, 1), MAX_KEEPALIVE_MS), this);
    this.keepaliveTimer.unref();
  }

  /** The keepalive timer fired: ping if a call waits in silence and the server's policy allows it (module comment). */
  tick(): void {
    this.keepaliveTimer = undefined;
    const s = this.session;
    if (s === undefined || this.pingOutstanding) return;
    const o = this.o.settings;
    if (!o.keepalivePermitWithoutCalls && s.streams === 0) return; // armed again by the next call
    const heard = s.h2.framesIn;
    if (heard !== this.heardAtArm) {
      this.scheduleKeepalive(this.keepaliveMs); // the server spoke within the interval: nothing to learn
      return;
    }
    const now = Date.now();
    const allowedAt = heard !== this.heardAtPing ? now : this.lastPingAt + Math.max(o.keepaliveServerMinTimeMs, this.keepaliveMs);
    if (allowedAt > now) {
      this.scheduleKeepalive(allowedAt - now);
      return;
    }
    this.ping(s, heard, now);
  }

  private ping(s: Session, heard: number, now: number): void {
    let acked = false;
    const sent = s.h2.ping((ok) => {
      acked = ok;
      this.pingOutstanding = false;
      if (!ok || s !== this.session) return;
      this.scheduleKeepalive(this.keepaliveMs);
    });
    if (!sent) return;
    this.pingOutstanding = true;
    this.heardAtPing = heard;
    this.lastPingAt = now;
    this.keepaliveTimer = setTimeout(() => {
      this.keepaliveTimer = undefined;
      if (acked || s !== this.session) return;
      this.pingOutstanding = false;
      s.lostReason = `Keepalive timeout: ${this.peer} did not answer a PING within ${this.o.settings.keepaliveTimeoutMs} ms`;
      this.lastError = s.lostReason;
      this.detach(s);
      s.h2.destroy();
    }, this.o.settings.keepaliveTimeoutMs);
    this.keepaliveTimer.unref();
  }
}

function keepaliveTick(c: Connection): void {
  c.tick();
}
