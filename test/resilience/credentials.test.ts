/**
 * Upstream credentials (issue 16, docs/credentials.md) end to end: a real attache in front of a grpc-js
 * upstream that checks `authorization` and answers UNAUTHENTICATED to a stale token, with a token file on
 * disk or a local OAuth2 token endpoint (test/support/token-server.ts) issuing short-lived tokens. Every log
 * line and response is kept and checked for the client secret and the tokens. test/grpc-js/credentials.test.ts
 * runs this file again on grpc-js.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/telemetry/logging.js';
import { startAttache, type TestAttache } from '../support/attache.js';
import { RES_PROTOS_DIR, startFlakyServer, type FlakyServer, type FlakyServerOptions } from '../support/flaky-server.js';
import { request, type HttpResponse } from '../support/http.js';
import { tempDir, writeMapping } from '../support/resilience.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';

const SECRET = 's3cret-Zq81-never-logged';
const CLIENT_ID = 'attache-test';
let n = 0;
const key = (label: string): string => `${label}-${++n}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('upstream credentials', () => {
  const tmp = tempDir('attache-creds-');
  const cleanups: (() => Promise<void> | void)[] = [];
  /** Every log line and every response body and header of the suite, checked for secrets at the end. */
  const logs: string[] = [];
  const seen: HttpResponse[] = [];
  const tokensIssued: string[] = [];

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => tmp.cleanup());

  async function upstream(opts: FlakyServerOptions): Promise<FlakyServer> {
    const s = await startFlakyServer(opts);
    cleanups.push(() => s.close());
    return s;
  }
  async function tokenServer(expiresIn?: number): Promise<TokenServer> {
    const t = await startTokenServer({ clientId: CLIENT_ID, clientSecret: SECRET, ...(expiresIn !== undefined ? { expiresIn } : {}) });
    cleanups.push(() => t.close());
    return t;
  }
  /** attache on the fixture protos with `rules` as the attache block; logs at trace level into `logs`. */
  async function attache(s: FlakyServer, rules: string, flags: string[] = [], env: Record<string, string> = {}): Promise<TestAttache> {
    const file = writeMapping(tmp.dir, rules === '' ? '' : `attache:\n  rules:\n${rules}`, `${key('m')}.yaml`);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    const a = await startAttache(['--protos', RES_PROTOS_DIR, '--mappings', file, '--upstream', s.target, ...flags], env, {
      logger: (config) => pino({ ...loggerOptions(config), level: 'trace' }, sink),
    });
    cleanups.push(() => a.stop());
    return a;
  }
  async function get(a: TestAttache, k: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const res = await request(`${a.url}/v1/get/${k}`, { headers });
    seen.push(res);
    return res;
  }

  describe('a token file', () => {
    it('is sent as authorization on every call, and a rotated file is picked up without a restart', async () => {
      const file = path.join(tmp.dir, key('token'));
      fs.writeFileSync(file, 'file-token-1\n');
      let accepted = 'Bearer file-token-1';
      const s = await upstream({ authorize: (v) => v === accepted });
      const a = await attache(s, `    - selector: "res.v1.*"\n      credentials: { tokenFile: ${file} }\n`, ['--upstream-token-reload-interval', '50ms']);

      const k1 = key('file');
      expect((await get(a, k1)).status).toBe(200);
      expect(s.metadata(k1)[0]!['authorization']).toBe('Bearer file-token-1');

      // A Kubernetes Secret update: the file's content changes under the same name.
      fs.writeFileSync(file, 'file-token-2\n');
      accepted = 'Bearer file-token-2';
      await sleep(300);
      const k2 = key('file');
      expect((await get(a, k2)).status).toBe(200);
      expect(s.attempts(k2)).toBe(1);
      expect(s.metadata(k2)[0]!['authorization']).toBe('Bearer file-token-2');

      // A file that disappears keeps the token in use, and is reported once, not at every re-read.
      fs.rmSync(file);
      await sleep(300);
      const k3 = key('file');
      expect((await get(a, k3)).status).toBe(200);
      expect(s.metadata(k3)[0]!['authorization']).toBe('Bearer file-token-2');
      const warned = logs.filter((l) => l.includes('upstream credential unavailable') && l.includes(file));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toContain('ENOENT');
      expect(warned[0]).toContain('keeping the previous token');
    });

    it('a call refused with UNAUTHENTICATED re-reads the file at once and is sent once more with the new token', async () => {
      const file = path.join(tmp.dir, key('token'));
      fs.writeFileSync(file, 'file-token-a');
      let accepted = 'Bearer file-token-a';
      const s = await upstream({ authorize: (v) => v === accepted });
      // Re-read only hourly: the rotation below is found through the upstream's UNAUTHENTICATED answer.
      const a = await attache(s, `    - selector: "res.v1.*"\n      credentials: { tokenFile: ${file} }\n`, ['--upstream-token-reload-interval', '1h']);
      expect((await get(a, key('file'))).status).toBe(200);

      fs.writeFileSync(file, 'file-token-b');
      accepted = 'Bearer file-token-b';
      const k = key('file');
      expect((await get(a, k)).status).toBe(200);
      expect(s.metadata(k).map((m) => m['authorization'])).toEqual(['Bearer file-token-a', 'Bearer file-token-b']);

      // An unsafe method too: UNAUTHENTICATED means the upstream refused the call before acting on it.
      fs.writeFileSync(file, 'file-token-c');
      accepted = 'Bearer file-token-c';
      const kp = key('post');
      const post = await request(`${a.url}/v1/post/${kp}`, { method: 'POST', body: {} });
      seen.push(post);
      expect(post.status).toBe(200);
      expect(s.attempts(kp)).toBe(2);

      // A token the upstream keeps refusing is not retried forever: one retry, then the 401 stands.
      accepted = 'Bearer something-else';
      const kr = key('file');
      const refused = await get(a, kr);
      expect(refused.status).toBe(401);
      expect(refused.json).toMatchObject({ code: 16 });
      expect(s.attempts(kr)).toBe(1);
    });

    it("the caller's own Authorization: forwarded as x-forwarded-authorization by default, or kept when configured", async () => {
      const file = path.join(tmp.dir, key('token'));
      fs.writeFileSync(file, 'ambassador-token');
      const s = await upstream({ authorize: (v) => v === 'Bearer ambassador-token' || v === 'Bearer caller-token' });
      const fwd = await attache(s, `    - selector: "res.v1.*"\n      credentials: { tokenFile: ${file} }\n`);
      const k1 = key('fwd');
      expect((await get(fwd, k1, { authorization: 'Bearer caller-token' })).status).toBe(200);
      expect(s.metadata(k1)[0]).toMatchObject({ authorization: 'Bearer ambassador-token', 'x-forwarded-authorization': 'Bearer caller-token' });

      // Only a caller's Authorization becomes x-forwarded-authorization; one sent as metadata cannot pose as it.
      const k0 = key('fwd');
      expect((await get(fwd, k0, { 'grpc-metadata-x-forwarded-authorization': 'Bearer spoofed' })).status).toBe(200);
      expect(s.metadata(k0)[0]!['x-forwarded-authorization']).toBeUndefined();

      const keep = await attache(s, `    - selector: "res.v1.*"\n      credentials: { tokenFile: ${file}, callerAuthorization: keep }\n`);
      const k2 = key('keep');
      expect((await get(keep, k2, { authorization: 'Bearer caller-token' })).status).toBe(200);
      expect(s.metadata(k2)[0]!['authorization']).toBe('Bearer caller-token');
      const k3 = key('keep');
      expect((await get(keep, k3)).status).toBe(200);
      expect(s.metadata(k3)[0]!['authorization']).toBe('Bearer ambassador-token');

      const drop = await attache(s, `    - selector: "res.v1.*"\n      credentials: { tokenFile: ${file}, callerAuthorization: drop }\n`);
      const k4 = key('drop');
      expect((await get(drop, k4, { authorization: 'Bearer caller-token' })).status).toBe(200);
      expect(s.metadata(k4)[0]!['authorization']).toBe('Bearer ambassador-token');
      expect(s.metadata(k4)[0]!['x-forwarded-authorization']).toBeUndefined();
    });
  });

  it('a reload that changes an upstream\'s credential takes it into use; one whose token file is missing is refused and the old keeps serving', async () => {
    const fileA = path.join(tmp.dir, key('token'));
    const fileB = path.join(tmp.dir, key('token'));
    fs.writeFileSync(fileA, 'reload-token-a');
    fs.writeFileSync(fileB, 'reload-token-b');
    const s = await upstream({});
    const rules = (file: string): string => `attache:\n  rules:\n    - selector: "res.v1.*"\n      credentials: { tokenFile: ${file} }\n`;
    const mapping = writeMapping(tmp.dir, rules(fileA), `${key('m')}.yaml`);
    const a = await startAttache(['--protos', RES_PROTOS_DIR, '--mappings', mapping, '--upstream', s.target]);
    cleanups.push(() => a.stop());
    const k1 = key('reload');
    expect((await get(a, k1)).status).toBe(200);
    expect(s.metadata(k1)[0]!['authorization']).toBe('Bearer reload-token-a');

    writeMapping(tmp.dir, rules(fileB), path.basename(mapping));
    expect(await a.running.reload('test')).toMatchObject({ ok: true, keptUpstreams: [] });
    const k2 = key('reload');
    expect((await get(a, k2)).status).toBe(200);
    expect(s.metadata(k2)[0]!['authorization']).toBe('Bearer reload-token-b');

    const missing = path.join(tmp.dir, key('missing'));
    writeMapping(tmp.dir, rules(missing), path.basename(mapping));
    const refused = await a.running.reload('test');
    expect(refused.ok).toBe(false);
    expect(refused.ok ? [] : refused.problems).toEqual([expect.stringContaining(`credentials.tokenFile: cannot read ${missing}: ENOENT [ATTACHE_E_CREDENTIALS]`)]);
    const k3 = key('reload');
    expect((await get(a, k3)).status).toBe(200);
    expect(s.metadata(k3)[0]!['authorization']).toBe('Bearer reload-token-b');
  });

  describe('an OAuth2 client-credentials token', () => {
    const oauthFlags = (t: TokenServer): string[] => [
      '--upstream-token-url', t.url, '--upstream-client-id', CLIENT_ID,
      '--upstream-scope', 'res.read', '--upstream-scope', 'res.write', '--upstream-audience', 'https://res.example',
    ];
    const env = { ATTACHE_UPSTREAM_CLIENT_SECRET: SECRET };

    it('is fetched on the first call and refreshed before it expires, once however many calls see it due', async () => {
      const t = await tokenServer(2);
      const s = await upstream({ authorize: (v) => t.valid(v) });
      const a = await attache(s, '', oauthFlags(t), env);
      const started = Date.now();
      const statuses: number[] = [];
      const keys: string[] = [];
      // About 2.6 s of calls, four at a time: the token (2 s) is refreshed at 80% of its life.
      for (let i = 0; i < 26 && Date.now() - started < 5000; i++) {
        const batch = [key('oauth'), key('oauth'), key('oauth'), key('oauth')];
        keys.push(...batch);
        statuses.push(...(await Promise.all(batch.map((k) => get(a, k)))).map((r) => r.status));
        await sleep(100);
      }
      expect(statuses.every((st) => st === 200)).toBe(true);
      expect(t.requests.length).toBeGreaterThanOrEqual(2);
      // The second token was asked for before the first expired (at 1.6 s of its 2 s), by one request.
      const gap = t.requests[1]!.at - t.requests[0]!.at;
      expect(gap).toBeGreaterThanOrEqual(1400);
      expect(gap).toBeLessThan(2000);
      expect(t.requests[0]).toMatchObject({ scope: 'res.read res.write', audience: 'https://res.example', auth: 'basic' });
      const sent = new Set(keys.map((k) => s.metadata(k)[0]!['authorization']));
      expect(sent).toContain('Bearer tok-1');
      expect(sent).toContain('Bearer tok-2');
      expect([...sent].every((v) => /^Bearer tok-\d$/.test(v ?? ''))).toBe(true);
      // Not asserted: that no call met an expired token. One sent with the old token just before its expiry
      // may arrive after it on a loaded machine, and is then refused and sent again (the next test).
      tokensIssued.push('tok-1', 'tok-2', 'tok-3');
    });

    it('a revoked token: UNAUTHENTICATED refreshes it once and the call is sent again', async () => {
      const t = await tokenServer();
      const s = await upstream({ authorize: (v) => t.valid(v) });
      const a = await attache(s, '', [...oauthFlags(t), '--upstream-client-auth', 'post'], env);
      expect((await get(a, key('oauth'))).status).toBe(200);
      t.revokeAll();
      const k = key('oauth');
      const [r1, r2] = await Promise.all([get(a, k), get(a, key('oauth'))]);
      expect([r1.status, r2.status]).toEqual([200, 200]);
      expect(s.metadata(k).map((m) => m['authorization'])).toEqual(['Bearer tok-1', 'Bearer tok-2']);
      // Single flight: both refused calls shared one new token.
      expect(t.requests.length).toBe(2);
      expect(t.requests.every((r) => r.auth === 'post')).toBe(true);
    });

    it('a token endpoint that is down: fast 503s naming the endpoint, no breaker trip, and recovery once it is back', async () => {
      const t = await tokenServer();
      const s = await upstream({ authorize: (v) => t.valid(v) });
      // The default breaker opens after 5 failures in a row; calls never sent must not count.
      const a = await attache(s, '', oauthFlags(t), env);
      await t.stop();
      for (let i = 0; i < 8; i++) {
        const began = Date.now();
        const res = await get(a, key('down'));
        expect(res.status).toBe(503);
        expect(res.json).toMatchObject({ code: 14 });
        expect((res.json as { message: string }).message).toContain(`OAuth2 token endpoint ${t.url} (client id ${CLIENT_ID})`);
        expect(Date.now() - began).toBeLessThan(1000);
      }
      expect(s.total()).toBe(0);
      const metrics = (await request(`${a.adminUrl}/metrics`)).body;
      expect(metrics).toMatch(new RegExp(`^attache_upstream_credential_refreshes_total\\{upstream="${s.target.replace(/\./g, '\\.')}",result="failure"\\} [1-9]`, 'm'));
      await t.start();
      let recovered: HttpResponse | undefined;
      for (const began = Date.now(); Date.now() - began < 8000; await sleep(200)) {
        const res = await get(a, key('back'));
        if (res.status === 200) {
          recovered = res;
          break;
        }
        expect(res.status).toBe(503);
        expect((res.json as { message: string }).message).toContain('OAuth2 token endpoint');
      }
      expect(recovered?.status).toBe(200);
    });

    it('a token endpoint that accepts and never answers: a call waiting for its first token ends at its own deadline (504)', async () => {
      const sockets = new Set<net.Socket>();
      const hang = net.createServer((c) => {
        sockets.add(c);
        c.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => {
        for (const c of sockets) c.destroy();
        hang.close();
      });
      const url = `http://127.0.0.1:${(hang.address() as net.AddressInfo).port}/token`;
      const s = await upstream({});
      const a = await attache(s, '', ['--upstream-token-url', url, '--upstream-client-id', CLIENT_ID], env);
      const began = Date.now();
      const res = await get(a, key('hang'), { 'x-request-timeout': '300ms' });
      expect(res.status).toBe(504);
      expect(res.json).toMatchObject({ code: 4, message: `the call's deadline of 300 ms passed while waiting for a credential from the OAuth2 token endpoint ${url} (client id ${CLIENT_ID})` });
      expect(Date.now() - began).toBeLessThan(2000);
      expect(s.total()).toBe(0);
    });

    it('a wrong client secret: 503 with the endpoint\'s error, and the secret in no message', async () => {
      const t = await tokenServer();
      const s = await upstream({ authorize: (v) => t.valid(v) });
      const a = await attache(s, '', oauthFlags(t), { ATTACHE_UPSTREAM_CLIENT_SECRET: `${SECRET}-wrong` });
      const res = await get(a, key('wrong'));
      expect(res.status).toBe(503);
      expect((res.json as { message: string }).message).toMatch(/answered HTTP 401 invalid_client/);
      expect(res.body).not.toContain(SECRET);
    });
  });

  it('no log line and no response of this suite holds the client secret or a token', () => {
    expect(logs.length).toBeGreaterThan(0);
    const everything = [...logs, ...seen.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`)];
    for (const text of everything) {
      expect(text).not.toContain(SECRET);
      for (const tok of ['file-token-1', 'file-token-2', 'ambassador-token', ...tokensIssued]) expect(text).not.toContain(tok);
    }
    // The credential events were logged, by source name.
    expect(logs.some((l) => l.includes('upstream credential unavailable') && l.includes('OAuth2 token endpoint'))).toBe(true);
    expect(logs.some((l) => l.includes('upstream credential updated'))).toBe(true);
  });
});
