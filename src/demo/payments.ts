/**
 * The demo PaymentService's business rules over an in-memory store (protos/payments/v1/payments.proto).
 *
 * Kept free of grpc-js so the rules read on their own: requests come in as @grpc/proto-loader decodes them
 * (`keepCase`, int64 as decimal strings, enums as names, absent fields `undefined` because `defaults: false`)
 * and every operation returns either the resulting record or a `DemoFailure` describing the gRPC status
 * to answer with (google/rpc/code.proto; details from google/rpc/error_details.proto). Nothing throws on
 * bad input.
 */
import { status } from '@grpc/grpc-js';
import type { StatusDetail } from './status-details.js';

/** The PaymentStatus enum value names (payments.proto). */
export type PaymentStatus =
  | 'PAYMENT_STATUS_UNSPECIFIED'
  | 'PAYMENT_STATUS_PENDING'
  | 'PAYMENT_STATUS_CAPTURED'
  | 'PAYMENT_STATUS_REFUNDED'
  | 'PAYMENT_STATUS_FAILED';

/** A stored line item; amounts are bigint so int64 values never lose precision. */
export interface LineItemRecord {
  readonly sku: string;
  readonly description: string;
  readonly quantity: number;
  readonly unit_amount_minor: bigint;
}

/** A stored payment, with proto field names. Records are replaced, never mutated, on change. */
export interface PaymentRecord {
  readonly id: string;
  readonly customer_id: string;
  readonly amount_minor: bigint;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly description: string;
  readonly items: readonly LineItemRecord[];
  readonly metadata: Readonly<Record<string, string>>;
  /** google.protobuf.Timestamp fields. */
  readonly created_at: { readonly seconds: number; readonly nanos: number };
  readonly refunded_minor: bigint;
}

/** A gRPC error to answer with: code (google/rpc/code.proto), message and rich details. */
export class DemoFailure {
  constructor(
    readonly code: status,
    readonly message: string,
    readonly details: readonly StatusDetail[],
  ) {}
}

/** An operation's outcome: the value, or the status to fail with. */
export type Outcome<T> = T | DemoFailure;

/** Request shapes as proto-loader decodes them (see the module comment). */
interface LineItemIn {
  sku?: string;
  description?: string;
  quantity?: number;
  unit_amount_minor?: string;
}
export interface ChargePaymentIn {
  customer_id?: string;
  amount_minor?: string;
  currency?: string;
  description?: string;
  items?: LineItemIn[];
  metadata?: Record<string, string>;
  idempotency_key?: string;
}
export interface GetPaymentIn {
  payment_id?: string;
}
export interface RefundPaymentIn {
  payment_id?: string;
  amount_minor?: string;
  reason?: string;
}
export interface ListPaymentsIn {
  customer_id?: string;
  status?: string | number;
  page_size?: number;
  page_token?: string;
}
export interface UpdatePaymentIn {
  payment?: { id?: string; description?: string; metadata?: Record<string, string> };
  update_mask?: { paths?: string[] };
}

/** AIP-158 page sizes: 0 means the default; larger than the maximum is clamped, not rejected. */
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;

/** The fields UpdatePayment may change, by proto name (update_mask paths). */
const UPDATABLE_PATHS = ['description', 'metadata'] as const;

const ISO_4217 = /^[A-Z]{3}$/;

/** google.rpc.ResourceInfo's resource_type for payments. */
const PAYMENT_RESOURCE_TYPE = 'payments.v1.Payment';

/** A Timestamp for an RFC 3339 instant; seeds use fixed ones so the demo is reproducible. */
function timestamp(iso: string): { seconds: number; nanos: number } {
  return { seconds: Date.parse(iso) / 1000, nanos: 0 };
}

/**
 * The store's initial content: fixed ids, customers and timestamps, so README examples and tests can
 * name them. Covers every status, a partial refund, several currencies, items and metadata.
 */
