/**
 * Name resolution for `dns:` targets: `dns.promises.lookup(host, { all: true })` (the system resolver, as
 * most clients and grpc-js's fallback use; literal IPs and the other schemes need no lookup).
 *
 * Re-resolution is asked for when connections fail and is rate-limited like grpc-js resolver-dns.ts: at
 * most one lookup per `minIntervalMs` (30 s, `grpc.dns_min_time_between_resolutions_ms`), except that the
 * first request after a successful lookup that is older than the interval runs at once; a request inside
 * the interval runs when it ends. A failed lookup is retried after `retryMs` (the reconnect backoff).
 */
import dns from 'node:dns';
import type { TargetAddress } from './target.js';

/** grpc-js `DEFAULT_MIN_TIME_BETWEEN_RESOLUTIONS_MS`. */
export const MIN_RESOLUTION_INTERVAL_MS = 30_000;

/** The lookup function (dns.promises.lookup's shape), replaceable in tests. */
export type Lookup = (host: string, options: { all: true }) => Promise<Array<{ address: string; family: number }>>;

/** Where results go. */
export interface ResolverListener {
  addresses(list: readonly TargetAddress[]): void;
  failed(error: string): void;
}

/** Resolves one target's addresses, again when asked. */
export class Resolver {
  private lastAt = -Infinity;
  private running = false;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly spec: readonly TargetAddress[],
    private readonly listener: ResolverListener,
    private readonly retryMs: number,
    private readonly minIntervalMs = MIN_RESOLUTION_INTERVAL_MS,
    private readonly lookup: Lookup = dns.promises.lookup as Lookup,
  ) {}

  /** True when the addresses are final (no name to look up). */
  get static(): boolean {
    return this.spec.every((a) => a.kind === 'unix' || a.literal);
  }

  /** Resolves now if allowed, else once the interval has passed. Static targets answer synchronously. */
  resolve(): void {
    if (this.closed) return;
    if (this.static) {
      this.listener.addresses(this.spec);
      return;
    }
    if (this.running || this.timer !== undefined) {
      this.pending = true;
      return;
    }
    const wait = this.lastAt + this.minIntervalMs - Date.now();
    if (wait > 0) this.later(wait);
    else void this.run();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private later(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.running = true;
    this.pending = false;
    const out: TargetAddress[] = [];
    let error: string | undefined;
    try {
      for (const a of this.spec) {
        if (a.kind === 'unix' || a.literal) {
          out.push(a);
          continue;
        }
        const found = await this.lookup(a.host, { all: true });
        for (const f of found) out.push({ kind: 'tcp', host: f.address, port: a.port, literal: true });
      }
      if (out.length === 0) error = `DNS resolution of ${this.names()} returned no addresses`;
    } catch (err) {
      error = `DNS resolution of ${this.names()} failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    }
    this.running = false;
    if (this.closed) return;
    if (error !== undefined) {
      this.listener.failed(error);
      this.later(this.retryMs);
      return;
    }
    this.lastAt = Date.now();
    this.listener.addresses(out);
    if (this.pending) this.later(this.minIntervalMs);
  }

  private names(): string {
    return this.spec.map((a) => (a.kind === 'unix' ? a.path : a.host)).join(', ');
  }
}
