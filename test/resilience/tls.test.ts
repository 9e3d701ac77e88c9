/**
 * TLS and mTLS to upstreams with certificates generated during the test, and rotation of the
 * certificate files on disk picked up without a restart and without failing a call in flight.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestAttache } from '../support/attache.js';
import { haveOpenssl, makeCa, makeLeaf, type Pem } from '../support/certs.js';
import { startFlakyServer, type FlakyServer } from '../support/flaky-server.js';
import { request } from '../support/http.js';
import { startResAttache, tempDir, writeMapping } from '../support/resilience.js';

let n = 0;
const key = (label: string): string => `${label}-${++n}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.runIf(haveOpenssl())('TLS to upstreams', () => {
  const tmp = tempDir('attache-tls-');
  let serverCa: Pem;
  let clientCa: Pem;
  let serverCert: Pem;
  let namedCert: Pem;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(() => {
    serverCa = makeCa(tmp.dir, 'server-ca');
    clientCa = makeCa(tmp.dir, 'client-ca');
    serverCert = makeLeaf(tmp.dir, 'server', serverCa, ['DNS:localhost', 'IP:127.0.0.1']);
    namedCert = makeLeaf(tmp.dir, 'named', serverCa, ['DNS:upstream.internal']);
    makeLeaf(tmp.dir, 'client-1', clientCa);
    makeLeaf(tmp.dir, 'client-2', clientCa);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => tmp.cleanup());

  async function tlsServer(cert: Pem, requireClient: boolean): Promise<FlakyServer> {
    const s = await startFlakyServer({ tls: { cert: cert.cert, key: cert.key, ...(requireClient ? { clientCa: clientCa.cert } : {}) } });
    cleanups.push(() => s.close());
    return s;
  }
  /** attache with a grpcs:// backend rule and an attache `tls:` rule. */
  async function attacheTo(s: FlakyServer, tls: string, flags: string[] = []): Promise<TestAttache> {
    const file = writeMapping(tmp.dir, `backend:
  rules:
    - selector: "res.v1.*"
      address: grpcs://${s.target}
attache:
  rules:
    - selector: "res.v1.*"
      breaker: false
      tls: ${tls}
`, `${key('m')}.yaml`);
    const a = await startResAttache(file, undefined, flags);
    cleanups.push(() => a.stop());
    return a;
  }

  it('TLS with a custom CA', async () => {
    const s = await tlsServer(serverCert, false);
    const a = await attacheTo(s, `{ ca: ${serverCa.certFile} }`);
    const res = await request(`${a.url}/v1/get/${key('tls')}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ attempt: 1 });
  });

  it('TLS fails closed (503) when the CA does not sign the server certificate', async () => {
    const s = await tlsServer(serverCert, false);
    const a = await attacheTo(s, `{ ca: ${clientCa.certFile} }`);
    const res = await request(`${a.url}/v1/get/${key('badca')}`);
    expect(res.status).toBe(503);
    expect(s.total()).toBe(0);
  });

  it('server name override: the certificate names upstream.internal, not the address', async () => {
    const s = await tlsServer(namedCert, false);
    const plain = await attacheTo(s, `{ ca: ${serverCa.certFile} }`);
    expect((await request(`${plain.url}/v1/get/${key('noname')}`)).status).toBe(503);
    const named = await attacheTo(s, `{ ca: ${serverCa.certFile}, serverName: upstream.internal }`);
    expect((await request(`${named.url}/v1/get/${key('named')}`)).status).toBe(200);
  });

  it('mTLS: the client certificate reaches the server; without it the handshake fails', async () => {
    const s = await tlsServer(serverCert, true);
    const c1 = path.join(tmp.dir, 'client-1');
    const a = await attacheTo(s, `{ ca: ${serverCa.certFile}, cert: ${c1}.pem, key: ${c1}.key }`);
    const res = await request(`${a.url}/v1/get/${key('mtls')}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ peerCn: 'client-1' });
    const anonymous = await attacheTo(s, `{ ca: ${serverCa.certFile} }`);
    expect((await request(`${anonymous.url}/v1/get/${key('anon')}`)).status).toBe(503);
  });

  it('rotation: new certificate files on disk are used for new calls; a call in flight finishes', async () => {
    const s = await tlsServer(serverCert, true);
    const live = path.join(tmp.dir, 'live');
    fs.mkdirSync(live, { recursive: true });
    fs.copyFileSync(path.join(tmp.dir, 'client-1.pem'), path.join(live, 'client.pem'));
    fs.copyFileSync(path.join(tmp.dir, 'client-1.key'), path.join(live, 'client.key'));
    const a = await attacheTo(s, `{ ca: ${serverCa.certFile}, cert: ${live}/client.pem, key: ${live}/client.key }`, ['--tls-reload-interval', '100ms']);
    expect((await request(`${a.url}/v1/get/${key('before')}`)).json).toMatchObject({ peerCn: 'client-1' });

    const inFlight = request(`${a.url}/v1/get/${key('inflight')}?sleepMs=1500`);
    await sleep(100);
    fs.copyFileSync(path.join(tmp.dir, 'client-2.pem'), path.join(live, 'client.pem'));
    fs.copyFileSync(path.join(tmp.dir, 'client-2.key'), path.join(live, 'client.key'));

    let cn = '';
    for (let i = 0; i < 40 && cn !== 'client-2'; i++) {
      await sleep(50);
      const r = await request(`${a.url}/v1/get/${key('after')}`);
      expect(r.status).toBe(200);
      cn = (r.json as { peerCn: string }).peerCn;
    }
    expect(cn).toBe('client-2');
    const old = await inFlight;
    expect(old.status).toBe(200);
    expect(old.json).toMatchObject({ peerCn: 'client-1' });
  });

  it('--check reports an unreadable certificate file', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const { buildSnapshot } = await import('../../src/snapshot.js');
    const { RES_PROTOS_DIR } = await import('../support/flaky-server.js');
    const file = writeMapping(tmp.dir, `backend:\n  rules:\n    - selector: "res.v1.*"\n      address: grpcs://127.0.0.1:1\nattache:\n  rules:\n    - selector: "res.v1.*"\n      tls: { ca: ${tmp.dir}/missing.pem }\n`, `${key('m')}.yaml`);
    const loaded = loadConfig(['--protos', RES_PROTOS_DIR, '--mappings', file], {});
    if (!loaded.ok) throw new Error('config');
    const built = buildSnapshot(loaded.config);
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.problems).toEqual([expect.objectContaining({ code: 'ATTACHE_E_TLS', message: expect.stringMatching(/tls\.ca: cannot read .*missing\.pem: ENOENT/) })]);
  });
});