export function seedPayments(): PaymentRecord[] {
  const item = (sku: string, description: string, quantity: number, unit: number): LineItemRecord => ({
    sku,
    description,
    quantity,
    unit_amount_minor: BigInt(unit),
  });
  return [
    {
      id: 'pay_001',
      customer_id: 'cus_alice',
      amount_minor: 2500n,
      currency: 'EUR',
      status: 'PAYMENT_STATUS_CAPTURED',
      description: 'Coffee beans, 1 kg',
      items: [item('SKU-COFFEE-1KG', 'Single-origin coffee beans, 1 kg', 1, 2500)],
      metadata: { order_id: 'ord_1001', channel: 'web' },
      created_at: timestamp('2024-03-01T09:00:00Z'),
      refunded_minor: 0n,
    },
    {
      id: 'pay_002',
      customer_id: 'cus_alice',
      amount_minor: 12900n,
      currency: 'EUR',
      status: 'PAYMENT_STATUS_REFUNDED',
      description: 'Espresso grinder',
      items: [item('SKU-GRINDER', 'Burr grinder', 1, 12900)],
      metadata: { order_id: 'ord_1002' },
      created_at: timestamp('2024-03-05T14:30:00Z'),
      refunded_minor: 12900n,
    },
    {
      id: 'pay_003',
      customer_id: 'cus_bob',
      amount_minor: 4200n,
      currency: 'USD',
      status: 'PAYMENT_STATUS_CAPTURED',
      description: 'Tea sampler and mug',
      items: [
        item('SKU-TEA-SAMPLER', 'Tea sampler', 2, 1500),
        item('SKU-MUG', 'Stoneware mug', 1, 1200),
      ],
      metadata: { order_id: 'ord_1003', gift: 'true' },
      created_at: timestamp('2024-03-10T18:45:00Z'),
      refunded_minor: 1000n,
    },
    {
      id: 'pay_004',
      customer_id: 'cus_bob',
      amount_minor: 999n,
      currency: 'GBP',
      status: 'PAYMENT_STATUS_PENDING',
      description: 'Filter papers',
      items: [item('SKU-FILTERS', 'Paper filters, 100 pack', 1, 999)],
      metadata: {},
      created_at: timestamp('2024-03-12T08:15:00Z'),
      refunded_minor: 0n,
    },
    {
      id: 'pay_005',
      customer_id: 'cus_alice',
      amount_minor: 5000n,
      currency: 'USD',
      status: 'PAYMENT_STATUS_FAILED',
      description: 'Gift card',
      items: [],
      metadata: { decline_code: 'insufficient_funds' },
      created_at: timestamp('2024-03-15T12:00:00Z'),
      refunded_minor: 0n,
    },
    {
      id: 'pay_006',
      customer_id: 'cus_bob',
      amount_minor: 7500n,
      currency: 'JPY',
      status: 'PAYMENT_STATUS_CAPTURED',
      description: 'Matcha tin',
      items: [item('SKU-MATCHA', 'Ceremonial matcha, 30 g', 3, 2500)],
      metadata: { channel: 'store' },
      created_at: timestamp('2024-03-20T07:30:00Z'),
      refunded_minor: 0n,
    },
  ];
}

/** BadRequest with one FieldViolation per problem (google/rpc/error_details.proto). */
function badRequest(message: string, violations: readonly { field: string; description: string }[]): DemoFailure {
  return new DemoFailure(status.INVALID_ARGUMENT, message, [
    { type: 'google.rpc.BadRequest', value: { field_violations: violations.map((v) => ({ ...v })) } },
  ]);
}

function notFound(id: string): DemoFailure {
  return new DemoFailure(status.NOT_FOUND, `payment "${id}" not found`, [
    {
      type: 'google.rpc.ResourceInfo',
      value: {
        resource_type: PAYMENT_RESOURCE_TYPE,
        resource_name: `payments/${id}`,
        description: `no payment has the id "${id}"`,
      },
    },
  ]);
}

function preconditionFailed(id: string, type: string, description: string): DemoFailure {
  return new DemoFailure(status.FAILED_PRECONDITION, description, [
    { type: 'google.rpc.PreconditionFailure', value: { violations: [{ type, subject: `payments/${id}`, description }] } },
  ]);
}

/** A decimal int64 string as proto-loader gives it (`undefined` when unset, per `defaults: false`). */
function int64(value: string | undefined): bigint {
  return value === undefined || value === '' ? 0n : BigInt(value);
}

