/**
 * The e2e fixture gRPC server: a real grpc-js server for e2e.v1.EchoService (test/fixtures/e2e/e2e.proto)
 * that records every call it receives, so HTTP tests can assert what the upstream got.
 *
 * Behaviour, method by method (the routes are in test/fixtures/e2e/README.md):
 * - every EchoRequest method answers EchoResponse{received: <the request>, method: <its name>,
 *   book: received.book, tags: received.book.tags};
 * - Fail answers the code, message and details its FailRequest asks for (fixed values: fail-details.ts);
 * - Slow answers after `ms` milliseconds, or records `cancelled` when the call is cancelled first;
 * - Meta echoes the request metadata into `metadata` and sends back the header `x-echo-header: h`, the
 *   binary header `x-echo-header-bin` and the trailers `x-echo-trailer: t` and `x-echo-bin`
 *   (both binary values are the bytes 0x00 0xff);
 * - Stream sends the header `x-echo-header: h`, `count` StreamItems, then the trailer `x-echo-trailer: t`, or
 *   fails like Fail; Collect answers every message of a
 *   client stream; Chat answers each message of a bidi stream at once (an id "fail" ends it with
 *   FAILED_PRECONDITION).
 *
 * Requests are decoded by @grpc/proto-loader with keepCase, longs as String, enums as String and
 * defaults false, so a recorded request holds exactly the fields that were on the wire, under their proto
 * names (int64 and uint64 as decimal strings, bytes as Buffers, enums by name).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type protobuf from 'protobufjs';
import { loadRegistry } from '../../src/registry/load.js';
import { waitUnlessCancelled } from '../../src/demo/backend.js';
import { richStatus } from '../../src/demo/status-details.js';
import { defaultFailMessage, FAIL_DETAILS, FAIL_DETAIL_KINDS, isFailDetailKind } from './fail-details.js';

/** The fixture folder: e2e.proto and mappings/. */
export const E2E_FIXTURE_DIR = fileURLToPath(new URL('../fixtures/e2e', import.meta.url));
/** The fixture proto, its import root, and the mapping folder (two google.api.Service files). */
export const E2E_PROTO = path.join(E2E_FIXTURE_DIR, 'e2e.proto');
export const E2E_PROTOS_DIR = E2E_FIXTURE_DIR;
export const E2E_MAPPINGS_DIR = path.join(E2E_FIXTURE_DIR, 'mappings');
/** The streaming routes, kept apart so the unary fixture loads on a build without streaming support. */
export const E2E_STREAMING_MAPPINGS_DIR = path.join(E2E_FIXTURE_DIR, 'mappings-streaming');
export const E2E_SERVICE = 'e2e.v1.EchoService';

const GOOGLEAPIS_DIR = fileURLToPath(new URL('../../third_party/googleapis', import.meta.url));

/** Meta's fixed response metadata. */
export const ECHO_HEADER = { key: 'x-echo-header', value: 'h' } as const;
export const ECHO_HEADER_BIN = 'x-echo-header-bin';
export const ECHO_TRAILER = { key: 'x-echo-trailer', value: 't' } as const;
export const ECHO_TRAILER_BIN = 'x-echo-bin';
export const ECHO_BIN_VALUE: Buffer = Buffer.from([0x00, 0xff]);

/** Stream refuses more items than this, so a typo cannot flood a test. */
export const MAX_STREAM_ITEMS = 200_000;

/** One call the server received. */
export interface RecordedCall {
  /** The method name, e.g. "GetEcho". */
  readonly method: string;
  /** The full gRPC path, e.g. "/e2e.v1.EchoService/GetEcho". */
  readonly path: string;
  /**
   * The request as proto-loader decoded it (see the module comment). For Collect (client streaming), the
   * array of messages received so far.
   */
  readonly request: unknown;
  /**
   * The request metadata: key → value, or key → array of values when the key came as several header
   * fields (grpc-js clients join repeated text values into one field, "a, b"). Values of `-bin` keys are
   * Buffers. grpc-js has already removed its own headers (grpc-timeout, content-type,
   * te, grpc-encoding…); `user-agent` and `:authority`-derived keys are kept as grpc-js reports them.
   */
  readonly metadata: Record<string, unknown>;
  /** The call's deadline as the server saw it (from grpc-timeout), or undefined when it had none. */
  readonly deadline: Date | undefined;
  /** Set when the call was cancelled (client gone, deadline passed, server closed) before it was answered. */
  cancelled: boolean;
  /** Streams: the response messages the server has written so far (its progress, for flow-control tests). */
  sent: number;
}

