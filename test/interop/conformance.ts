/**
 * attache against servers of other gRPC stacks (test/support/interop.ts), directly or through nginx
 * `grpc_pass` with TLS in front (test/support/nginx.ts), on both of attache's upstream transports: large
 * messages both ways, every status code with its details and trailers, more concurrent calls than the
 * server's MAX_CONCURRENT_STREAMS, a deadline the server sees cancel its call, and a graceful restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAttache } from '../support/attache.js';
import { haveOpenssl, makeCa, makeLeaf, type Pem } from '../support/certs.js';
import { request } from '../support/http.js';
import { startInteropServer, type InteropServer, type Stack } from '../support/interop.js';
import { startNginxGrpcPass } from '../support/nginx.js';
import { startResAttache, tempDir, writeMapping } from '../support/resilience.js';

const TRANSPORTS = ['auto', 'grpc-js'] as const;
type Transport = (typeof TRANSPORTS)[number];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MIB3 = 3 * 1024 * 1024;

/** google/rpc/code.proto → HTTP, as the contract lists it. */
const HTTP_OF_CODE: Record<number, number> = {
  1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
};

export function interopConformance(stack: Stack, via: 'direct' | 'nginx-tls'): void {
  const tmp = tempDir();
  const mapping = writeMapping(tmp.dir);
  let seq = 0;
  const key = (label: string): string => `${label}-${++seq}`;
  let server: InteropServer;
  const attaches = {} as Record<Transport, TestAttache>;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    server = await startInteropServer(stack, { maxStreams: 50 });
    cleanups.push(() => server.stop());
    let target = server.target;
    let tlsFlags: string[] = [];
    if (via === 'nginx-tls') {
      if (!haveOpenssl()) throw new Error('openssl is needed for the TLS certificates');
      const ca: Pem = makeCa(tmp.dir, 'ca');
      const leaf = makeLeaf(tmp.dir, 'nginx', ca, ['DNS:localhost', 'IP:127.0.0.1']);
      const nginx = await startNginxGrpcPass(server.port, leaf);
      cleanups.push(() => nginx.stop());
      target = nginx.target;
      tlsFlags = ['--upstream-tls', '--upstream-ca', ca.certFile];
    }
    for (const t of TRANSPORTS) {
      // No breaker (these calls fail on purpose) and room for 300 calls at once.
      attaches[t] = await startResAttache(mapping, target, [
        '--upstream-transport', t, '--breaker=false', '--retry-throttle-max-tokens', '1000', '--body-limit', '8MiB',
        '--max-receive-message-size', '8MiB', '--max-send-message-size', '8MiB', '--bulkhead-max-concurrent', '400', ...tlsFlags,
      ]);
      cleanups.push(() => attaches[t].stop());
    }
  }, 90_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    tmp.cleanup();
  });

  describe.each(TRANSPORTS)(`${stack} ${via}, transport %s`, (t) => {
    it('small and 3 MiB messages, both ways', async () => {
      const small = await request(`${attaches[t].url}/v1/get/${key('small')}`);
      expect(small.status).toBe(200);
      expect(small.json).toMatchObject({ attempt: 1 });
      const big = await request(`${attaches[t].url}/v1/get/${key('big')}?replyBytes=${MIB3}`, { timeoutMs: 30_000 });
      expect(big.status).toBe(200);
      expect(Buffer.from((big.json as { padding: string }).padding, 'base64')).toHaveLength(MIB3);
      const up = await request(`${attaches[t].url}/v1/post/${key('up')}`, { method: 'POST', body: { padding: Buffer.alloc(MIB3, 7).toString('base64') }, timeoutMs: 30_000 });
      expect(up.status).toBe(200);
    }, 60_000);

    it('every status code 1–16: the mapped HTTP status, the code and message, the BadRequest detail, the trailer', async () => {
      for (let code = 1; code <= 16; code++) {
        const k = key(`code${code}`);
        const res = await request(`${attaches[t].url}/v1/get/${k}?failTimes=1000&code=${code}`);
        expect([code, res.status]).toEqual([code, HTTP_OF_CODE[code]]);
        expect(res.json).toEqual({
          code,
          message: `flaky failure ${code}`,
          details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'key', description: `failing on purpose: ${k}` }] }],
        });
        expect([code, res.headers['grpc-trailer-x-flaky-trailer']]).toEqual([code, k]);
      }
    }, 60_000);

    it('300 concurrent calls, six times the server\'s MAX_CONCURRENT_STREAMS (50): every one answers 200', async () => {
      const all = await Promise.all(Array.from({ length: 300 }, (_, i) => request(`${attaches[t].url}/v1/get/${key(`many${i}`)}?sleepMs=100`, { timeoutMs: 30_000 })));
      expect(all.filter((r) => r.status !== 200).map((r) => r.body)).toEqual([]);
    }, 60_000);

    it('a deadline ends the call with 504 and the server sees its call cancelled', async () => {
      const k = key('deadline');
      const t0 = Date.now();
      const res = await request(`${attaches[t].url}/v1/get/${k}?sleepMs=5000`, { headers: { 'grpc-timeout': '300m' } });
      expect(res.status).toBe(504);
      expect(Date.now() - t0).toBeLessThan(2000);
      const until = Date.now() + 3000;
      while (!server.cancelled('Get', k) && Date.now() < until) await sleep(20);
      expect(server.cancelled('Get', k)).toBe(true);
    }, 30_000);
  });

  if (via === 'direct') {
    it('a graceful server restart: the call in flight finishes 200, and calls after the restart answer 200 (both transports)', async () => {
      const port = server.port;
      const inflight = TRANSPORTS.map((t) => request(`${attaches[t].url}/v1/get/${key(`inflight-${t}`)}?sleepMs=800`, { timeoutMs: 20_000 }));
      await sleep(200);
      await server.terminate();
      const done = await Promise.all(inflight);
      expect(done.map((r) => r.status)).toEqual([200, 200]);
      server = await startInteropServer(stack, { port, maxStreams: 50 });
      for (const t of TRANSPORTS) {
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i++) {
          status = (await request(`${attaches[t].url}/v1/get/${key(`after-${t}`)}`)).status;
          if (status !== 200) await sleep(50);
        }
        expect([t, status]).toEqual([t, 200]);
      }
    }, 60_000);
  }
}
