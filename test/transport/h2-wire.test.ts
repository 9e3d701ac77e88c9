/**
 * The lean HTTP/2 transport against raw node:http2 servers, for answers a grpc-js server never gives:
 * trailers-only, plain HTTP errors, split and extra messages, compression, resets, GOAWAY, silence.
 */
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { answer, attempt, call, echo, frame, GRPC, grpcServer, sleep, transportTestScope, until, type GrpcServer } from './support.js';

const C = http2.constants;
const { transports, defer, raw } = transportTestScope();

describe('h2 transport ↔ raw HTTP/2 server', () => {
  it('trailers-only: status, decoded message and metadata from the one HEADERS frame; no onHeaders', async () => {
    const s = await raw((st) => st.respond({ ...GRPC, 'grpc-status': '7', 'grpc-message': 'no%20way%3A%20%E2%9C%8B', 'x-m': 'v' }, { endStream: true }));
    const o = await call(transports.make(s.target));
    expect(o).toMatchObject({ code: 7, details: 'no way: ✋', headers: undefined, sawHeaders: false, unprocessed: false });
    expect(o.trailers.getAll('x-m')).toEqual(['v']);
  });

  it.each([[503, 14], [404, 12], [401, 16], [500, 2]])('HTTP %d without grpc-status → code %d (trailers-only or with a body)', async (status, code) => {
    const s = await raw((st, h) => {
      if (h[':path']!.endsWith('Body')) {
        st.respond({ ':status': status, 'content-type': 'text/html' });
        st.end('<html>upstream error</html>');
      } else st.respond({ ':status': status }, { endStream: true });
    });
    const t = transports.make(s.target);
    expect(await call(t)).toMatchObject({ code, details: `Received HTTP status code ${status}` });
    expect(await call(t, { path: '/t.v1.Svc/Body' })).toMatchObject({ code, details: `Received HTTP status code ${status}` });
  });

  it('HTTP 200 with a content-type other than application/grpc → UNKNOWN', async () => {
    const s = await raw((st) => {
      st.respond({ ':status': 200, 'content-type': 'text/plain' });
      st.end('hello');
    });
    const o = await call(transports.make(s.target));
    expect(o.code).toBe(2);
    expect(o.details).toContain('text/plain');
  });

  it('a message split over many DATA frames is reassembled; two messages in one frame are not a problem for one', async () => {
    const msg = Buffer.from('a message that arrives a few bytes at a time');
    const s = await raw((st) => {
      st.respond(GRPC, { waitForTrailers: true });
      st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }));
      const f = frame(msg);
      let i = 0;
      const next = (): void => {
        if (i >= f.length) return void st.end();
        st.write(f.subarray(i, i + 3), () => setImmediate(next));
        i += 3;
      };
      next();
    });
    const o = await call(transports.make(s.target));
    expect(o.code).toBe(0);
    expect(o.response?.toString()).toBe(msg.toString());
  });

  it('two response messages → UNIMPLEMENTED "Too many responses received"', async () => {
    const s = await raw((st) => answer(st, [frame(Buffer.from('one')), frame(Buffer.from('two'))]));
    expect(await call(transports.make(s.target))).toMatchObject({ code: 12, details: 'Too many responses received' });
  });

  it('OK without a message → INTERNAL "No message received"; no grpc-status → UNKNOWN', async () => {
    const s = await raw((st, h) => answer(st, [], h[':path']!.endsWith('None') ? { 'x-other': '1' } : { 'grpc-status': '0' }));
    const t = transports.make(s.target);
    expect(await call(t)).toMatchObject({ code: 13, details: 'No message received' });
    expect(await call(t, { path: '/t.v1.Svc/None' })).toMatchObject({ code: 2, details: 'No status information received' });
  });

  it('an invalid grpc-status → UNKNOWN', async () => {
    const s = await raw((st) => st.respond({ ...GRPC, 'grpc-status': 'abc' }, { endStream: true }));
    expect((await call(transports.make(s.target))).code).toBe(2);
  });

  it('a compressed message without grpc-encoding → INTERNAL; gzip with grpc-encoding: gzip → inflated', async () => {
    const msg = Buffer.from('squeezed '.repeat(20));
    const s = await raw((st, h) => {
      if (h[':path']!.endsWith('Gzip')) answer(st, frame(zlib.gzipSync(msg), true), undefined, { ...GRPC, 'grpc-encoding': 'gzip' });
      else answer(st, frame(msg, true));
    });
    const t = transports.make(s.target);
    expect(await call(t)).toMatchObject({ code: 13 });
    const o = await call(t, { path: '/t.v1.Svc/Gzip' });
    expect(o.code).toBe(0);
    expect(o.response?.equals(msg)).toBe(true);
  });

  it('a message announced larger than maxReceiveBytes → RESOURCE_EXHAUSTED, and the stream is reset', async () => {
    let rst = -1;
    const s = await raw((st) => {
      st.on('close', () => (rst = st.rstCode));
      st.respond(GRPC);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(5 << 20, 1);
      st.write(head); // and never the rest
    });
    const o = await call(transports.make(s.target));
    expect(o.code).toBe(8);
    await until(() => rst === C.NGHTTP2_CANCEL);
  });

  it('RST_STREAM REFUSED_STREAM → UNAVAILABLE, unprocessed; ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED', async () => {
    const s = await raw((st, h) => st.close(h[':path']!.endsWith('Calm') ? C.NGHTTP2_ENHANCE_YOUR_CALM : C.NGHTTP2_REFUSED_STREAM));
    const t = transports.make(s.target);
    expect(await call(t)).toMatchObject({ code: 14, unprocessed: true });
    expect(await call(t, { path: '/t.v1.Svc/Calm' })).toMatchObject({ code: 8, unprocessed: false });
  });

  it('server never answers: DEADLINE_EXCEEDED, and the server sees RST_STREAM CANCEL with a grpc-timeout', async () => {
    let rst = -1;
    let timeout: unknown;
    const s = await raw((st, h) => {
      timeout = h['grpc-timeout'];
      st.on('close', () => (rst = st.rstCode));
    });
    const o = await call(transports.make(s.target), { timeoutMs: 200 });
    expect(o).toMatchObject({ code: 4 });
    expect(o.details).toMatch(/^Deadline exceeded after \d+ ms$/);
    expect(timeout).toMatch(/^(19\d|200)m$/);
    await until(() => rst === C.NGHTTP2_CANCEL);
  });

  it('graceful GOAWAY: the stream below lastStreamId finishes, the one above is unprocessed, the next call reconnects', async () => {
    const held: http2.ServerHttp2Stream[] = [];
    let sessions = 0;
    const s = await raw((st) => {
      held.push(st);
      if (held.length === 2) {
        st.session!.goaway(C.NGHTTP2_NO_ERROR, held[0]!.id!);
        answer(held[0]!, frame(Buffer.from('first')));
      }
      if (held.length >= 3) answer(st, frame(Buffer.from('later')));
    });
    s.server.on('session', () => sessions++);
    const t = transports.make(s.target);
    const a = attempt(t);
    await until(() => held.length === 1);
    const b = attempt(t);
    expect(await a.done).toMatchObject({ code: 0 });
    expect(await b.done).toMatchObject({ code: 14, unprocessed: true });
    const c = await call(t);
    expect(c.response?.toString()).toBe('later');
    expect(sessions).toBe(2);
  });

  it('GOAWAY ENHANCE_YOUR_CALM too_many_pings doubles the keepalive time; calls in flight end RESOURCE_EXHAUSTED naming the cause (PROTOCOL-HTTP2.md)', async () => {
    const pings: Array<{ session: number; at: number }> = [];
    let n = 0;
    const s = await raw((st) => {
      st.session!.goaway(C.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
    });
    s.server.on('session', (session) => {
      const id = ++n;
      session.on('ping', () => pings.push({ session: id, at: Date.now() }));
    });
    const t = transports.make(s.target, { settings: { keepaliveTimeMs: 100 } });
    t.connectivity(true);
    await sleep(450);
    const o = await call(t);
    expect(o).toMatchObject({ code: 8, details: 'the upstream closed the connection: too_many_pings (GOAWAY ENHANCE_YOUR_CALM)', unknown: true, unprocessed: false });
    const before = pings.filter((p) => p.session === 1).length;
    await until(() => n === 2);
    const since = Date.now();
    await sleep(650);
    const after = pings.filter((p) => p.session === 2 && p.at >= since).length;
    expect(before).toBeGreaterThanOrEqual(3);
    expect(after).toBeGreaterThanOrEqual(1);
    expect(after).toBeLessThanOrEqual(4);
    expect(after).toBeLessThan(before + 1);
  });

  it('keepalive: a server that stops answering PINGs (black-holed) ends the call UNAVAILABLE', async () => {
    let started = false;
    const g: GrpcServer = await grpcServer(() => void (started = true));
    defer(() => g.close());
    const proxy: TcpProxy = await startTcpProxy(g.port);
    defer(() => proxy.close());
    const t = transports.make(proxy.target, { settings: { keepaliveTimeMs: 100, keepaliveTimeoutMs: 150 } });
    const a = attempt(t, { timeoutMs: 5000 });
    await until(() => started);
    proxy.freeze();
    const t0 = Date.now();
    const o = await a.done;
    expect(o.code).toBe(14);
    expect(o.details).toContain('Keepalive');
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('request headers: POST, scheme, path, authority, content-type, te, user-agent, grpc-timeout; one length-prefixed message', async () => {
    let h: http2.IncomingHttpHeaders | undefined;
    let body: Buffer | undefined;
    const s = await raw((st, headers, b) => {
      h = headers;
      void b.then((x) => {
        body = x;
        answer(st, frame(Buffer.from('ok')));
      });
    });
    expect((await call(transports.make(s.target, { userAgent: 'attache/9 grpc-node-h2' }), { msg: Buffer.from('abc') })).code).toBe(0);
    expect(h).toMatchObject({
      ':method': 'POST', ':scheme': 'http', ':path': '/t.v1.Svc/Unary', ':authority': s.target,
      'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'attache/9 grpc-node-h2',
    });
    expect(h!['grpc-timeout']).toMatch(/^\d{1,8}m$/);
    expect(body).toEqual(frame(Buffer.from('abc')));
  });

  it('waiting for a connection that never completes: the attempt leaves the queue at its deadline, or on cancel', async () => {
    const hole = await startTcpProxy(undefined, true);
    defer(() => hole.close());
    const t = transports.make(hole.target);
    const o = await call(t, { timeoutMs: 150 });
    expect(o).toMatchObject({ code: 4, unprocessed: true });
    expect(t.connectivity(false)).toBe('CONNECTING');
    const a = attempt(t);
    a.control.cancel();
    expect(await a.done).toMatchObject({ code: 1 });
  });

  it('keepalive without permitWithoutCalls pings only while a call is in flight', async () => {
    let pings = 0;
    const held: http2.ServerHttp2Stream[] = [];
    const s = await raw((st) => held.push(st));
    s.server.on('session', (session) => session.on('ping', () => pings++));
    const t = transports.make(s.target, { settings: { keepaliveTimeMs: 50, keepalivePermitWithoutCalls: false } });
    t.connectivity(true);
    await until(() => t.connectivity(false) === 'READY');
    await sleep(250);
    expect(pings).toBe(0);
    const a = attempt(t);
    await sleep(250);
    expect(pings).toBeGreaterThanOrEqual(2);
    answer(held[0]!, frame(Buffer.from('ok')));
    expect((await a.done).code).toBe(0);
  });

  it('keepalive respects the server\'s ping policy: a silent call pings once per serverMinTime, never more', async () => {
    const pings: number[] = [];
    const held: http2.ServerHttp2Stream[] = [];
    const s = await raw((st) => held.push(st));
    s.server.on('session', (session) => session.on('ping', () => pings.push(Date.now())));
    const t = transports.make(s.target, { settings: { keepaliveTimeMs: 50, keepalivePermitWithoutCalls: false, keepaliveServerMinTimeMs: 400 } });
    const a = attempt(t, { timeoutMs: 5000 });
    await sleep(1000);
    // The first ping after ~50–100 ms of silence, then one per 400 ms at most: 2 or 3 in a second.
    expect(pings.length).toBeGreaterThanOrEqual(2);
    expect(pings.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < pings.length; i++) expect(pings[i]! - pings[i - 1]!).toBeGreaterThanOrEqual(390);
    answer(held[0]!, frame(Buffer.from('ok')));
    expect((await a.done).code).toBe(0);
  });

  it('keepalive: one timer per connection, so the first tick after connecting sends one PING, not two', async () => {
    const pings: number[] = [];
    const held: http2.ServerHttp2Stream[] = [];
    const s = await raw((st) => held.push(st));
    s.server.on('session', (session) => session.on('ping', () => pings.push(Date.now())));
    const t = transports.make(s.target, { settings: { keepaliveTimeMs: 200, keepalivePermitWithoutCalls: true, keepaliveServerMinTimeMs: 10_000 } });
    // Queued while the connection is made: starting it on READY arms the timer, and READY must not arm another.
    const a = attempt(t, { timeoutMs: 5000 });
    await sleep(700);
    expect(pings).toHaveLength(1);
    answer(held[0]!, frame(Buffer.from('ok')));
    expect((await a.done).code).toBe(0);
  });

  it('the server allows one stream at a time: further calls wait (Node queues them), all succeed', async () => {
    let open = 0;
    let most = 0;
    const s = await raw((st) => {
      most = Math.max(most, ++open);
      st.on('close', () => open--);
      setTimeout(() => answer(st, frame(Buffer.from('ok'))), 30);
    }, { maxConcurrentStreams: 1 });
    const t = transports.make(s.target);
    await call(t); // SETTINGS known
    const outs = await Promise.all([call(t), call(t), call(t)]);
    expect(outs.map((o) => o.code)).toEqual([0, 0, 0]);
    expect(most).toBe(1);
  });

  it('stream ids running out: the session is replaced once idle and no call fails', async () => {
    let sessions = 0;
    const s = await raw((st) => answer(st, frame(Buffer.from('ok'))));
    s.server.on('session', () => sessions++);
    const t = transports.make(s.target, { internals: { maxStreamsPerSession: 3 } });
    for (let i = 0; i < 7; i++) {
      const o = await call(t);
      expect([i, o.code]).toEqual([i, 0]);
    }
    expect(sessions).toBe(3);
  });
});
