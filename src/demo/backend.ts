/**
 * The embedded demo gRPC backend that `npm start` puts behind attache: a real grpc-js server for
 * payments.v1.PaymentService (protos/payments/v1/payments.proto) on loopback, over an in-memory store
 * seeded with fixed payments (see payments.ts).
 *
 * Besides the business rules it shows off what attache translates:
 * - rich errors: every failure carries a google.rpc.Status with details in `grpc-status-details-bin`;
 * - metadata: every response has the header `x-demo-backend: payments-v1` and the trailer
 *   `x-demo-latency-us: <handler time in µs>`, which attache surfaces as `Grpc-Metadata-X-Demo-Backend`
 *   and `Grpc-Trailer-X-Demo-Latency-Us`;
 * - deadlines: GetPayment for an id starting with `slow` waits 3 s before answering (normally, so NOT_FOUND
 *   unless such a payment exists), and gives up silently when the call is cancelled or its deadline passes;
 * - retries: GetPayment for an id starting with `flaky` answers UNAVAILABLE with a RetryInfo of 2 s.
 *
 * It writes nothing to the console: every problem goes back to the caller as a gRPC status.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { BUNDLED_PROTOS_DIR } from '../package-dir.js';
import { loadRegistry } from '../registry/load.js';
import {
  DemoFailure,
  PaymentStore,
  paymentToWire,
  seedPayments,
  type ChargePaymentIn,
  type GetPaymentIn,
  type ListPaymentsIn,
  MAX_PAGE_SIZE,
  type Outcome,
  type PaymentRecord,
  type RefundPaymentIn,
  type UpdatePaymentIn,
} from './payments.js';
import { richStatus } from './status-details.js';
import type protobuf from 'protobufjs';

/** A running demo backend. */
export interface DemoBackend {
  /** The port it listens on (the one asked for, or the one the OS chose for port 0). */
  readonly port: number;
  /** A grpc-js target for it: `host:port`. */
  readonly target: string;
  /** Stops the server: in-flight calls get a short grace period, then are cancelled. Never rejects. */
  close(): Promise<void>;
}

/** Options for `startDemoBackend`. */
export interface DemoBackendOptions {
  /** The folder holding payments/v1/payments.proto (the repo's `protos/`). */
  readonly protosDir: string;
  /** Interface to bind; loopback by default, since the demo is for a developer's machine. */
  readonly host?: string;
  /** Port to bind; 0 (the default) lets the OS choose. */
  readonly port?: number;
  /** Adds more services before the server starts (tests add gRPC server reflection, from the definition). */
  readonly configure?: (server: grpc.Server, definition: protoLoader.PackageDefinition) => void;
}

const SERVICE_NAME = 'payments.v1.PaymentService';
const PAYMENTS_PROTO = 'payments/v1/payments.proto';

/** Response header and trailer every call carries, so the README can show Grpc-Metadata-* / Grpc-Trailer-*. */
export const DEMO_HEADER = { key: 'x-demo-backend', value: 'payments-v1' } as const;
export const DEMO_LATENCY_TRAILER = 'x-demo-latency-us';

/** How long `slow…` ids take, and the retry delay `flaky…` ids advertise. */
export const SLOW_DELAY_MS = 3000;
export const FLAKY_RETRY_DELAY_S = 2;

/** How long close() lets in-flight calls finish before cancelling them. */
const CLOSE_GRACE_MS = 1000;

/** The handler's answer: a response message, a failure, or nothing because the call was cancelled. */
type Answer = Record<string, unknown> | DemoFailure | undefined;

/**
 * Wraps a handler so every call gets the demo header first and the latency trailer with its answer, and so
 * an unexpected exception still ends as a gRPC status (INTERNAL) rather than grpc-js's generic UNKNOWN.
 */
function unary<Req>(
  root: protobuf.Root,
  handle: (request: Req, call: grpc.ServerUnaryCall<Req, unknown>) => Answer | Promise<Answer>,
): grpc.handleUnaryCall<Req, unknown> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const header = new grpc.Metadata();
    header.set(DEMO_HEADER.key, DEMO_HEADER.value);
    call.sendMetadata(header);
    const trailer = (): grpc.Metadata => {
      const md = new grpc.Metadata();
      md.set(DEMO_LATENCY_TRAILER, String((process.hrtime.bigint() - started) / 1000n));
      return md;
    };
    Promise.resolve()
      .then(() => handle(call.request, call))
      .then(
        (answer) => {
          if (answer === undefined || call.cancelled) return;
          if (answer instanceof DemoFailure) {
            callback(richStatus(root, answer.code, answer.message, answer.details, trailer()));
          } else {
            callback(null, answer, trailer());
          }
        },
        (err: unknown) => {
          const reason = err instanceof Error ? err.message : String(err);
          callback(richStatus(root, grpc.status.INTERNAL, `demo backend error: ${reason}`, [], trailer()));
        },
      );
  };
}

/** Resolves true after `ms`, or false as soon as the call is cancelled (client gone or deadline passed). */
export function waitUnlessCancelled(
  call: { readonly cancelled: boolean } & Pick<grpc.ServerUnaryCall<unknown, unknown>, 'once' | 'removeListener'>,
  ms: number,
): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onCancel = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      call.removeListener('cancelled', onCancel);
      resolve(true);
    }, ms);
    call.once('cancelled', onCancel);
  });
}

