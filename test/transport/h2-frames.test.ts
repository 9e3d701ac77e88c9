/**
 * attache's own HTTP/2 framing (src/upstream/h2/session.ts) through the transport, against real peers:
 * node:http2 servers (nghttp2) for headers, flow control and stream limits, and a raw `net` server speaking
 * frames by hand for what no HTTP/2 library sends: malformed frames, unknown frame types, CONTINUATION.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { haveOpenssl, makeCa, makeLeaf } from '../support/certs.js';
import { tempDir } from '../support/resilience.js';
import { ErrorCode, Flag, frame as h2frame, FrameParser, FrameType, PREFACE, settingsFrame, Setting } from '../../src/upstream/h2/frames.js';
import { encodeFields } from '../../src/upstream/h2/hpack.js';
import { CallMetadata } from '../../src/upstream/call-metadata.js';
import { answer, call, frame, transportTestScope, until } from './support.js';

const { transports, defer, raw } = transportTestScope();

describe('own HTTP/2 framing ↔ node:http2 (nghttp2)', () => {
  it('request headers reach nghttp2 intact: many metadata fields, repeated keys, -bin values, a 300-octet value', async () => {
    let got: http2.IncomingHttpHeaders | undefined;
    const s = await raw((st, h, body) => {
      got = h;
      void body.then(() => answer(st, frame(Buffer.from('ok'))));
    });
    const entries: [string, string | Buffer][] = [['x-request-id', 'r-1'], ['x-multi', 'a'], ['x-multi', 'b'], ['x-long', 'L'.repeat(300)], ['x-raw-bin', Buffer.from([0, 1, 2, 255])], ['authorization', 'Bearer t']];
    for (let i = 0; i < 20; i++) entries.push([`x-k${i}`, `v${i}`]);
    const md = CallMetadata.of(entries);
    const o = await call(transports.make(s.target), { md });
    expect(o.code).toBe(0);
    expect(got).toMatchObject({
      ':method': 'POST', ':scheme': 'http', ':path': '/t.v1.Svc/Unary', 'content-type': 'application/grpc', te: 'trailers',
      'x-request-id': 'r-1', 'x-multi': 'a, b', 'x-long': 'L'.repeat(300), 'x-raw-bin': Buffer.from([0, 1, 2, 255]).toString('base64'),
      authorization: 'Bearer t', 'x-k19': 'v19',
    });
  });

  it('a 3.5 MiB response arrives whole (receive windows refilled by WINDOW_UPDATE), twice on one connection', async () => {
    const msg = Buffer.alloc(3.5 * 1024 * 1024);
    for (let i = 0; i < msg.length; i++) msg[i] = i % 251;
    const s = await raw((st) => {
      const f = frame(msg);
      const parts: Buffer[] = [];
      for (let at = 0; at < f.length; at += 64 * 1024) parts.push(f.subarray(at, at + 64 * 1024));
      answer(st, parts);
    });
    const t = transports.make(s.target);
    for (let i = 0; i < 2; i++) {
      const o = await call(t, { timeoutMs: 10_000 });
      expect(o.code).toBe(0);
      expect(o.response!.equals(msg)).toBe(true);
    }
  });

  it('a server with a 1 KiB INITIAL_WINDOW_SIZE: a 300 KiB request waits for its WINDOW_UPDATEs and arrives whole', async () => {
    const msg = Buffer.alloc(300 * 1024, 7);
    let got: Buffer | undefined;
    const s = await raw((st, _h, body) => {
      void body.then((b) => {
        got = b;
        answer(st, frame(Buffer.from('ok')));
      });
    }, { initialWindowSize: 1024 });
    const t = transports.make(s.target);
    const outs = await Promise.all([call(t, { msg, timeoutMs: 10_000 }), call(t, { msg, timeoutMs: 10_000 })]);
    expect(outs.map((o) => o.code)).toEqual([0, 0]);
    expect(got!.equals(frame(msg))).toBe(true);
  });

  it('a stream still queued behind MAX_CONCURRENT_STREAMS when a GOAWAY comes was never sent: unprocessed', async () => {
    let first: http2.ServerHttp2Stream | undefined;
    const s = await raw((st) => {
      first = st;
    }, { maxConcurrentStreams: 1 });
    const t = transports.make(s.target);
    const a = call(t);
    await until(() => first !== undefined);
    const b = call(t); // queued: the server allows one stream
    await new Promise((r) => setTimeout(r, 20));
    first!.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, first!.id!);
    answer(first!, frame(Buffer.from('ok')));
    expect(await a).toMatchObject({ code: 0 });
    expect(await b).toMatchObject({ code: 14, unprocessed: true });
  });

  it('SETTINGS_MAX_CONCURRENT_STREAMS 1 and 20 concurrent calls: one stream at a time, all succeed', async () => {
    let open = 0;
    let most = 0;
    let served = 0;
    const s = await raw((st) => {
      most = Math.max(most, ++open);
      st.on('close', () => open--);
      setTimeout(() => {
        served++;
        answer(st, frame(Buffer.from('ok')));
      }, 5);
    }, { maxConcurrentStreams: 1 });
    const t = transports.make(s.target);
    await call(t); // the server's SETTINGS are known
    const outs = await Promise.all(Array.from({ length: 20 }, () => call(t)));
    expect(outs.map((o) => o.code)).toEqual(Array(20).fill(0));
    expect(most).toBe(1);
    expect(served).toBe(21);
  });
});

/** A server that speaks HTTP/2 frames by hand: SETTINGS at once, then `onRequest` for each client HEADERS. */
interface FrameServer {
  readonly target: string;
  /** GOAWAY codes the client sent. */
  readonly goaways: number[];
}
async function frameServer(
  onRequest: (sock: net.Socket, streamId: number) => void,
  o: { settings?: Array<[Setting, number]>; onData?: (sock: net.Socket, streamId: number, payload: Buffer, flags: number) => void } = {},
): Promise<FrameServer> {
  const goaways: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
    sock.write(settingsFrame(o.settings ?? [[Setting.MAX_CONCURRENT_STREAMS, 100]]));
    let preface = Buffer.alloc(0);
    const parser = new FrameParser({
      onFrame: (type, flags, id, p) => {
        if (type === FrameType.SETTINGS && (flags & Flag.ACK) === 0) sock.write(h2frame(FrameType.SETTINGS, Flag.ACK, 0));
        if (type === FrameType.GOAWAY) goaways.push(p.readUInt32BE(4));
        if (type === FrameType.HEADERS) onRequest(sock, id);
        if (type === FrameType.DATA) o.onData?.(sock, id, Buffer.from(p), flags);
      },
    });
    sock.on('data', (d: Buffer) => {
      if (preface.length < PREFACE.length) {
        preface = Buffer.concat([preface, d]);
        if (preface.length < PREFACE.length) return;
        d = preface.subarray(PREFACE.length);
      }
      parser.push(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  defer(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { target: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, goaways };
}

const headersBlock = (fields: string[]): Buffer => encodeFields(fields);
const RESPONSE = headersBlock([':status', '200', 'content-type', 'application/grpc']);
const TRAILERS = headersBlock(['grpc-status', '0']);
/** A whole good response on `id`, with `between` frames sent before each of its frames. */
function goodResponse(id: number, between: Buffer[] = []): Buffer {
  return Buffer.concat([
    ...between, h2frame(FrameType.HEADERS, Flag.END_HEADERS, id, RESPONSE),
    ...between, h2frame(FrameType.DATA, 0, id, frame(Buffer.from('fine'))),
    ...between, h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, TRAILERS),
  ]);
}

describe('own HTTP/2 framing ↔ a raw frame server', () => {
  it('unknown frame types and PRIORITY are ignored (RFC 9113 §4.1, §5.5)', async () => {
    const unknown = [h2frame(0xfa, 0xff, 0, Buffer.from('x')), h2frame(0x20, 0, 1, Buffer.alloc(3)), h2frame(FrameType.PRIORITY, 0, 1, Buffer.alloc(5))];
    const s = await frameServer((sock, id) => sock.write(goodResponse(id, unknown)));
    const o = await call(transports.make(s.target));
    expect(o).toMatchObject({ code: 0 });
    expect(o.response!.toString()).toBe('fine');
  });

  it('SETTINGS_INITIAL_WINDOW_SIZE raised while a request body waits: the open stream window grows by the difference (§6.9.2)', async () => {
    const msg = Buffer.alloc(100, 1);
    const got: Buffer[] = [];
    let raised = false;
    const s = await frameServer(() => undefined, {
      settings: [[Setting.INITIAL_WINDOW_SIZE, 10]],
      onData: (sock, id, p, flags) => {
        got.push(p);
        if (!raised) {
          // 10 octets came (the whole window); more only after this SETTINGS, with no WINDOW_UPDATE.
          raised = true;
          setTimeout(() => sock.write(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 1000]])), 20);
        }
        if ((flags & Flag.END_STREAM) !== 0) sock.write(goodResponse(id));
      },
    });
    const o = await call(transports.make(s.target), { msg });
    expect(o).toMatchObject({ code: 0 });
    expect(got[0]!.length).toBe(10);
    expect(Buffer.concat(got).equals(frame(msg))).toBe(true);
  });

  it('a header block split over HEADERS + CONTINUATION frames is joined', async () => {
    const s = await frameServer((sock, id) =>
      sock.write(Buffer.concat([
        h2frame(FrameType.HEADERS, 0, id, RESPONSE.subarray(0, 3)),
        h2frame(FrameType.CONTINUATION, 0, id, RESPONSE.subarray(3, 10)),
        h2frame(FrameType.CONTINUATION, Flag.END_HEADERS, id, RESPONSE.subarray(10)),
        h2frame(FrameType.DATA, 0, id, frame(Buffer.from('fine'))),
        h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, TRAILERS),
      ])),
    );
    expect(await call(transports.make(s.target))).toMatchObject({ code: 0 });
  });

  it('a response without :status is malformed: the stream is reset, the call ends INTERNAL, the connection stays', async () => {
    let n = 0;
    const s = await frameServer((sock, id) =>
      sock.write(n++ === 0 ? h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, headersBlock(['grpc-status', '0'])) : goodResponse(id)),
    );
    const t = transports.make(s.target);
    expect(await call(t)).toMatchObject({ code: 13, details: 'Received RST_STREAM with code 1' });
    expect(await call(t)).toMatchObject({ code: 0 });
    expect(s.goaways).toEqual([]);
  });

  /** A response whose message bytes (`body`: length-prefixed) go out as DATA frames cut at `cuts`. */
  const cutResponse = (id: number, body: Buffer, cuts: number[]): Buffer => {
    const frames: Buffer[] = [h2frame(FrameType.HEADERS, Flag.END_HEADERS, id, RESPONSE)];
    let at = 0;
    for (const c of [...cuts, body.length]) {
      frames.push(h2frame(FrameType.DATA, 0, id, body.subarray(at, c)));
      at = c;
    }
    frames.push(h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, TRAILERS));
    return Buffer.concat(frames);
  };

  it('a message cut into DATA frames anywhere (inside its length prefix too, or with empty frames) is reassembled whole', async () => {
    const msg = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    const body = frame(msg);
    const cases: number[][] = [];
    for (let a = 1; a < body.length; a++) cases.push([a]);
    for (let a = 1; a < 6; a++) for (let b = a; b < body.length; b += 3) cases.push([a, b]);
    cases.push([0, 1, 2, 3, 4, 5, 5, 6]);
    let n = 0;
    const s = await frameServer((sock, id) => sock.write(cutResponse(id, body, cases[n++]!)));
    const t = transports.make(s.target);
    for (const cuts of cases) {
      const o = await call(t);
      expect(o.code, `cuts ${cuts.join(',')}`).toBe(0);
      expect(o.response!.equals(msg), `cuts ${cuts.join(',')}`).toBe(true);
    }
  });

  it.each([
    ['two messages in one DATA frame', [] as number[]],
    ['a second message whose prefix is split across frames', [44, 47]],
    ['a second message after a first one split across frames', [3, 20]],
  ])('%s: UNIMPLEMENTED "Too many responses received"', async (_name, cuts) => {
    const two = Buffer.concat([frame(Buffer.alloc(39, 1)), frame(Buffer.alloc(20, 2))]);
    const s = await frameServer((sock, id) => sock.write(cutResponse(id, two, cuts)));
    expect(await call(transports.make(s.target))).toMatchObject({ code: 12, details: 'Too many responses received' });
  });

  it('a length prefix above the receive limit, split across frames: RESOURCE_EXHAUSTED before any of it is held', async () => {
    const prefix = Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]);
    const s = await frameServer((sock, id) => sock.write(cutResponse(id, Buffer.concat([prefix, Buffer.alloc(10)]), [2])));
    const o = await call(transports.make(s.target));
    expect(o.code).toBe(8);
    expect(o.details).toContain('Received message larger than max (2147483647');
  });

  it.each([
    ['an uppercase field name', ['x-Upper', '1']],
    ['a connection-specific field', ['connection', 'close']],
    ['a second pseudo-header', [':path', '/']],
  ])('a response with %s is malformed: the call ends INTERNAL (RST_STREAM PROTOCOL_ERROR), as on nghttp2', async (_name, extra) => {
    const s = await frameServer((sock, id) =>
      sock.write(h2frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, headersBlock([':status', '200', 'content-type', 'application/grpc', ...extra, 'grpc-status', '0']))),
    );
    expect(await call(transports.make(s.target))).toMatchObject({ code: 13, details: 'Received RST_STREAM with code 1' });
  });

  it.each([
    ['a frame of a bad size (PING of 7 octets)', (): Buffer => h2frame(FrameType.PING, 0, 0, Buffer.alloc(7)), ErrorCode.FRAME_SIZE_ERROR, 'FRAME_SIZE_ERROR'],
    ['a frame above the maximum frame size', (): Buffer => h2frame(FrameType.DATA, 0, 1, Buffer.alloc(20_000)), ErrorCode.FRAME_SIZE_ERROR, 'exceeds the maximum frame size'],
    ['HEADERS on stream 0', (): Buffer => h2frame(FrameType.HEADERS, Flag.END_HEADERS, 0, RESPONSE), ErrorCode.PROTOCOL_ERROR, 'HEADERS frame on stream 0'],
    [
      'CONTINUATION interleaved with another frame',
      (id: number): Buffer => Buffer.concat([h2frame(FrameType.HEADERS, 0, id, RESPONSE.subarray(0, 3)), h2frame(FrameType.DATA, 0, id, Buffer.alloc(5))]),
      ErrorCode.PROTOCOL_ERROR,
      'awaits CONTINUATION',
    ],
    ['a header block that does not decode', (id: number): Buffer => h2frame(FrameType.HEADERS, Flag.END_HEADERS, id, Buffer.from([0xff])), ErrorCode.COMPRESSION_ERROR, 'COMPRESSION_ERROR'],
    ['PUSH_PROMISE although push is disabled', (id: number): Buffer => h2frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, id, Buffer.from([0, 0, 0, 2, 0x82])), ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE'],
    ['DATA on a stream the client never opened', (): Buffer => h2frame(FrameType.DATA, 0, 9, Buffer.alloc(1)), ErrorCode.PROTOCOL_ERROR, 'never opened'],
    ['a PING flood (2,000 PINGs in one write: CVE-2019-9512)', (): Buffer => Buffer.concat(Array.from({ length: 2000 }, () => h2frame(FrameType.PING, 0, 0, Buffer.alloc(8)))), ErrorCode.ENHANCE_YOUR_CALM, 'flood'],
    ['a SETTINGS flood (2,000 empty SETTINGS in one write: CVE-2019-9515)', (): Buffer => Buffer.concat(Array.from({ length: 2000 }, () => h2frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)))), ErrorCode.ENHANCE_YOUR_CALM, 'flood'],
  ])('%s → GOAWAY with the code; the call ends UNAVAILABLE with a clear message; the next call works again', async (_name, bad, code, text) => {
    let n = 0;
    const s = await frameServer((sock, id) => sock.write(n++ === 0 ? bad(id) : goodResponse(id)));
    const t = transports.make(s.target);
    const o = await call(t);
    expect(o.code).toBe(14);
    expect(o.details).toContain('Protocol error');
    expect(o.details).toContain(text);
    await until(() => s.goaways.length > 0);
    expect(s.goaways[0]).toBe(code);
    // The process goes on: the transport reconnects and the same server answers properly now.
    await until(() => t.connectivity(true) === 'READY' || t.connectivity(false) === 'IDLE');
    expect(await call(t)).toMatchObject({ code: 0 });
  });
});

