/**
 * Helpers for the lean transport's tests: a grpc-js server with Buffer handlers, a raw node:http2 server
 * for answers grpc-js servers cannot give, and a promise around one attempt.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { createH2Transport, type H2Settings, type H2Transport, type H2TransportOptions } from '../../src/upstream/h2/transport.js';
import { parseTarget } from '../../src/upstream/h2/target.js';
import type { AttemptEnd, AttemptControl } from '../../src/upstream/transport.js';
import { CallMetadata } from '../../src/upstream/call-metadata.js';

export const PATH = '/t.v1.Svc/Unary';

/**
 * Settings with fast reconnects, and the seed's eager keepalive (10 s / 3 s, idle connections too, no
 * server ping policy to respect), which these tests' servers accept.
 */
export const SETTINGS: H2Settings = {
  keepaliveTimeMs: 10_000,
  keepaliveTimeoutMs: 3000,
  keepalivePermitWithoutCalls: true,
  keepaliveServerMinTimeMs: 0,
  reconnectInitialBackoffMs: 100,
  reconnectMaxBackoffMs: 200,
  maxSendBytes: 4 << 20,
  maxReceiveBytes: 4 << 20,
  loadBalancing: 'round_robin',
};

type Unary = grpc.handleUnaryCall<Buffer, Buffer>;
const id = (b: Buffer): Buffer => b;

export interface GrpcServer {
  readonly server: grpc.Server;
  readonly port: number;
  readonly target: string;
  close(): Promise<void>;
}

/** A grpc-js server answering `PATH` (and `extra` paths) with `handler`, on 127.0.0.1 (or `bind`). */
export async function grpcServer(handler: Unary, opts: { bind?: string; creds?: grpc.ServerCredentials; extra?: Record<string, Unary> } = {}): Promise<GrpcServer> {
  const server = new grpc.Server();
  server.register(PATH, handler, id, id, 'unary');
  for (const [p, h] of Object.entries(opts.extra ?? {})) server.register(p, h, id, id, 'unary');
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.bind ?? '127.0.0.1:0', opts.creds ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port, target: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.tryShutdown(() => r())).then(() => server.forceShutdown()) };
}

/** Echo: the request bytes back, after `prefix`. */
export const echo: Unary = (call, cb) => cb(null, call.request);

export interface RawServer {
  readonly server: http2.Http2Server;
  readonly port: number;
  readonly target: string;
  readonly sessions: Set<http2.ServerHttp2Session>;
  close(): Promise<void>;
}

/** A raw HTTP/2 server; `onStream` answers by hand. */
export async function rawServer(onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Promise<Buffer>) => void, settings?: http2.Settings): Promise<RawServer> {
  const server = http2.createServer(settings !== undefined ? { settings } : {});
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const chunks: Buffer[] = [];
    const body = new Promise<Buffer>((resolve) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
    onStream(stream, headers, body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server, port, target: `127.0.0.1:${port}`, sessions,
    close: () => {
      for (const s of sessions) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A length-prefixed message. */
/** Response headers of a gRPC answer. */
export const GRPC = { ':status': 200, 'content-type': 'application/grpc' };

/** Answers `msg` then `grpc-status: status` in trailers. */
export function answer(stream: http2.ServerHttp2Stream, body: Buffer | Buffer[], trailers: http2.OutgoingHttpHeaders = { 'grpc-status': '0' }, headers: http2.OutgoingHttpHeaders = GRPC): void {
  stream.respond(headers, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  for (const b of Array.isArray(body) ? body : [body]) stream.write(b);
  stream.end();
}

export const frame = (msg: Buffer, compressed = false): Buffer => {
  const f = Buffer.alloc(5 + msg.length);
  f[0] = compressed ? 1 : 0;
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
};

/** Transports made by {@link transport}, closed after each test by `closeAll`. */
export class Transports {
  private readonly all: H2Transport[] = [];
  make(target: string, over: Partial<Omit<H2TransportOptions, 'settings'>> & { settings?: Partial<H2Settings>; serverName?: string } = {}): H2Transport {
    const parsed = parseTarget(target, over.serverName);
    if (parsed === undefined) throw new Error(`unparsed target ${target}`);
    const t = createH2Transport({ tls: undefined, ...over, target: parsed, settings: { ...SETTINGS, ...over.settings } });
    this.all.push(t);
    return t;
  }
  closeAll(): void {
    for (const t of this.all.splice(0)) t.close();
  }
}

/** What a transport test file tears down after each test: see {@link transportTestScope}. */
export interface TransportTestScope {
  readonly transports: Transports;
  /** Runs `cleanup` after the test, once the transports are closed; cleanups run newest first. */
  defer(cleanup: () => Promise<void> | void): void;
  /** A {@link rawServer} closed after the test. */
  raw(onStream: Parameters<typeof rawServer>[0], settings?: http2.Settings): Promise<RawServer>;
}

/** Call at a test file's top level: registers the `afterEach` that closes what the tests opened. */
export function transportTestScope(): TransportTestScope {
  const transports = new Transports();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    transports.closeAll();
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const defer = (cleanup: () => Promise<void> | void): void => void cleanups.push(cleanup);
  return {
    transports,
    defer,
    async raw(onStream, settings) {
      const s = await rawServer(onStream, settings);
      defer(() => s.close());
      return s;
    },
  };
}

export interface Outcome extends AttemptEnd {
  readonly sawHeaders: boolean;
}

/** Starts one attempt; `done` resolves at its end (and rejects if `onEnd` fires twice within 50 ms). */
export function attempt(t: H2Transport, opts: { path?: string; md?: CallMetadata; msg?: Buffer; timeoutMs?: number } = {}): { control: AttemptControl; done: Promise<Outcome> } {
  let sawHeaders = false;
  let ends = 0;
  let control!: AttemptControl;
  const done = new Promise<Outcome>((resolve, reject) => {
    control = t.start(opts.path ?? PATH, opts.md ?? CallMetadata.EMPTY, opts.msg ?? Buffer.from('ping'), Date.now() + (opts.timeoutMs ?? 5000), {
      onHeaders: () => {
        if (ends > 0 || sawHeaders) reject(new Error('onHeaders out of order'));
        sawHeaders = true;
      },
      onEnd: (e) => {
        if (++ends > 1) reject(new Error('onEnd twice'));
        setTimeout(() => (ends > 1 ? reject(new Error('onEnd twice')) : resolve({ ...e, sawHeaders })), 20);
      },
    });
  });
  return { control, done };
}

export const call = (t: H2Transport, opts: Parameters<typeof attempt>[1] = {}): Promise<Outcome> => attempt(t, opts).done;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until true (at most `ms`). */
export async function until(f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}