/** The PaymentService implementation over one store. */
function paymentService(root: protobuf.Root, store: PaymentStore): grpc.UntypedServiceImplementation {
  const wire = (o: Outcome<PaymentRecord>): Answer =>
    o instanceof DemoFailure ? o : paymentToWire(o);
  return {
    ChargePayment: unary<ChargePaymentIn>(root, (req) => wire(store.charge(req))),
    GetPayment: unary<GetPaymentIn>(root, async (req, call) => {
      const id = req.payment_id ?? '';
      if (id.startsWith('flaky')) {
        return new DemoFailure(
          grpc.status.UNAVAILABLE,
          `payment service is temporarily unavailable, retry in ${FLAKY_RETRY_DELAY_S}s`,
          [{ type: 'google.rpc.RetryInfo', value: { retry_delay: { seconds: FLAKY_RETRY_DELAY_S, nanos: 0 } } }],
        );
      }
      if (id.startsWith('slow') && !(await waitUnlessCancelled(call, SLOW_DELAY_MS))) return undefined;
      return wire(store.get(id));
    }),
    RefundPayment: unary<RefundPaymentIn>(root, (req) => wire(store.refund(req))),
    ListPayments: unary<ListPaymentsIn>(root, (req) => {
      const page = store.list(req);
      if (page instanceof DemoFailure) return page;
      // protobufjs writes a field that is present even when empty; leave the last page's token out.
      const next = page.next_page_token === '' ? {} : { next_page_token: page.next_page_token };
      return { payments: page.payments.map(paymentToWire), ...next };
    }),
    UpdatePayment: unary<UpdatePaymentIn>(root, (req) => wire(store.update(req))),
    WatchPayments: (call: grpc.ServerWritableStream<WatchPaymentsIn, unknown>) => {
      const header = new grpc.Metadata();
      header.set(DEMO_HEADER.key, DEMO_HEADER.value);
      call.sendMetadata(header);
      const req = call.request;
      const page = store.list({ customer_id: req.customer_id, status: req.status, page_size: MAX_PAGE_SIZE });
      if (page instanceof DemoFailure) {
        call.emit('error', Object.assign(new Error(page.message), richStatus(root, page.code, page.message, page.details)));
        return;
      }
      const interval = Math.min(Math.max(req.interval_ms ?? 0, 0) || WATCH_INTERVAL_MS, MAX_WATCH_INTERVAL_MS);
      void (async () => {
        for (const p of page.payments) {
          if (!(await waitUnlessCancelled(call, interval))) return;
          call.write(paymentToWire(p));
        }
        if (!call.cancelled) call.end();
      })();
    },
    ChargeBatch: (call: grpc.ServerReadableStream<ChargePaymentIn, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const payments: Record<string, unknown>[] = [];
      let refused = 0;
      let total = 0n;
      call.on('data', (req: ChargePaymentIn) => {
        const o = store.charge(req);
        if (o instanceof DemoFailure) refused++;
        else {
          payments.push(paymentToWire(o));
          total += o.amount_minor;
        }
      });
      call.on('end', () => {
        if (!call.cancelled) callback(null, { payments, refused, total_minor: total.toString() });
      });
    },
  };
}

/** WatchPayments' request as proto-loader decodes it. */
interface WatchPaymentsIn {
  customer_id?: string;
  status?: string;
  interval_ms?: number;
}

/** WatchPayments' pace: the default and the largest interval between messages. */
const WATCH_INTERVAL_MS = 200;
const MAX_WATCH_INTERVAL_MS = 5000;

/** Binds `server` to `address`, resolving with the bound port. */
function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(err);
      else resolve(port);
    });
  });
}

/** Graceful shutdown with a bounded grace period, then a forced one, so close() never hangs on a slow call. */
function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.forceShutdown(), CLOSE_GRACE_MS);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

/**
 * Starts the demo PaymentService on loopback (or `host`), seeded with the fixed payments pay_001…pay_006
 * (customers cus_alice and cus_bob).
 * @throws (rejects) when payments.proto cannot be loaded from `protosDir` or the address cannot be bound.
 */
export async function startDemoBackend(opts: DemoBackendOptions): Promise<DemoBackend> {
  const protosDir = path.resolve(opts.protosDir);
  const host = opts.host ?? '127.0.0.1';
  // The registry gives the google.rpc detail types that error statuses are encoded with.
  const { root } = loadRegistry([protosDir]);
  const definition = protoLoader.loadSync(path.join(protosDir, PAYMENTS_PROTO), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: [protosDir, BUNDLED_PROTOS_DIR],
  });
  const service = definition[SERVICE_NAME] as grpc.ServiceDefinition | undefined;
  if (service === undefined) throw new Error(`demo backend: ${SERVICE_NAME} not found in ${PAYMENTS_PROTO}`);

  const server = new grpc.Server();
  server.addService(service, paymentService(root, new PaymentStore(seedPayments(), Date.now)));
  opts.configure?.(server, definition);
  // IPv6 literals need brackets in a grpc-js address.
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let port: number;
  try {
    port = await bind(server, `${hostPart}:${opts.port ?? 0}`);
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  return {
    port,
    target: `${hostPart}:${port}`,
    close: () => shutdown(server),
  };
}