describe.runIf(haveOpenssl())('own HTTP/2 framing over TLS: what only the socket setup sees', () => {
  const tmp = tempDir('attache-h2-frames-');
  afterAll(() => tmp.cleanup());

  it('a TLS server that does not choose h2 by ALPN: UNAVAILABLE "did not negotiate HTTP/2 (ALPN h2)"', async () => {
    const ca = makeCa(tmp.dir, 'ca');
    const leaf = makeLeaf(tmp.dir, 'server', ca, ['IP:127.0.0.1']);
    const server = tls.createServer({ cert: leaf.cert, key: leaf.key }, (sock) => sock.on('error', () => undefined)); // no ALPNProtocols
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    defer(() => new Promise<void>((r) => server.close(() => r())));
    const t = transports.make(`127.0.0.1:${(server.address() as net.AddressInfo).port}`, { tls: { ca: ca.cert, cert: undefined, key: undefined } });
    const o = await call(t);
    expect(o.code).toBe(14);
    expect(o.details).toContain('did not negotiate HTTP/2 (ALPN h2)');
  });

  it('TLS material that cannot be used (a key that is not PEM) fails the connection, not the process', async () => {
    const s = await raw((st) => answer(st, frame(Buffer.from('ok'))));
    const t = transports.make(s.target, { tls: { ca: undefined, cert: Buffer.from('not a certificate'), key: Buffer.from('not a key') } });
    const o = await call(t);
    expect(o.code).toBe(14);
    expect(t.connectivity(false)).toBe('TRANSIENT_FAILURE');
  });
});
