/**
 * Upstream faults, each answered with a clear error in the contract's shape while attache keeps serving:
 * a reply that is not valid protobuf, a name that does not resolve, a server that stops reading (its
 * flow-control window never opens), a GOAWAY with calls in flight. The upstreams are raw node:http2
 * servers speaking just enough gRPC to misbehave on cue.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestAttache } from '../support/attache.js';
import { request } from '../support/http.js';
import { startResAttache, tempDir, writeMapping } from '../support/resilience.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A length-prefixed gRPC message. */
const frame = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, b.length >>> 24, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff]), b]);

/** Answers a gRPC stream OK with `message` (raw bytes) after `delayMs`. */
function answer(st: http2.ServerHttp2Stream, message: Buffer, delayMs = 0): void {
  setTimeout(() => {
    if (st.destroyed) return;
    st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': '0' }));
    st.end(frame(message));
  }, delayMs);
}

async function rawServer(onStream: (st: http2.ServerHttp2Stream) => void): Promise<{ target: string; server: http2.Http2Server }> {
  const server = http2.createServer();
  server.on('stream', (st) => {
    st.on('error', () => undefined); // a stream the client refused or reset: nothing to do here
    onStream(st);
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  );
  return { target: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, server };
}

async function attacheFor(target: string, flags: readonly string[] = []): Promise<TestAttache> {
  const tmp = tempDir();
  const a = await startResAttache(writeMapping(tmp.dir, 'attache:\n  rules:\n    - selector: "res.v1.*"\n      breaker: false\n'), target, [...flags]);
  cleanups.push(async () => {
    await a.stop();
    tmp.cleanup();
  });
  return a;
}

describe('upstream faults', () => {
  it('a reply that is not valid protobuf: 500 INTERNAL naming the failure, and the next call is served', async () => {
    let calls = 0;
    const up = await rawServer((st) => answer(st, ++calls === 1 ? Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]) : Buffer.from([0x0a, 0x01, 0x6b])));
    const a = await attacheFor(up.target);
    const bad = await request(`${a.url}/v1/get/k1`);
    expect(bad.status).toBe(500);
    expect(bad.json).toMatchObject({ code: 13, message: expect.stringMatching(/decode|invalid|protobuf|wire/i), details: [] });
    const good = await request(`${a.url}/v1/get/k2`);
    expect(good.status).toBe(200);
    expect(good.json).toMatchObject({ key: 'k' });
  });

  it('a name that does not resolve: 503 UNAVAILABLE at once, naming the target', async () => {
    const a = await attacheFor('dns:///no-such-upstream.invalid:50051');
    const t0 = Date.now();
    const res = await request(`${a.url}/v1/get/k`);
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ code: 14, message: expect.stringContaining('no-such-upstream.invalid') });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a server that stops reading (its window never opens): the call ends at its deadline, 504, and attache keeps serving', async () => {
    const up = await rawServer((st) => st.pause()); // reads nothing, answers nothing
    const a = await attacheFor(up.target);
    const big = Buffer.alloc(2 * 1024 * 1024, 1).toString('base64');
    const t0 = Date.now();
    const res = await request(`${a.url}/v1/post/k`, { method: 'POST', body: { padding: big }, headers: { 'x-request-timeout': '1s' } });
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ code: 4 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((await request(`${a.adminUrl}/healthz`)).status).toBe(200);
  });

  it('a GOAWAY with calls in flight: they finish, and later calls go to a new connection', async () => {
    let sessions = 0;
    let first = true;
    const up = await rawServer((st) => {
      if (first) {
        first = false;
        st.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, st.id);
      }
      answer(st, Buffer.from([0x0a, 0x01, 0x6b]), 100);
    });
    up.server.on('session', () => sessions++);
    const a = await attacheFor(up.target);
    const inflight = await Promise.all([request(`${a.url}/v1/get/a`), request(`${a.url}/v1/get/b`)]);
    expect(inflight.map((r) => r.status)).toEqual([200, 200]);
    const after = await request(`${a.url}/v1/get/c`);
    expect(after.status).toBe(200);
    expect(sessions).toBeGreaterThanOrEqual(2);
  });
});
