/**
 * The lean HTTP/2 transport over TLS and mTLS (certificates made with openssl), the server-name override,
 * and certificate rotation: new material for new connections while a call in flight finishes.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { haveOpenssl, makeCa, makeLeaf, type Pem } from '../support/certs.js';
import { tempDir } from '../support/resilience.js';
import { attempt, call, grpcServer, Transports, until, type GrpcServer } from './support.js';

describe.runIf(haveOpenssl())('h2 transport over TLS', () => {
  const tmp = tempDir('attache-h2-tls-');
  let serverCa: Pem;
  let clientCa: Pem;
  let serverCert: Pem;
  let namedCert: Pem;
  let client1: Pem;
  let client2: Pem;
  const transports = new Transports();
  const servers: GrpcServer[] = [];

  beforeAll(() => {
    serverCa = makeCa(tmp.dir, 'server-ca');
    clientCa = makeCa(tmp.dir, 'client-ca');
    serverCert = makeLeaf(tmp.dir, 'server', serverCa, ['DNS:localhost', 'IP:127.0.0.1']);
    namedCert = makeLeaf(tmp.dir, 'named', serverCa, ['DNS:upstream.internal']);
    client1 = makeLeaf(tmp.dir, 'client-1', clientCa);
    client2 = makeLeaf(tmp.dir, 'client-2', clientCa);
  });
  afterEach(async () => {
    transports.closeAll();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => tmp.cleanup());

  /** Answers the client certificate's CN (or "-"); `hold` keeps calls whose request is "hold" waiting. */
  async function tlsServer(cert: Pem, requireClient: boolean, held?: Array<() => void>): Promise<GrpcServer> {
    const creds = grpc.ServerCredentials.createSsl(requireClient ? clientCa.cert : null, [{ cert_chain: cert.cert, private_key: cert.key }], requireClient);
    const s = await grpcServer((c, cb) => {
      const cn = String(c.getAuthContext().sslPeerCertificate?.subject?.CN ?? '-');
      if (held !== undefined && c.request.toString() === 'hold') held.push(() => cb(null, Buffer.from(cn)));
      else cb(null, Buffer.from(cn));
    }, { creds });
    servers.push(s);
    return s;
  }
  const material = (ca: Pem, client?: Pem) => ({ ca: ca.cert, cert: client?.cert, key: client?.key });

  it('TLS with a custom CA; a CA that did not sign the server fails UNAVAILABLE', async () => {
    const s = await tlsServer(serverCert, false);
    const ok = await call(transports.make(s.target, { tls: material(serverCa) }));
    expect(ok).toMatchObject({ code: 0 });
    const bad = await call(transports.make(s.target, { tls: material(clientCa) }));
    expect(bad).toMatchObject({ code: 14, unprocessed: false }); // a failed pick: the retry policy decides
  });

  it('server name override: the certificate names upstream.internal, not the address', async () => {
    const s = await tlsServer(namedCert, false);
    expect((await call(transports.make(s.target, { tls: material(serverCa) }))).code).toBe(14);
    const named = transports.make(s.target, { tls: material(serverCa), serverName: 'upstream.internal' });
    expect((await call(named)).code).toBe(0);
  });

  it('mTLS: the client certificate reaches the server; without it the handshake fails', async () => {
    const s = await tlsServer(serverCert, true);
    const o = await call(transports.make(s.target, { tls: material(serverCa, client1) }));
    expect(o.code).toBe(0);
    expect(o.response?.toString()).toBe('client-1');
    expect((await call(transports.make(s.target, { tls: material(serverCa) }))).code).toBe(14);
  });

  it('rotation: new material is used for new calls; a call in flight finishes on the old connection', async () => {
    const held: Array<() => void> = [];
    const s = await tlsServer(serverCert, true, held);
    const t = transports.make(s.target, { tls: material(serverCa, client1) });
    expect((await call(t)).response?.toString()).toBe('client-1');
    const inflight = attempt(t, { msg: Buffer.from('hold') });
    await until(() => held.length === 1);
    t.setTls(material(serverCa, client2));
    expect((await call(t)).response?.toString()).toBe('client-2');
    held[0]!();
    const o = await inflight.done;
    expect(o.code).toBe(0);
    expect(o.response?.toString()).toBe('client-1');
  });
});