/** A running fixture server. */
export interface TestServer {
  readonly port: number;
  /** A grpc-js target: `127.0.0.1:PORT`. */
  readonly target: string;
  /** Every call received, in arrival order; an entry is added when the call starts. */
  readonly calls: RecordedCall[];
  /**
   * Resolves with the next call to `method` ("Slow" or "/e2e.v1.EchoService/Slow") to finish or be
   * cancelled. Calls that have already finished and were not yet returned by waitForCall count, oldest
   * first, so it works whether it is called before or after the HTTP response arrives.
   * @throws (rejects) after `timeoutMs` (default 5000) without such a call, or when the server closes.
   */
  waitForCall(method: string, timeoutMs?: number): Promise<RecordedCall>;
  /** Forgets every recorded call and every finished call not yet returned by waitForCall. */
  reset(): void;
  /** Stops the server at once: in-flight calls are cancelled (and recorded so). Never rejects. */
  close(): Promise<void>;
}

/** The parts of every server call type (unary and streaming) the call log needs. */
interface ServerCallLike {
  getDeadline(): ReturnType<grpc.ServerUnaryCall<unknown, unknown>['getDeadline']>;
  getPath(): string;
  readonly metadata: grpc.Metadata;
  on(event: 'cancelled', listener: () => void): unknown;
}

/** Tracks calls and hands finished ones to waitForCall. All state lives in one instance per server. */
class CallLog {
  readonly calls: RecordedCall[] = [];
  readonly #finished = new Map<string, RecordedCall[]>();
  readonly #waiters = new Map<string, { resolve: (c: RecordedCall) => void; reject: (e: Error) => void }[]>();
  readonly #settled = new WeakSet<RecordedCall>();
  #closed = false;

  start(call: ServerCallLike, request: unknown): RecordedCall {
    const deadline = call.getDeadline();
    const rec: RecordedCall = {
      method: methodName(call.getPath()),
      path: call.getPath(),
      request,
      metadata: metadataRecord(call.metadata),
      deadline: deadline instanceof Date ? deadline : Number.isFinite(deadline) ? new Date(deadline) : undefined,
      cancelled: false,
      sent: 0,
    };
    this.calls.push(rec);
    // grpc-js also emits 'cancelled' when a finished call's stream closes; #settled makes that a no-op.
    call.on('cancelled', () => this.settle(rec, true));
    return rec;
  }

  /** Marks a call finished (or cancelled); only the first settlement counts. */
  settle(rec: RecordedCall, cancelled: boolean): void {
    if (this.#settled.has(rec)) return;
    this.#settled.add(rec);
    rec.cancelled = cancelled;
    const waiter = this.#waiters.get(rec.method)?.shift();
    if (waiter) waiter.resolve(rec);
    else this.#queue(rec.method).push(rec);
  }

  isSettled(rec: RecordedCall): boolean {
    return this.#settled.has(rec);
  }

  waitFor(method: string, timeoutMs: number): Promise<RecordedCall> {
    const name = methodName(method);
    const ready = this.#finished.get(name)?.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#closed) return Promise.reject(new Error(`waitForCall(${name}): the server is closed`));
    return new Promise((resolve, reject) => {
      const waiters = this.#waiters.get(name) ?? [];
      this.#waiters.set(name, waiters);
      const entry = {
        resolve: (c: RecordedCall) => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = waiters.indexOf(entry);
        if (i >= 0) waiters.splice(i, 1);
        const seen = this.calls.map((c) => c.method).join(', ') || 'none';
        reject(new Error(`waitForCall(${name}): no call finished within ${timeoutMs} ms (calls so far: ${seen})`));
      }, timeoutMs);
      waiters.push(entry);
    });
  }

  reset(): void {
    this.calls.length = 0;
    this.#finished.clear();
  }

  close(): void {
    this.#closed = true;
    for (const [name, waiters] of this.#waiters) {
      for (const w of waiters.splice(0)) w.reject(new Error(`waitForCall(${name}): the server closed`));
    }
  }

  #queue(method: string): RecordedCall[] {
    const q = this.#finished.get(method) ?? [];
    this.#finished.set(method, q);
    return q;
  }
}

/** "/e2e.v1.EchoService/Echo" → "Echo"; a bare name is returned as is. */
function methodName(pathOrName: string): string {
  return pathOrName.slice(pathOrName.lastIndexOf('/') + 1);
}

/** How long a client stream's end waits for a 'cancelled' that may follow it (see Collect). */
const END_GRACE_MS = 20;

/** Resolves true on the stream's 'drain', false if the call is cancelled first. */
function drainedUnlessCancelled(call: grpc.ServerWritableStream<unknown, unknown>): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onDrain = (): void => {
      call.removeListener('cancelled', onCancel);
      resolve(true);
    };
    const onCancel = (): void => {
      call.removeListener('drain', onDrain);
      resolve(false);
    };
    call.once('drain', onDrain);
    call.once('cancelled', onCancel);
  });
}

