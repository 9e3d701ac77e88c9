/**
 * The lean HTTP/2 transport against real grpc-js servers: metadata both ways, statuses with details,
 * deadlines and cancellation as the server sees them, load balancing, unix sockets, reconnection, close.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptHandle } from '../../src/upstream/attempt-lb.js';
import { CallMetadata } from '../../src/upstream/call-metadata.js';
import { attempt, call, echo, grpcServer, sleep, Transports, until, type GrpcServer } from './support.js';

const transports = new Transports();
const servers: GrpcServer[] = [];
afterEach(async () => {
  transports.closeAll();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const serve = async (...args: Parameters<typeof grpcServer>): Promise<GrpcServer> => {
  const s = await grpcServer(...args);
  servers.push(s);
  return s;
};

describe('h2 transport ↔ grpc-js server', () => {
  it('a unary call: bytes both ways, metadata both ways (with -bin), headers before the end', async () => {
    let seen: grpc.Metadata | undefined;
    const s = await serve((c, cb) => {
      seen = c.metadata;
      const h = new grpc.Metadata();
      h.set('x-h', 'hv');
      h.set('x-h-bin', Buffer.from([0, 255]));
      c.sendMetadata(h);
      const tr = new grpc.Metadata();
      tr.set('x-t', 'tv');
      cb(null, Buffer.concat([Buffer.from('re:'), c.request]), tr);
    });
    const t = transports.make(s.target);
    const md = CallMetadata.of([['x-req', 'a'], ['x-req-bin', Buffer.from([1, 2, 3])]]);
    const o = await call(t, { md, msg: Buffer.from('hello') });
    expect(o).toMatchObject({ code: 0, unprocessed: false, sawHeaders: true });
    expect(o.response?.toString()).toBe('re:hello');
    expect(o.headers?.getAll('x-h')).toEqual(['hv']);
    expect(o.headers?.getAll('x-h-bin')).toEqual([Buffer.from([0, 255])]);
    expect(o.trailers.getAll('x-t')).toEqual(['tv']);
    expect(o.trailers.getAll('grpc-status')).toEqual([]);
    expect(seen?.get('x-req')).toEqual(['a']);
    expect(seen?.get('x-req-bin')).toEqual([Buffer.from([1, 2, 3])]);
    expect(String(seen?.get('user-agent')[0])).toContain('attache');
    expect(t.connectivity(false)).toBe('READY');
  });

  it('an empty response message is a message', async () => {
    const s = await serve((_c, cb) => cb(null, Buffer.alloc(0)));
    const o = await call(transports.make(s.target));
    expect(o.code).toBe(0);
    expect(o.response?.length).toBe(0);
  });

  it('an error status with grpc-status-details-bin and a percent-encoded message', async () => {
    const details = Buffer.from([8, 5, 18, 3, 0x61, 0x62, 0x63]);
    const s = await serve((_c, cb) => {
      const tr = new grpc.Metadata();
      tr.set('grpc-status-details-bin', details);
      cb({ code: grpc.status.NOT_FOUND, details: 'no such thing: 100% «gone»', metadata: tr });
    });
    const o = await call(transports.make(s.target));
    expect(o).toMatchObject({ code: 5, details: 'no such thing: 100% «gone»', response: undefined, unprocessed: false });
    expect(o.trailers.getAll('grpc-status-details-bin')).toEqual([details]);
  });

  it('unknown method: UNIMPLEMENTED from the server', async () => {
    const s = await serve(echo);
    const o = await call(transports.make(s.target), { path: '/t.v1.Svc/Nope' });
    expect(o.code).toBe(12);
  });

  it('deadline: DEADLINE_EXCEEDED locally and grpc-timeout/RST_STREAM at the server', async () => {
    let cancelled = false;
    let deadline: Date | number | undefined;
    const s = await serve((c) => {
      deadline = c.getDeadline();
      c.on('cancelled', () => (cancelled = true));
    });
    const t0 = Date.now();
    const o = await call(transports.make(s.target), { timeoutMs: 300 });
    expect(o.code).toBe(4);
    expect(Date.now() - t0).toBeLessThan(1500);
    // grpc-timeout reached the server: its deadline is ~300 ms after the start, not its default (none).
    expect(Number(deadline)).toBeGreaterThan(t0 + 200);
    expect(Number(deadline)).toBeLessThan(t0 + 1000);
    await until(() => cancelled);
  });

  it('cancel: CANCELLED at once, and the server sees the call cancelled', async () => {
    let cancelled = false;
    let started = false;
    const s = await serve((c) => {
      started = true;
      c.on('cancelled', () => (cancelled = true));
    });
    const t = transports.make(s.target);
    const a = attempt(t);
    await until(() => started);
    a.control.cancel();
    a.control.cancel();
    expect((await a.done).code).toBe(1);
    await until(() => cancelled);
  });

  it('a message over maxSendBytes: RESOURCE_EXHAUSTED without a call', async () => {
    let calls = 0;
    const s = await serve((c, cb) => (calls++, cb(null, c.request)));
    const o = await call(transports.make(s.target, { settings: { maxSendBytes: 10 } }), { msg: Buffer.alloc(11) });
    expect(o).toMatchObject({ code: 8, unprocessed: false });
    expect(calls).toBe(0);
  });

  it('a response over maxReceiveBytes: RESOURCE_EXHAUSTED', async () => {
    const s = await serve((_c, cb) => cb(null, Buffer.alloc(2000)));
    const o = await call(transports.make(s.target, { settings: { maxReceiveBytes: 1000 } }));
    expect(o.code).toBe(8);
    expect(o.details).toContain('larger than max');
  });

  it('a 3 MiB response arrives whole', async () => {
    const big = Buffer.alloc(3 << 20, 7);
    const s = await serve((_c, cb) => cb(null, big));
    const o = await call(transports.make(s.target));
    expect(o.code).toBe(0);
    expect(o.response?.equals(big)).toBe(true);
  });

  it('a 3 MiB request and its 3 MiB echo arrive whole, and a second call on the same session after them too', async () => {
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
    const s = await serve(echo);
    const t = transports.make(s.target);
    const o = await call(t, { msg: big });
    expect(o.code).toBe(0);
    expect(o.response?.equals(big)).toBe(true);
    const small = await call(t, { msg: Buffer.from('after') });
    expect(small.response?.toString()).toBe('after');
  });

  it('round_robin spreads calls over two servers; pick_first uses the first', async () => {
    const hits = [0, 0];
    const a = await serve((c, cb) => (hits[0]!++, cb(null, c.request)));
    const b = await serve((c, cb) => (hits[1]!++, cb(null, c.request)));
    const target = `ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}`;
    const rr = transports.make(target);
    await call(rr); // connects
    await until(() => rr.connectivity(false) === 'READY');
    await sleep(50); // the second connection
    hits[0] = hits[1] = 0;
    for (let i = 0; i < 10; i++) expect((await call(rr)).code).toBe(0);
    expect(hits).toEqual([5, 5]);
    hits[0] = hits[1] = 0;
    const pf = transports.make(target, { settings: { loadBalancing: 'pick_first' } });
    for (let i = 0; i < 6; i++) expect((await call(pf)).code).toBe(0);
    expect(hits).toEqual([6, 0]);
  });

  it('pick_first moves to the next address when the first refuses', async () => {
    const b = await serve(echo);
    const dead = await serve(echo);
    const deadPort = dead.port;
    await dead.close();
    servers.splice(servers.indexOf(dead), 1);
    const t = transports.make(`ipv4:127.0.0.1:${deadPort},127.0.0.1:${b.port}`, { settings: { loadBalancing: 'pick_first' } });
    expect((await call(t)).code).toBe(0);
  });

  it('a unix socket target', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-h2-'));
    const sock = path.join(dir, 's.sock');
    await serve(echo, { bind: `unix:${sock}` });
    const t = transports.make(`unix:${sock}`);
    const o = await call(t, { msg: Buffer.from('via unix') });
    expect(o.response?.toString()).toBe('via unix');
    transports.closeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a dns name target (localhost)', async () => {
    const s = await serve(echo);
    const o = await call(transports.make(`dns:///localhost:${s.port}`));
    expect(o.code).toBe(0);
  });

  it('connection refused: fails fast UNAVAILABLE after the first attempt (a failed pick: not unprocessed, so no transparent retry), recovers when the server comes up', async () => {
    const probe = await serve(echo);
    const port = probe.port;
    await probe.close();
    servers.splice(0);
    const t = transports.make(`127.0.0.1:${port}`);
    expect(t.connectivity(false)).toBe('IDLE');
    const first = await call(t);
    expect(first).toMatchObject({ code: 14, unprocessed: false });
    expect(first.details).toContain('ECONNREFUSED');
    expect(t.connectivity(false)).toBe('TRANSIENT_FAILURE');
    const t0 = Date.now();
    const second = await call(t);
    expect(second.code).toBe(14);
    expect(Date.now() - t0).toBeLessThan(50);
    await serve(echo, { bind: `127.0.0.1:${port}` });
    await until(() => t.connectivity(false) === 'READY', 3000);
    expect((await call(t)).code).toBe(0);
  });

  it('connectivity(true) connects an idle transport', async () => {
    const s = await serve(echo);
    const t = transports.make(s.target);
    expect(t.connectivity(false)).toBe('IDLE');
    expect(t.connectivity(true)).toBe('CONNECTING');
    await until(() => t.connectivity(false) === 'READY');
  });

  it('close() ends calls in flight UNAVAILABLE, and later calls too', async () => {
    let started = 0;
    const s = await serve(() => void started++);
    const t = transports.make(s.target);
    const a = attempt(t);
    const b = attempt(t);
    await until(() => started === 2);
    t.close();
    t.close();
    expect((await a.done).code).toBe(14);
    expect((await b.done).code).toBe(14);
    expect((await call(t)).code).toBe(14);
    expect(t.connectivity(true)).toBe('SHUTDOWN');
  });

  it('the server restarting: the transport reconnects and calls go through again', async () => {
    const s = await serve(echo);
    const port = s.port;
    const t = transports.make(s.target);
    expect((await call(t)).code).toBe(0);
    await s.close();
    servers.splice(0);
    await until(() => t.connectivity(false) !== 'READY');
    await serve(echo, { bind: `127.0.0.1:${port}` });
    await until(() => t.connectivity(false) === 'READY', 3000);
    expect((await call(t)).code).toBe(0);
  });

  it('the observer sees each attempt with its peer and its end, and may rewrite its metadata', async () => {
    let seen: grpc.Metadata | undefined;
    const s = await serve((c, cb) => {
      seen = c.metadata;
      cb(null, c.request);
    });
    const events: Array<[string, string | undefined, number?]> = [];
    const observer = {
      attempt(md: CallMetadata, peer: string | undefined): AttemptHandle {
        events.push(['start', peer]);
        return { metadata: md.with('traceparent', 'x'), ended: (code: number) => events.push(['end', peer, code]) };
      },
    };
    const t = transports.make(s.target, { observer });
    const md = CallMetadata.of([['x-keep', 'k']]);
    await call(t, { md });
    expect(events).toEqual([['start', s.target], ['end', s.target, 0]]);
    expect(seen?.get('traceparent')).toEqual(['x']);
    expect(seen?.get('x-keep')).toEqual(['k']);
    expect(md.get('traceparent')).toBeUndefined(); // the caller's metadata is left alone
    await s.close();
    servers.splice(0);
    await until(() => t.connectivity(false) !== 'READY');
    events.length = 0;
    const failed = await call(t);
    expect(failed.code).toBe(14);
    expect(events).toEqual([['start', undefined], ['end', undefined, 14]]);
  });

  it('many concurrent calls on one session', async () => {
    const s = await serve((c, cb) => setTimeout(() => cb(null, c.request), 5));
    const t = transports.make(s.target);
    const outs = await Promise.all(Array.from({ length: 200 }, (_, i) => call(t, { msg: Buffer.from(String(i)) })));
    expect(outs.map((o) => o.response?.toString())).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
  });
});