/** Page tokens are opaque to clients (AIP-158); here an offset, base64url-encoded. */
function pageTokenFor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function offsetFrom(token: string): number | undefined {
  const m = /^offset:(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/** Newest first, ties by id descending, so paging is stable. */
function newestFirst(a: PaymentRecord, b: PaymentRecord): number {
  if (a.created_at.seconds !== b.created_at.seconds) return b.created_at.seconds - a.created_at.seconds;
  if (a.created_at.nanos !== b.created_at.nanos) return b.created_at.nanos - a.created_at.nanos;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The in-memory payments store and the service's rules. One instance per backend; the state lives in the
 * instance, never in the module. `now` gives the wall clock in ms (injected for determinism).
 */
export class PaymentStore {
  readonly #payments = new Map<string, PaymentRecord>();
  readonly #byIdempotencyKey = new Map<string, string>();
  readonly #now: () => number;
  #nextId = 1;

  constructor(seed: readonly PaymentRecord[], now: () => number) {
    for (const p of seed) this.#payments.set(p.id, p);
    this.#now = now;
  }

  /**
   * ChargePayment: validates every field first and reports all violations at once (INVALID_ARGUMENT with a
   * BadRequest); a repeated idempotency_key returns the first charge unchanged. New payments are CAPTURED
   * and get the id `pay_` + a 6-digit counter.
   */
  charge(req: ChargePaymentIn): Outcome<PaymentRecord> {
    const key = req.idempotency_key ?? '';
    const earlier = key === '' ? undefined : this.#byIdempotencyKey.get(key);
    if (earlier !== undefined) {
      const first = this.#payments.get(earlier);
      if (first) return first;
    }
    const amount = int64(req.amount_minor);
    const currency = req.currency ?? '';
    const violations: { field: string; description: string }[] = [];
    if (amount <= 0n) {
      violations.push({ field: 'amount_minor', description: `must be a positive amount in minor units, got ${amount}` });
    }
    if (!ISO_4217.test(currency)) {
      violations.push({
        field: 'currency',
        description: `must be a 3-letter ISO 4217 code in upper case, such as "EUR", got ${JSON.stringify(currency)}`,
      });
    }
    if (violations.length > 0) return badRequest('invalid charge request', violations);

    const ms = this.#now();
    const payment: PaymentRecord = {
      id: `pay_${String(this.#nextId++).padStart(6, '0')}`,
      customer_id: req.customer_id ?? '',
      amount_minor: amount,
      currency,
      status: 'PAYMENT_STATUS_CAPTURED',
      description: req.description ?? '',
      items: (req.items ?? []).map((i) => ({
        sku: i.sku ?? '',
        description: i.description ?? '',
        quantity: i.quantity ?? 0,
        unit_amount_minor: int64(i.unit_amount_minor),
      })),
      metadata: { ...(req.metadata ?? {}) },
      created_at: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 },
      refunded_minor: 0n,
    };
    this.#payments.set(payment.id, payment);
    if (key !== '') this.#byIdempotencyKey.set(key, payment.id);
    return payment;
  }

  /** GetPayment: NOT_FOUND with a ResourceInfo for an unknown id, INVALID_ARGUMENT for an empty one. */
  get(id: string | undefined): Outcome<PaymentRecord> {
    if (id === undefined || id === '') {
      return badRequest('payment_id is required', [{ field: 'payment_id', description: 'must not be empty' }]);
    }
    return this.#payments.get(id) ?? notFound(id);
  }

  /**
   * RefundPayment: only a CAPTURED payment can be refunded; amount 0 means "the rest"; more than the
   * remaining amount is FAILED_PRECONDITION with a PreconditionFailure (the request is well-formed but the
   * payment's state does not allow it, google/rpc/code.proto); the status becomes REFUNDED once nothing
   * remains.
   */
  refund(req: RefundPaymentIn): Outcome<PaymentRecord> {
    const found = this.get(req.payment_id);
    if (found instanceof DemoFailure) return found;
    const requested = int64(req.amount_minor);
    if (requested < 0n) {
      return badRequest('invalid refund request', [
        { field: 'amount_minor', description: `must be zero (refund the rest) or positive, got ${requested}` },
      ]);
    }
    const remaining = found.amount_minor - found.refunded_minor;
    if (found.status !== 'PAYMENT_STATUS_CAPTURED' || remaining === 0n) {
      const why =
        remaining === 0n && found.status === 'PAYMENT_STATUS_REFUNDED'
          ? `payment ${found.id} is already fully refunded`
          : `payment ${found.id} is ${found.status}; only a captured payment can be refunded`;
      return preconditionFailed(found.id, 'PAYMENT_STATUS', why);
    }
    const amount = requested === 0n ? remaining : requested;
    if (amount > remaining) {
      return preconditionFailed(
        found.id,
        'REFUND_AMOUNT',
        `refund of ${amount} exceeds the remaining ${remaining} ${found.currency} of payment ${found.id}`,
      );
    }
    const refunded = found.refunded_minor + amount;
    const updated: PaymentRecord = {
      ...found,
      refunded_minor: refunded,
      status: refunded === found.amount_minor ? 'PAYMENT_STATUS_REFUNDED' : found.status,
    };
    this.#payments.set(updated.id, updated);
    return updated;
  }

  /**
   * ListPayments: newest first, filtered by customer_id and status when set (UNSPECIFIED means any);
   * page_size 0 means 10, above 100 is clamped to 100, negative is INVALID_ARGUMENT; page_token is the
   * next_page_token of the previous page, anything else is INVALID_ARGUMENT.
   */
  list(req: ListPaymentsIn): Outcome<{ payments: PaymentRecord[]; next_page_token: string }> {
    const requestedSize = req.page_size ?? 0;
    const violations: { field: string; description: string }[] = [];
    if (requestedSize < 0) violations.push({ field: 'page_size', description: `must not be negative, got ${requestedSize}` });
    let offset = 0;
    if (req.page_token !== undefined && req.page_token !== '') {
      const parsed = offsetFrom(req.page_token);
      if (parsed === undefined) {
        violations.push({ field: 'page_token', description: 'is not a next_page_token returned by ListPayments' });
      } else {
        offset = parsed;
      }
    }
    if (violations.length > 0) return badRequest('invalid list request', violations);

    const size = requestedSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(requestedSize, MAX_PAGE_SIZE);
    const statusFilter = req.status === undefined || req.status === 'PAYMENT_STATUS_UNSPECIFIED' || req.status === 0 ? undefined : req.status;
    const matching = [...this.#payments.values()]
      .filter((p) => !req.customer_id || p.customer_id === req.customer_id)
      .filter((p) => statusFilter === undefined || p.status === statusFilter)
      .sort(newestFirst);
    const page = matching.slice(offset, offset + size);
    const next = offset + size < matching.length ? pageTokenFor(offset + size) : '';
    return { payments: page, next_page_token: next };
  }

  /**
   * UpdatePayment: applies the update_mask paths `description` and `metadata` (metadata is replaced as a
   * whole, as AIP-134 prescribes for map fields). Any other path is INVALID_ARGUMENT. An empty mask means
   * every updatable field the request populates (AIP-134's implied mask).
   */
  update(req: UpdatePaymentIn): Outcome<PaymentRecord> {
    const patch = req.payment ?? {};
    if (!patch.id) {
      return badRequest('payment.id is required', [{ field: 'payment.id', description: 'must not be empty' }]);
    }
    const paths = req.update_mask?.paths ?? [];
    const bad = paths.filter((p) => !(UPDATABLE_PATHS as readonly string[]).includes(p));
    if (bad.length > 0) {
      return badRequest(
        'invalid update_mask',
        bad.map((p) => ({
          field: 'update_mask.paths',
          description: `"${p}" cannot be updated; updatable fields are ${UPDATABLE_PATHS.join(' and ')}`,
        })),
      );
    }
    const found = this.get(patch.id);
    if (found instanceof DemoFailure) return found;
    const effective =
      paths.length > 0
        ? paths
        : UPDATABLE_PATHS.filter((p) => (p === 'description' ? patch.description !== undefined : patch.metadata !== undefined));
    const updated: PaymentRecord = {
      ...found,
      ...(effective.includes('description') ? { description: patch.description ?? '' } : {}),
      ...(effective.includes('metadata') ? { metadata: { ...(patch.metadata ?? {}) } } : {}),
    };
    this.#payments.set(updated.id, updated);
    return updated;
  }
}

/** A record as proto-loader serializes it: int64 fields as decimal strings. */
export function paymentToWire(p: PaymentRecord): Record<string, unknown> {
  return {
    id: p.id,
    customer_id: p.customer_id,
    amount_minor: p.amount_minor.toString(),
    currency: p.currency,
    status: p.status,
    description: p.description,
    items: p.items.map((i) => ({ ...i, unit_amount_minor: i.unit_amount_minor.toString() })),
    metadata: { ...p.metadata },
    created_at: { seconds: String(p.created_at.seconds), nanos: p.created_at.nanos },
    refunded_minor: p.refunded_minor.toString(),
  };
}