/** Metadata → plain record: one value as is, several as an array. */
function metadataRecord(md: grpc.Metadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, values] of Object.entries(md.toJSON())) {
    out[key] = values.length === 1 ? values[0] : [...values];
  }
  return out;
}

/** Metadata → map<string,string> for Meta: -bin values base64, repeated values joined with ", ". */
function metadataEcho(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of Object.entries(md.toJSON())) {
    out[key] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v))).join(', ');
  }
  return out;
}


interface FailRequest {
  code?: number;
  message?: string;
  details?: string[];
  trailers?: Record<string, string>;
}

/**
 * The status a FailRequest asks for, or undefined for code 0 (success). A request the fixture cannot honour
 * (code outside 0..16, an unknown detail kind, an invalid trailer key) becomes INVALID_ARGUMENT saying why.
 */
function failStatus(root: protobuf.Root, req: FailRequest | undefined): Partial<grpc.StatusObject> | undefined {
  const code = req?.code ?? 0;
  if (code === 0) return undefined;
  if (!Number.isInteger(code) || code < 0 || code > 16) {
    return { code: grpc.status.INVALID_ARGUMENT, details: `fixture: code must be 0..16, got ${code}` };
  }
  const kinds = req?.details ?? [];
  const unknown = kinds.filter((k) => !isFailDetailKind(k));
  if (unknown.length > 0) {
    return {
      code: grpc.status.INVALID_ARGUMENT,
      details: `fixture: unknown detail kinds ${unknown.join(', ')}; known: ${FAIL_DETAIL_KINDS.join(', ')}`,
    };
  }
  const trailers = new grpc.Metadata();
  try {
    for (const [k, v] of Object.entries(req?.trailers ?? {})) trailers.set(k, v);
  } catch (err) {
    return { code: grpc.status.INVALID_ARGUMENT, details: `fixture: bad trailer: ${(err as Error).message}` };
  }
  const message = req?.message || defaultFailMessage(code);
  const details = kinds.filter(isFailDetailKind).map((k) => FAIL_DETAILS[k].detail);
  return richStatus(root, code, message, details, trailers);
}

/** grpc-js types a handler error as an Error; a status object with code/details/metadata is what it reads. */
function asServiceError(s: Partial<grpc.StatusObject>): grpc.ServerErrorResponse {
  return Object.assign(new Error(s.details ?? ''), s);
}

