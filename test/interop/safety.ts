/**
 * At most once, and keepalive that servers accept, against servers of other gRPC stacks with their default
 * settings (test/support/interop.ts), on both of attache's upstream transports. The server counts what its
 * application ran; a TCP proxy in front counts connections, so a GOAWAY too_many_pings (the server closing
 * the connection, attache reconnecting) shows as a second connection.
 *
 * `ATTACHE_KEEPALIVE_SOAK=1` (npm run soak:keepalive) runs the long form: 10 minutes idle, then a call that
 * stays silent for 10 minutes, at the servers' real enforcement. The short form scales the servers'
 * enforcement (5 minutes) and attache's keepalive down by the same factor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAttache } from '../support/attache.js';
import { request } from '../support/http.js';
import { startInteropServer, type InteropServer, type Stack } from '../support/interop.js';
import { startResAttache, tempDir, writeMapping } from '../support/resilience.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const TRANSPORTS = ['auto', 'grpc-js'] as const;
const SOAK = process.env['ATTACHE_KEEPALIVE_SOAK'] === '1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Flaky service through attache: GET /v1/get/{key} (safe), POST /v1/post/{key} (unsafe). */
function call(a: TestAttache, method: 'GET' | 'POST', key: string, sleepMs: number, timeoutMs = 30_000) {
  const url = method === 'GET' ? `${a.url}/v1/get/${key}?sleepMs=${sleepMs}` : `${a.url}/v1/post/${key}`;
  return request(url, { method, ...(method === 'POST' ? { body: { sleepMs } } : {}), timeoutMs });
}

export function interopSafety(stack: Stack): void {
  const tmp = tempDir();
  const mapping = writeMapping(tmp.dir);
  let seq = 0;
  const key = (label: string): string => `${label}-${++seq}`;
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    tmp.cleanup();
  });

  /** A server of `stack`, a proxy in front of it and one attache per transport. */
  async function setup(minPingIntervalMs: number | undefined, flags: readonly string[]) {
    const server: InteropServer = await startInteropServer(stack, minPingIntervalMs !== undefined ? { minPingIntervalMs } : {});
    cleanups.push(() => server.stop());
    const proxies: Record<string, TcpProxy> = {};
    const attaches: Record<string, TestAttache> = {};
    for (const t of TRANSPORTS) {
      const proxy = await startTcpProxy(server.port);
      cleanups.push(() => proxy.close());
      const a = await startResAttache(mapping, proxy.target, ['--upstream-transport', t, '--default-deadline', '30m', ...flags]);
      cleanups.push(() => a.stop());
      proxies[t] = proxy;
      attaches[t] = a;
    }
    return { server, proxies, attaches };
  }

  describe(`${stack} server, default settings on both sides`, () => {
    let env: Awaited<ReturnType<typeof setup>>;
    beforeAll(async () => {
      env = await setup(undefined, []);
    }, 60_000);

    it('a 45 s silent call (GET and POST, both transports) answers 200, the server ran it once, on one connection', async () => {
      const silentMs = SOAK ? 600_000 : 45_000;
      for (const t of TRANSPORTS) expect((await call(env.attaches[t]!, 'GET', key('warm'), 0)).status).toBe(200);
      if (SOAK) await sleep(600_000); // the long form: 10 minutes idle first
      const runs = TRANSPORTS.flatMap((t) =>
        (['GET', 'POST'] as const).map(async (method) => {
          const k = key(`silent-${t}-${method}`);
          const res = await call(env.attaches[t]!, method, k, silentMs, silentMs + 30_000);
          return { t, method, status: res.status, body: res.body, ran: env.server.ran(method === 'GET' ? 'Get' : 'Post', k) };
        }),
      );
      const results = await Promise.all(runs);
      for (const r of results) expect(r).toMatchObject({ status: 200, ran: 1 });
      for (const t of TRANSPORTS) expect([t, env.proxies[t]!.connections]).toEqual([t, 1]);
    }, (SOAK ? 1_200_000 : 45_000) + 60_000);

    it.each(TRANSPORTS)('a connection reset mid-call: POST fails and ran once; GET is retried and answers 200 (%s)', async (t) => {
      const a = env.attaches[t]!;
      const proxy = env.proxies[t]!;
      const post = key(`cut-post-${t}`);
      const get = key(`cut-get-${t}`);
      const pendingPost = call(a, 'POST', post, 1500);
      const pendingGet = call(a, 'GET', get, 1500);
      const deadline = Date.now() + 5000;
      while ((env.server.ran('Post', post) < 1 || env.server.ran('Get', get) < 1) && Date.now() < deadline) await sleep(10);
      proxy.cut();
      const [p, g] = await Promise.all([pendingPost, pendingGet]);
      expect(p.status).toBe(503);
      expect((p.json as { code: number }).code).toBe(14);
      expect(g.status).toBe(200);
      await sleep(1500); // a retry would have been sent within the backoff (≤ 2 s with jitter, after the first 100 ms)
      expect(env.server.ran('Post', post)).toBe(1);
      expect(env.server.ran('Get', get)).toBe(2);
    }, 30_000);
  });

  describe(`${stack} server, ping policy scaled down 300× (5 min → 1 s)`, () => {
    // attache's defaults scaled alike: keepalive time 20 s → 67 ms, server min time 310 s → 1.04 s.
    const SCALED = ['--keepalive-time', '67ms', '--keepalive-timeout', '1s', '--keepalive-server-min-time', '1040ms'];
    it('idle for 10 min, then a call silent for 10 min (scaled: 2 s and 4 s): no too_many_pings, 200, ran once', async () => {
      const env = await setup(1000, SCALED);
      for (const t of TRANSPORTS) expect((await call(env.attaches[t]!, 'GET', key('warm'), 0)).status).toBe(200);
      await sleep(2000);
      const results = await Promise.all(TRANSPORTS.map(async (t) => {
        const k = key(`scaled-${t}`);
        const res = await call(env.attaches[t]!, 'POST', k, 4000);
        return { t, status: res.status, ran: env.server.ran('Post', k), connections: env.proxies[t]!.connections };
      }));
      for (const r of results) expect(r).toMatchObject({ status: 200, ran: 1, connections: 1 });
    }, 60_000);

    it('the control: pinging faster than the policy allows draws GOAWAY too_many_pings, named in the answer, and the POST is not repeated', async () => {
      const env = await setup(1000, ['--keepalive-time', '50ms', '--keepalive-timeout', '1s', '--keepalive-server-min-time', '0']);
      const k = key('control');
      const res = await call(env.attaches['auto']!, 'POST', k, 4000);
      expect(res.status).toBe(429);
      expect(res.json).toMatchObject({ code: 8, message: expect.stringContaining('too_many_pings') });
      await sleep(500);
      expect(env.server.ran('Post', k)).toBe(1);
    }, 30_000);
  });
}
