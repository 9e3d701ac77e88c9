/**
 * The resilience fixture server (test/fixtures/resilience/resilience.proto): a real grpc-js server whose
 * answers a request chooses (fail N times with a code, hang N times, sleep), counting attempts per key, plus
 * a settable grpc.health.v1.Health/Check. It can listen with TLS (optionally requiring client certificates)
 * and be restarted on the same port.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const RES_PROTOS_DIR = fileURLToPath(new URL('../fixtures/resilience', import.meta.url));
const GOOGLEAPIS_DIR = fileURLToPath(new URL('../../third_party/googleapis', import.meta.url));

interface FlakyRequest {
  key: string;
  fail_times: number;
  code: number;
  hang_times: number;
  sleep_ms: number;
}

export interface FlakyServerOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** TLS: the server's chain and key (PEM), and a CA to require client certificates from. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa?: Buffer };
  /** Checks each Flaky call's `authorization` metadata; false answers UNAUTHENTICATED (counted as an attempt). */
  readonly authorize?: (authorization: string | undefined) => boolean;
}

export interface FlakyServer {
  readonly port: number;
  readonly target: string;
  /** Attempts received per key. */
  attempts(key: string): number;
  /** Every attempt received, all keys. */
  total(): number;
  /** The text metadata of each attempt received for `key`, in arrival order (first value per key). */
  metadata(key: string): readonly Readonly<Record<string, string>>[];
  /** What Health/Check answers: 1 SERVING, 2 NOT_SERVING. */
  setHealth(status: 1 | 2): void;
  /** Stops at once; hung calls are cancelled. */
  close(): Promise<void>;
}

let definition: grpc.ServiceDefinition | undefined;
function flakyService(): grpc.ServiceDefinition {
  if (definition) return definition;
  const pkg = protoLoader.loadSync(path.join(RES_PROTOS_DIR, 'resilience.proto'), {
    keepCase: true, defaults: true, includeDirs: [RES_PROTOS_DIR, GOOGLEAPIS_DIR],
  });
  definition = (grpc.loadPackageDefinition(pkg) as unknown as { res: { v1: { Flaky: { service: grpc.ServiceDefinition } } } }).res.v1.Flaky.service;
  return definition;
}

const identity = (b: Buffer): Buffer => b;
const HEALTH_SERVICE: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false,
    requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
  },
};

/** Starts the server on 127.0.0.1. */
export async function startFlakyServer(opts: FlakyServerOptions = {}): Promise<FlakyServer> {
  const counts = new Map<string, number>();
  const seen = new Map<string, Record<string, string>[]>();
  let total = 0;
  let health: 1 | 2 = 1;
  const server = new grpc.Server();
  const handle = (call: grpc.ServerUnaryCall<FlakyRequest, unknown>, cb: grpc.sendUnaryData<unknown>): void => {
    const r = call.request;
    const n = (counts.get(r.key) ?? 0) + 1;
    counts.set(r.key, n);
    const md: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) if (typeof v === 'string') md[k] = v;
    seen.set(r.key, [...(seen.get(r.key) ?? []), md]);
    total++;
    if (opts.authorize !== undefined && !opts.authorize(md['authorization'])) {
      cb({ code: grpc.status.UNAUTHENTICATED, details: 'the bearer token is missing, expired or revoked' });
      return;
    }
    if (n <= r.hang_times) return; // never answers; grpc-js cancels it when the client gives up
    if (n <= r.hang_times + r.fail_times) {
      cb({ code: r.code, details: `flaky failure ${n} for ${r.key}` });
      return;
    }
    const peer = call.getAuthContext().sslPeerCertificate?.subject?.CN;
    const reply = { key: r.key, attempt: n, peer_cn: Array.isArray(peer) ? peer.join(',') : (peer ?? '') };
    if (r.sleep_ms > 0) {
      const t = setTimeout(() => cb(null, reply), r.sleep_ms);
      call.on('cancelled', () => clearTimeout(t));
    } else cb(null, reply);
  };
  server.addService(flakyService(), { Get: handle, Post: handle, Idem: handle });
  server.addService(HEALTH_SERVICE, {
    Check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(protobuf.Writer.create().uint32(8).int32(health).finish())),
  });
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(opts.tls.clientCa ?? null, [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }], opts.tls.clientCa !== undefined)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${opts.port ?? 0}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    target: `127.0.0.1:${port}`,
    attempts: (key) => counts.get(key) ?? 0,
    total: () => total,
    metadata: (key) => seen.get(key) ?? [],
    setHealth: (s) => {
      health = s;
    },
    close: () => {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}