/** The EchoService implementation, recording into `log`. */
function echoService(root: protobuf.Root, log: CallLog, definition: grpc.ServiceDefinition): grpc.UntypedServiceImplementation {
  const echo = (method: string, req: Record<string, unknown>): Record<string, unknown> => {
    const book = req['book'] as { tags?: string[] } | undefined;
    return { received: req, method, ...(book ? { book } : {}), ...(book?.tags ? { tags: book.tags } : {}) };
  };

  const unary = (
    answer: (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, rec: RecordedCall) => Promise<
      { value: Record<string, unknown>; trailer?: grpc.Metadata } | { error: Partial<grpc.StatusObject> } | undefined
    >,
  ): grpc.handleUnaryCall<Record<string, unknown>, unknown> => {
    return (call, callback) => {
      const rec = log.start(call, call.request);
      answer(call, rec).then(
        (out) => {
          if (out === undefined || log.isSettled(rec)) return;
          log.settle(rec, false);
          if ('error' in out) callback(asServiceError(out.error));
          else callback(null, out.value, out.trailer);
        },
        (err: unknown) => {
          log.settle(rec, false);
          callback(asServiceError({ code: grpc.status.INTERNAL, details: `fixture bug: ${String(err)}` }));
        },
      );
    };
  };

  const byName: Record<string, grpc.UntypedHandleCall> = {
    Fail: unary(async (call) => {
      const error = failStatus(root, call.request as FailRequest);
      return error ? { error } : { value: { method: 'Fail' } };
    }),
    Slow: unary(async (call) => {
      const ms = Number(call.request['ms'] ?? 0);
      if (!(await waitUnlessCancelled(call, ms))) return undefined;
      const id = call.request['id'];
      return { value: { method: 'Slow', waited_ms: ms, ...(id ? { received: { id } } : {}) } };
    }),
    Meta: unary(async (call) => {
      const header = new grpc.Metadata();
      header.set(ECHO_HEADER.key, ECHO_HEADER.value);
      header.set(ECHO_HEADER_BIN, ECHO_BIN_VALUE);
      call.sendMetadata(header);
      const trailer = new grpc.Metadata();
      trailer.set(ECHO_TRAILER.key, ECHO_TRAILER.value);
      trailer.set(ECHO_TRAILER_BIN, ECHO_BIN_VALUE);
      return { value: { ...echo('Meta', call.request), metadata: metadataEcho(call.metadata) }, trailer };
    }),
    Stream: (call: grpc.ServerWritableStream<{ count?: number; interval_ms?: number; fail?: FailRequest }, unknown>) => {
      const rec = log.start(call, call.request);
      const count = call.request.count ?? 0;
      const header = new grpc.Metadata();
      header.set(ECHO_HEADER.key, ECHO_HEADER.value);
      call.sendMetadata(header);
      const run = async (): Promise<void> => {
        if (count < 0 || count > MAX_STREAM_ITEMS) {
          throw asServiceError({ code: grpc.status.INVALID_ARGUMENT, details: `fixture: count must be 0..${MAX_STREAM_ITEMS}` });
        }
        for (let i = 0; i < count; i++) {
          if (!(await waitUnlessCancelled(call, call.request.interval_ms ?? 0))) return;
          // Flow control as a real server does it: wait for 'drain' rather than buffer a long stream whole.
          rec.sent++;
          if (!call.write({ index: i, big: (BigInt(i) * 10n ** 12n).toString(), note: `item ${i}` })) {
            if (!(await drainedUnlessCancelled(call))) return;
          }
        }
        const error = failStatus(root, call.request.fail);
        if (error) throw asServiceError(error);
      };
      run().then(
        () => {
          if (log.isSettled(rec)) return;
          log.settle(rec, false);
          const trailer = new grpc.Metadata();
          trailer.set(ECHO_TRAILER.key, ECHO_TRAILER.value);
          call.end(trailer);
        },
        (err: unknown) => {
          if (log.isSettled(rec)) return;
          log.settle(rec, false);
          const isStatus = err instanceof Error && typeof (err as { code?: unknown }).code === 'number';
          call.emit('error', isStatus ? err : asServiceError({ code: grpc.status.INTERNAL, details: `fixture bug: ${String(err)}` }));
        },
      );
    },
    Collect: (call: grpc.ServerReadableStream<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const received: Record<string, unknown>[] = [];
      const rec = log.start(call, received);
      call.on('data', (msg: Record<string, unknown>) => received.push(msg));
      call.on('end', () => {
        // A client's RST_STREAM also ends the readable side (node:http2 ends a stream's readable when it
        // closes), and the 'cancelled' event can come a few turns later: wait for it a moment.
        setTimeout(() => {
          if (log.isSettled(rec)) return;
          log.settle(rec, call.cancelled);
          if (!call.cancelled) callback(null, { received, count: received.length });
        }, END_GRACE_MS);
      });
    },
    Chat: (call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>) => {
      const received: Record<string, unknown>[] = [];
      const rec = log.start(call, received);
      call.on('data', (msg: Record<string, unknown>) => {
        if (log.isSettled(rec)) return;
        received.push(msg);
        if (msg['id'] === 'fail') {
          log.settle(rec, false);
          call.emit('error', asServiceError({ code: grpc.status.FAILED_PRECONDITION, details: 'e2e chat: asked to fail' }));
          return;
        }
        rec.sent++;
        call.write(echo('Chat', msg));
      });
      call.on('end', () => {
        setTimeout(() => {
          if (log.isSettled(rec)) return;
          log.settle(rec, call.cancelled);
          if (!call.cancelled) call.end();
        }, END_GRACE_MS);
      });
    },
  };

  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(definition)) {
    impl[name] = byName[name] ?? unary(async (call) => ({ value: echo(name, call.request) }));
  }
  return impl;
}

/**
 * Starts the fixture server on 127.0.0.1 (`port` 0, the default, lets the OS choose).
 * @throws (rejects) when the fixture proto cannot be loaded or the port cannot be bound.
 */
export async function startTestServer(opts: { port?: number } = {}): Promise<TestServer> {
  // The registry holds the detail types (google.rpc.* and e2e.v1.CustomDetail) errors are encoded with.
  const { root } = loadRegistry([E2E_PROTOS_DIR]);
  const packageDefinition = protoLoader.loadSync(E2E_PROTO, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    includeDirs: [E2E_PROTOS_DIR, GOOGLEAPIS_DIR],
  });
  const definition = packageDefinition[E2E_SERVICE] as grpc.ServiceDefinition;
  const log = new CallLog();
  const server = new grpc.Server();
  server.addService(definition, echoService(root, log, definition));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) {
        server.forceShutdown();
        reject(err);
      } else {
        resolve(p);
      }
    });
  });
  return {
    port,
    target: `127.0.0.1:${port}`,
    calls: log.calls,
    waitForCall: (method, timeoutMs = 5000) => log.waitFor(method, timeoutMs),
    reset: () => log.reset(),
    close: async () => {
      server.forceShutdown();
      log.close();
    },
  };
}
