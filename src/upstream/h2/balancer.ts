/**
 * Load balancing over a target's addresses: `pick_first` or `round_robin` (config `outbound.loadBalancing`),
 * the aggregated connectivity state, and the attempts waiting for a READY connection.
 *
 * Aggregation (grpc/doc/connectivity-semantics-and-api.md and the round_robin rules): READY if any
 * connection is READY; else CONNECTING while a connection (or the name lookup) is under way; else
 * TRANSIENT_FAILURE. Like grpc-js 1.14 (gRFC A62 "sticky TRANSIENT_FAILURE"), once every address has failed
 * the state stays TRANSIENT_FAILURE until a connection becomes READY, even while one is reconnecting after
 * its backoff: calls keep failing fast instead of each waiting out a reconnect attempt.
 *
 * Waiting: an attempt started while CONNECTING (or IDLE, which starts connecting) waits in the queue until a
 * connection is READY; it leaves at its deadline or on cancel (attempt.ts). Without wait-for-ready, when the
 * state becomes TRANSIENT_FAILURE every waiting attempt fails UNAVAILABLE with the last connection error —
 * only once the first connection attempt has finished, never while it is still CONNECTING.
 *
 * pick_first connects to the addresses one after another (the next when one fails) and sends everything to
 * the first READY one in address order; round_robin connects to all and rotates over the READY ones.
 */
import type { Connectivity } from '../transport.js';
import { Connection, type TlsMaterial } from './connection.js';
import { Resolver } from './resolver.js';
import { addressString, type TargetAddress } from './target.js';

/** An attempt waiting for a connection. */
export interface Waiter {
  /** A READY connection was picked for it. */
  dispatch(c: Connection): void;
  /** No connection can be had (TRANSIENT_FAILURE or shutdown). */
  failPick(details: string): void;
}

/** Builds the connection for an address (transport.ts supplies settings and TLS). */
export type ConnectionFactory = (a: TargetAddress, onState: (c: Connection) => void) => Connection;

export type Policy = 'pick_first' | 'round_robin';

export class Balancer {
  state: Connectivity = 'IDLE';
  private conns: Connection[] = [];
  private readonly queue = new Set<Waiter>();
  private next = 0;
  private active = false;
  private resolved = false;
  private sticky = false;
  private resolveError = '';
  private readonly resolver: Resolver;
  private readonly onState = (c: Connection): void => this.connectionChanged(c);

  constructor(
    spec: readonly TargetAddress[],
    private readonly policy: Policy,
    private readonly make: ConnectionFactory,
    retryMs: number,
  ) {
    this.resolver = new Resolver(spec, { addresses: (l) => this.setAddresses(l), failed: (e) => this.resolveFailed(e) }, retryMs);
  }

  /** A READY connection, or undefined. */
  pick(): Connection | undefined {
    const list = this.conns;
    const n = list.length;
    if (this.policy === 'pick_first') {
      for (let i = 0; i < n; i++) if (list[i]!.state === 'READY') return list[i];
      return undefined;
    }
    for (let k = 0; k < n; k++) {
      const c = list[(this.next + k) % n]!;
      if (c.state === 'READY') {
        this.next = (this.next + k + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  /** Leaves IDLE: resolves and connects. */
  exitIdle(): void {
    if (this.active || this.state === 'SHUTDOWN') return;
    this.active = true;
    this.setState('CONNECTING');
    this.resolver.resolve();
  }

  /** Queues `w` until a connection is READY (the caller checked the state is not TRANSIENT_FAILURE). */
  enqueue(w: Waiter): void {
    this.queue.add(w);
    this.exitIdle();
  }

  /** `w` leaves the queue (deadline or cancel). */
  dequeue(w: Waiter): void {
    this.queue.delete(w);
  }

  /** The reason attempts fail fast in TRANSIENT_FAILURE. */
  lastError(): string {
    for (const c of this.conns) if (c.lastError !== '') return c.lastError;
    return this.resolveError || 'no connection';
  }

  /** New TLS material for new connections (existing sessions drain). */
  setTls(m: TlsMaterial): void {
    for (const c of this.conns) c.setTls(m);
  }

  close(): void {
    if (this.state === 'SHUTDOWN') return;
    this.resolver.close();
    this.setState('SHUTDOWN');
    for (const c of this.conns) c.close();
    this.conns = [];
    this.failQueue('Transport closed');
  }

  private setAddresses(list: readonly TargetAddress[]): void {
    if (this.state === 'SHUTDOWN') return;
    this.resolved = true;
    this.resolveError = '';
    const old = new Map(this.conns.map((c) => [c.peer, c]));
    const conns: Connection[] = [];
    for (const a of list) {
      const key = addressString(a);
      if (conns.some((c) => c.peer === key)) continue;
      const keep = old.get(key);
      old.delete(key);
      conns.push(keep ?? this.make(a, this.onState));
    }
    this.conns = conns;
    for (const c of old.values()) c.close();
    this.connectSome();
    this.update();
  }

  private resolveFailed(error: string): void {
    if (this.state === 'SHUTDOWN') return;
    this.resolveError = error;
    if (this.conns.length === 0) {
      this.resolved = true;
      this.update();
    }
  }

  /** round_robin: every IDLE connection; pick_first: the first IDLE one unless one is READY or CONNECTING. */
  private connectSome(): void {
    if (!this.active) return;
    if (this.policy === 'round_robin') {
      for (const c of this.conns) c.connect();
      return;
    }
    for (const c of this.conns) {
      if (c.state === 'READY' || c.state === 'CONNECTING') return;
      if (c.state === 'IDLE') {
        c.connect();
        return;
      }
    }
  }

  private connectionChanged(c: Connection): void {
    if (this.state === 'SHUTDOWN' || !this.conns.includes(c)) return;
    if (c.state === 'TRANSIENT_FAILURE' && !this.resolver.static) this.resolver.resolve();
    this.connectSome();
    this.update();
  }

  private update(): void {
    let ready = false;
    let connecting = !this.resolved;
    let idle = false;
    for (const c of this.conns) {
      if (c.state === 'READY') ready = true;
      else if (c.state === 'CONNECTING') connecting = true;
      else if (c.state === 'IDLE') idle = true;
    }
    if (ready) {
      this.sticky = false;
      this.setState('READY');
      this.drain();
    } else if (this.sticky) {
      this.setState('TRANSIENT_FAILURE');
    } else if (connecting || (idle && this.active)) {
      this.setState(this.active ? 'CONNECTING' : 'IDLE');
    } else if (idle) {
      this.setState('IDLE');
    } else {
      this.sticky = true;
      this.setState('TRANSIENT_FAILURE');
      this.failQueue(this.lastError());
    }
  }

  private setState(s: Connectivity): void {
    this.state = s;
  }

  private drain(): void {
    if (this.queue.size === 0) return;
    const waiting = [...this.queue];
    this.queue.clear();
    for (const w of waiting) {
      const c = this.pick();
      if (c === undefined) this.queue.add(w);
      else w.dispatch(c);
    }
  }

  private failQueue(details: string): void {
    if (this.queue.size === 0) return;
    const waiting = [...this.queue];
    this.queue.clear();
    for (const w of waiting) w.failPick(details);
  }
}
