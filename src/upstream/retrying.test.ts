import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Code } from '../status/status.js';
import { CallMetadata } from './call-metadata.js';
import type { RunningCall, UnaryOutcome } from './call.js';
import type { HedgingPolicy, MethodPolicy, RetryPolicy, UpstreamPolicy } from './policy.js';
import { createRetryThrottle, type RetryThrottle } from './retry-throttle.js';
import { callWithPolicy, PREVIOUS_ATTEMPTS_KEY, pushbackOf, RETRY_PUSHBACK_KEY, type PolicyClock } from './retrying.js';
import type { AttemptEnd, AttemptListener, Transport } from './transport.js';

/** What one attempt of the scripted transport does. Times are ms after the attempt starts. */
interface Step {
  /** When the attempt ends with `code`; undefined: it hangs until its deadline or a cancel. */
  readonly endAfter?: number;
  /** When response headers arrive (before the end). */
  readonly headersAfter?: number;
  readonly code?: number;
  readonly details?: string;
  readonly trailers?: Readonly<Record<string, string>>;
  readonly unprocessed?: boolean;
  /** Delivered, then lost before a status (AttemptEnd.unknown). */
  readonly unknown?: boolean;
  /** End inside start(), as a transport in TRANSIENT_FAILURE does. */
  readonly sync?: boolean;
}

/** What the transport was asked to do, and how each attempt ended. */
interface Started {
  readonly metadata: CallMetadata;
  readonly deadline: number;
  /** ms after the test's t0. */
  readonly at: number;
  cancelled: boolean;
  end: AttemptEnd | undefined;
}

const UNAVAILABLE: Step = { endAfter: 1, code: Code.UNAVAILABLE, details: 'down' };
const OK_STEP: Step = { endAfter: 1, code: Code.OK };
const HANG: Step = {};

/**
 * A Transport whose attempts follow a script, one step per start (the last step repeats). It keeps the
 * transport's contract: at most one onHeaders, then exactly one onEnd; DEADLINE_EXCEEDED at the attempt's
 * deadline; cancel ends the attempt with CANCELLED; its own timers are cleared when an attempt ends.
 */
class ScriptedTransport implements Transport {
  readonly started: Started[] = [];
  private readonly t0 = Date.now();

  constructor(private readonly script: readonly Step[]) {}

  start(_path: string, metadata: CallMetadata, _message: Buffer, deadline: number, listener: AttemptListener) {
    const s = this.script[Math.min(this.started.length, this.script.length - 1)]!;
    const rec: Started = { metadata, deadline, at: Date.now() - this.t0, cancelled: false, end: undefined };
    this.started.push(rec);
    const timers: NodeJS.Timeout[] = [];
    let headers: CallMetadata | undefined;
    const end = (e: Pick<AttemptEnd, 'code' | 'details'> & Partial<AttemptEnd>): void => {
      if (rec.end !== undefined) return;
      for (const t of timers) clearTimeout(t);
      rec.end = { response: undefined, headers, trailers: CallMetadata.EMPTY, unprocessed: false, unknown: false, ...e };
      listener.onEnd(rec.end);
    };
    const scripted = (): void => {
      const trailers = CallMetadata.of(Object.entries(s.trailers ?? {}));
      const code = s.code ?? Code.OK;
      end({ code, details: s.details ?? '', response: code === Code.OK ? Buffer.from('answer') : undefined, trailers, unprocessed: s.unprocessed ?? false, unknown: s.unknown ?? false });
    };
    const control = { cancel: () => ((rec.cancelled = rec.end === undefined || rec.cancelled), end({ code: Code.CANCELLED, details: 'Cancelled' })) };
    if (s.sync) {
      scripted();
      return control;
    }
    timers.push(setTimeout(() => end({ code: Code.DEADLINE_EXCEEDED, details: 'deadline' }), Math.max(0, deadline - Date.now())));
    if (s.headersAfter !== undefined) {
      timers.push(
        setTimeout(() => {
          headers = CallMetadata.of([['x-h', '1']]);
          listener.onHeaders();
        }, s.headersAfter),
      );
    }
    if (s.endAfter !== undefined) timers.push(setTimeout(scripted, s.endAfter));
    return control;
  }

  connectivity() {
    return 'READY' as const;
  }

  close(): void {}
}

const UPSTREAM = {} as UpstreamPolicy;
const retryPolicy = (r: Partial<RetryPolicy> = {}): MethodPolicy => ({
  safe: true,
  hedging: undefined,
  upstream: UPSTREAM,
  retry: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 1000, backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'], perTryTimeoutMs: undefined, ...r },
});
const hedgingPolicy = (h: Partial<HedgingPolicy> = {}): MethodPolicy => ({
  safe: true,
  retry: undefined,
  upstream: UPSTREAM,
  hedging: { maxAttempts: 3, hedgingDelayMs: 100, nonFatalStatusCodes: ['UNAVAILABLE'], ...h },
});
const NO_POLICY: MethodPolicy = { safe: false, retry: undefined, hedging: undefined, upstream: UPSTREAM };

/** Fake-timer clock with a fixed random value (backoffs are `random × bound`). */
const clockWith = (random: number): PolicyClock => ({ now: () => Date.now(), random: () => random });

interface Run {
  readonly transport: ScriptedTransport;
  readonly call: RunningCall;
  readonly md: CallMetadata;
  readonly throttle: RetryThrottle;
}

function start(script: readonly Step[], policy: MethodPolicy, opts: { timeoutMs?: number; random?: number; throttle?: RetryThrottle } = {}): Run {
  const transport = new ScriptedTransport(script);
  const md = CallMetadata.of([['x-request-id', 'r1']]);
  const throttle = opts.throttle ?? createRetryThrottle(10, 0.1);
  const call = callWithPolicy(transport, '/p.S/M', Buffer.from('req'), md, opts.timeoutMs ?? 10_000, policy, throttle, clockWith(opts.random ?? 0.5));
  return { transport, call, md, throttle };
}

/** Runs timers until the call is done; returns the outcome and when (ms after start) it was known. */
async function settle(call: RunningCall): Promise<UnaryOutcome & { readonly ms: number }> {
  const t0 = Date.now();
  let out: UnaryOutcome | undefined;
  void call.done.then((o) => (out = o));
  await vi.advanceTimersByTimeAsync(0);
  while (out === undefined && vi.getTimerCount() > 0) await vi.advanceTimersToNextTimerAsync();
  await vi.advanceTimersByTimeAsync(0);
  if (out === undefined) throw new Error('the call never ended');
  return { ...out, ms: Date.now() - t0 };
}

const previous = (md: CallMetadata | undefined): unknown => md?.get(PREVIOUS_ATTEMPTS_KEY);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  // Nothing left behind: no backoff or hedging timer, no attempt still running in the transport.
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

describe('retry policy (gRFC A6)', () => {
  it('retries UNAVAILABLE, then answers with the OK attempt', async () => {
    const { transport, call, md } = start([UNAVAILABLE, OK_STEP], retryPolicy());
    const out = await settle(call);
    expect(out.error).toBeUndefined();
    expect(out.response?.toString()).toBe('answer');
    expect(transport.started).toHaveLength(2);
    // The first attempt sends the caller's metadata object itself; the second its own numbered copy.
    expect(transport.started[0]!.metadata).toBe(md);
    expect(previous(transport.started[0]!.metadata)).toBeUndefined();
    expect(transport.started[1]!.metadata).not.toBe(md);
    expect(previous(transport.started[1]!.metadata)).toBe('1');
    expect(transport.started[1]!.metadata.getAll('x-request-id')).toEqual(['r1']);
    expect(previous(md)).toBeUndefined();
    // The attempt count reaches telemetry (exchange.ts attemptsOf) through the answer's metadata.
    expect(previous(out.trailers)).toBe('1');
  });

  it.each([
    ['a non-retryable code', [{ endAfter: 1, code: Code.INVALID_ARGUMENT, details: 'bad' }], Code.INVALID_ARGUMENT, 1],
    ['maxAttempts reached', [UNAVAILABLE], Code.UNAVAILABLE, 3],
    ['OK on the last attempt', [UNAVAILABLE, UNAVAILABLE, OK_STEP], Code.OK, 3],
    ['a retryable code after response headers (committed)', [{ headersAfter: 1, endAfter: 2, code: Code.UNAVAILABLE }], Code.UNAVAILABLE, 1],
  ])('%s', async (_name, script, code, attempts) => {
    const { transport, call } = start(script, retryPolicy({ maxAttempts: 3 }));
    const out = await settle(call);
    expect(out.error?.code ?? Code.OK).toBe(code);
    expect(transport.started).toHaveLength(attempts);
    expect(transport.started.map((s) => previous(s.metadata))).toEqual([undefined, '1', '2'].slice(0, attempts));
    if (code !== Code.OK) {
      expect(out.error?.metadata).toBe(out.trailers);
      // The deciding attempt's trailers; when it was not the first, a copy (metadata is immutable) with its number.
      const last = transport.started.at(-1)!.end!.trailers;
      if (attempts === 1) expect(out.trailers).toBe(last);
      else expect(out.trailers?.toJSON()).toEqual({ ...last.toJSON(), [PREVIOUS_ATTEMPTS_KEY]: [String(attempts - 1)] });
    }
  });

  it('a committed attempt keeps its headers in the outcome', async () => {
    const { call } = start([{ headersAfter: 1, endAfter: 2, code: Code.UNAVAILABLE, details: 'late' }], retryPolicy());
    const out = await settle(call);
    expect(out.headers?.getAll('x-h')).toEqual(['1']);
    expect(out.error).toMatchObject({ code: Code.UNAVAILABLE, details: 'late' });
  });

  it('backoff: random in [0, min(initialBackoff × multiplier^(n-1), maxBackoff))', async () => {
    // random 0.5; bounds 100, 200, 250 (capped): the retries start 50, 100, 125 ms after the failures.
    const { transport, call } = start([UNAVAILABLE], retryPolicy({ maxAttempts: 4, initialBackoffMs: 100, backoffMultiplier: 2, maxBackoffMs: 250 }));
    await settle(call);
    const at = transport.started.map((s) => s.at);
    expect(at.slice(1).map((t, i) => t - at[i]! - 1)).toEqual([50, 100, 125]);
  });

  it.each([
    ['0: retry at once', '0', 2, [0]],
    ['250: retry after 250 ms whatever the backoff', '250', 2, [250]],
    ['negative: do not retry', '-1', 1, []],
    ['malformed: do not retry', 'soon', 1, []],
    ['leading zero (not A6 syntax): do not retry', '010', 1, []],
    ['beyond int32: do not retry', '2147483648', 1, []],
  ])('pushback %s', async (_name, value, attempts, gaps) => {
    const { transport, call } = start([{ ...UNAVAILABLE, trailers: { [RETRY_PUSHBACK_KEY]: value } }, OK_STEP], retryPolicy({ initialBackoffMs: 1000, maxBackoffMs: 1000 }), { random: 0.9 });
    const out = await settle(call);
    expect(transport.started).toHaveLength(attempts);
    const at = transport.started.map((s) => s.at);
    expect(at.slice(1).map((t, i) => t - at[i]! - 1)).toEqual(gaps);
    expect(out.error?.code ?? Code.OK).toBe(attempts === 2 ? Code.OK : Code.UNAVAILABLE);
  });

  it('pushback resets the backoff sequence to initialBackoff', async () => {
    const script = [UNAVAILABLE, { ...UNAVAILABLE, trailers: { [RETRY_PUSHBACK_KEY]: '10' } }, UNAVAILABLE, OK_STEP];
    const { transport, call } = start(script, retryPolicy({ maxAttempts: 5, initialBackoffMs: 100, backoffMultiplier: 2, maxBackoffMs: 1000 }), { random: 0.5 });
    await settle(call);
    const at = transport.started.map((s) => s.at);
    // 50 (bound 100), pushback 10, then 50 again (bound back to 100, not 200).
    expect(at.slice(1).map((t, i) => t - at[i]! - 1)).toEqual([50, 10, 50]);
  });

  it.each([
    ['0', 0],
    ['100', 100],
    ['-5', -1],
    ['x', -1],
    ['', -1],
  ])('pushbackOf(%j) = %d', (value, expected) => {
    expect(pushbackOf(CallMetadata.of([[RETRY_PUSHBACK_KEY, value]]))).toBe(expected);
  });

  it('no retry when the backoff would end after the call deadline; the failure is the outcome', async () => {
    const { transport, call } = start([UNAVAILABLE, OK_STEP], retryPolicy({ initialBackoffMs: 1000 }), { timeoutMs: 300, random: 0.9 });
    const out = await settle(call);
    expect(transport.started).toHaveLength(1);
    expect(out.error).toMatchObject({ code: Code.UNAVAILABLE, details: 'down' });
  });

  it('the call deadline is never retried, even with DEADLINE_EXCEEDED retryable', async () => {
    const { transport, call } = start([HANG], retryPolicy({ retryableStatusCodes: ['UNAVAILABLE', 'DEADLINE_EXCEEDED'] }), { timeoutMs: 300 });
    const out = await settle(call);
    expect(transport.started).toHaveLength(1);
    expect(out.error?.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(out.ms).toBe(300);
  });
});

describe('per-try timeout (safe methods)', () => {
  it('an attempt cut by its per-try deadline is retried, and the next one answers', async () => {
    const { transport, call } = start([HANG, OK_STEP], retryPolicy({ perTryTimeoutMs: 200, initialBackoffMs: 10 }), { timeoutMs: 5000, random: 0 });
    const out = await settle(call);
    expect(out.error).toBeUndefined();
    expect(transport.started).toHaveLength(2);
    expect(transport.started[0]!.deadline - transport.started[0]!.at).toBe(transport.started[1]!.deadline - transport.started[1]!.at);
    expect(transport.started[1]!.at).toBe(200);
  });

  it('the per-try timeout never extends the call deadline, which is not retried', async () => {
    const { transport, call } = start([HANG], retryPolicy({ perTryTimeoutMs: 200, initialBackoffMs: 10 }), { timeoutMs: 300, random: 0 });
    const out = await settle(call);
    expect(out.error?.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(out.ms).toBe(300);
    // 200 ms per-try, then the rest of the call's budget.
    expect(transport.started.map((s) => s.deadline - transport.started[0]!.deadline)).toEqual([0, 100]);
  });
});

describe('retry throttling (gRFC A6)', () => {
  it('drains after failures and stops retries, refills on OK', async () => {
    const throttle = createRetryThrottle(4, 1); // retries allowed while tokens > 2
    const first = start([UNAVAILABLE], retryPolicy({ maxAttempts: 5 }), { throttle });
    await settle(first.call);
    expect(first.transport.started).toHaveLength(2); // 4 → 3 (retry), 3 → 2 (no more)
    expect(throttle.tokens()).toBe(2);
    const second = start([UNAVAILABLE], retryPolicy({ maxAttempts: 5 }), { throttle });
    await settle(second.call);
    expect(second.transport.started).toHaveLength(1);
    expect(throttle.tokens()).toBe(1);
    for (const _ of [1, 2, 3]) await settle(start([OK_STEP], NO_POLICY, { throttle }).call);
    expect(throttle.tokens()).toBe(4); // every OK call returns tokenRatio, whatever its method's policy
    // The next failure takes the bucket to 3 > 2: the retry is allowed again.
    const third = start([UNAVAILABLE, OK_STEP], retryPolicy(), { throttle });
    expect((await settle(third.call)).error).toBeUndefined();
    expect(third.transport.started).toHaveLength(2);
  });

  it('non-retryable failures take no token', async () => {
    const throttle = createRetryThrottle(4, 1);
    await settle(start([{ endAfter: 1, code: Code.NOT_FOUND }], retryPolicy(), { throttle }).call);
    await settle(start([UNAVAILABLE], NO_POLICY, { throttle }).call);
    expect(throttle.tokens()).toBe(4);
  });

  it('the bucket stays within [0, maxTokens] and refills exactly', () => {
    const t = createRetryThrottle(10, 0.1);
    for (let i = 0; i < 20; i++) t.failed();
    expect(t.tokens()).toBe(0);
    for (let i = 0; i < 60; i++) t.succeeded();
    expect(t.tokens()).toBe(6);
    expect(t.allows()).toBe(true);
    for (let i = 0; i < 100; i++) t.succeeded();
    expect(t.tokens()).toBe(10);
  });

  it.each([
    [0, 0.1],
    [10, 0],
    [Number.NaN, 0.1],
  ])('rejects maxTokens %d, tokenRatio %d', (max, ratio) => {
    expect(() => createRetryThrottle(max, ratio)).toThrow(RangeError);
  });
});

describe('at most once: an attempt of unknown outcome (delivered, then lost)', () => {
  const LOST: Step = { endAfter: 1, code: Code.UNAVAILABLE, details: 'Connection dropped', unknown: true };
  const unsafe = (): MethodPolicy => ({ ...retryPolicy(), safe: false });

  it('is never sent again for an unsafe method: its failure is the outcome', async () => {
    const { transport, call } = start([LOST, OK_STEP], unsafe());
    const out = await settle(call);
    expect(transport.started).toHaveLength(1);
    expect(out.error).toMatchObject({ code: Code.UNAVAILABLE, details: 'Connection dropped' });
  });

  it('is retried for a safe method like any retryable failure', async () => {
    const { transport, call } = start([LOST, OK_STEP], retryPolicy());
    const out = await settle(call);
    expect(transport.started).toHaveLength(2);
    expect(out.error).toBeUndefined();
  });

  it('a status the upstream answered itself (UNAVAILABLE) still follows the retry policy on an unsafe method', async () => {
    const { transport, call } = start([UNAVAILABLE, OK_STEP], unsafe());
    const out = await settle(call);
    expect(transport.started).toHaveLength(2);
    expect(out.error).toBeUndefined();
  });

  it('an unsafe method is still sent again when the attempt was never processed (transparent retry)', async () => {
    const { transport, call } = start([{ endAfter: 1, code: Code.UNAVAILABLE, unprocessed: true }, OK_STEP], unsafe());
    const out = await settle(call);
    expect(transport.started).toHaveLength(2);
    expect(out.error).toBeUndefined();
  });
});

describe('transparent retry (gRFC A6)', () => {
  it.each([
    ['no policy', NO_POLICY],
    ['retry policy', retryPolicy({ maxAttempts: 2, retryableStatusCodes: ['INTERNAL'] })],
  ])('an unprocessed attempt is sent again at once, once, with the same number (%s)', async (_n, policy) => {
    const unprocessed: Step = { endAfter: 5, code: Code.UNAVAILABLE, details: 'refused', unprocessed: true };
    const { transport, call, md } = start([unprocessed], policy);
    const out = await settle(call);
    expect(transport.started).toHaveLength(2);
    expect(transport.started[1]!.metadata).toBe(md);
    expect(transport.started[1]!.at).toBe(5);
    expect(out.error).toMatchObject({ code: Code.UNAVAILABLE, details: 'refused' });
  });

  it('does not count against maxAttempts', async () => {
    const unprocessed: Step = { endAfter: 1, code: Code.UNAVAILABLE, unprocessed: true };
    const { transport, call } = start([unprocessed, UNAVAILABLE, OK_STEP], retryPolicy({ maxAttempts: 2 }));
    const out = await settle(call);
    expect(out.error).toBeUndefined();
    expect(transport.started.map((s) => previous(s.metadata))).toEqual([undefined, undefined, '1']);
  });

  it('works with a transport that fails inside start()', async () => {
    const { transport, call } = start([{ sync: true, code: Code.UNAVAILABLE, unprocessed: true }, { sync: true, code: Code.UNAVAILABLE, trailers: { [RETRY_PUSHBACK_KEY]: '0' } }, { sync: true }], retryPolicy());
    const out = await settle(call);
    expect(out.error).toBeUndefined();
    expect(transport.started).toHaveLength(3);
  });
});

describe('cancel', () => {
  it('cancels the running attempt; the outcome is CANCELLED at once', async () => {
    const { transport, call } = start([HANG], retryPolicy());
    await vi.advanceTimersByTimeAsync(10);
    call.cancel();
    call.cancel();
    const out = await settle(call);
    expect(out.error).toMatchObject({ code: Code.CANCELLED, details: 'Cancelled on client' });
    expect(transport.started[0]!.cancelled).toBe(true);
  });

  it('during a backoff: the timer is cleared and no attempt follows', async () => {
    const { transport, call } = start([UNAVAILABLE, OK_STEP], retryPolicy({ initialBackoffMs: 1000 }), { random: 0.9 });
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(1);
    call.cancel();
    const out = await settle(call);
    expect(out.error?.code).toBe(Code.CANCELLED);
    expect(transport.started).toHaveLength(1);
  });

  it('a hedged call cancels every attempt', async () => {
    const { transport, call } = start([HANG], hedgingPolicy({ hedgingDelayMs: 0 }));
    call.cancel();
    const out = await settle(call);
    expect(out.error?.code).toBe(Code.CANCELLED);
    expect(previous(out.trailers)).toBe('2');
    expect(transport.started.map((s) => s.cancelled)).toEqual([true, true, true]);
  });
});

describe('hedging policy (gRFC A6)', () => {
  it('sends a hedge every hedgingDelay; the first OK wins and the others are cancelled', async () => {
    const { transport, call } = start([HANG, HANG, { endAfter: 10, code: Code.OK }], hedgingPolicy({ maxAttempts: 3, hedgingDelayMs: 100 }));
    const out = await settle(call);
    expect(out.error).toBeUndefined();
    expect(out.ms).toBe(210);
    expect(transport.started.map((s) => s.at)).toEqual([0, 100, 200]);
    expect(transport.started.map((s) => s.cancelled)).toEqual([true, true, false]);
    expect(transport.started.map((s) => previous(s.metadata))).toEqual([undefined, '1', '2']);
    expect(previous(out.trailers)).toBe('2');
  });

  it('a non-fatal code sends the next hedge at once', async () => {
    const { transport, call } = start([UNAVAILABLE, OK_STEP], hedgingPolicy({ hedgingDelayMs: 1000 }));
    const out = await settle(call);
    expect(out.error).toBeUndefined();
    expect(transport.started.map((s) => s.at)).toEqual([0, 1]);
  });

  it('a fatal code commits: the others are cancelled and its error is the outcome', async () => {
    const { transport, call } = start([HANG, { endAfter: 5, code: Code.PERMISSION_DENIED, details: 'no' }, HANG], hedgingPolicy({ hedgingDelayMs: 0 }));
    const out = await settle(call);
    expect(out.error).toMatchObject({ code: Code.PERMISSION_DENIED, details: 'no' });
    expect(transport.started.map((s) => s.cancelled)).toEqual([true, false, true]);
    expect(previous(out.trailers)).toBe('1');
  });

  it('response headers commit: the others are cancelled, no hedge follows, its end is the outcome', async () => {
    const { transport, call } = start([{ headersAfter: 60, endAfter: 500, code: Code.UNAVAILABLE, details: 'first' }, HANG], hedgingPolicy({ hedgingDelayMs: 50 }));
    const out = await settle(call);
    expect(out.error).toMatchObject({ code: Code.UNAVAILABLE, details: 'first' });
    expect(out.headers?.getAll('x-h')).toEqual(['1']);
    expect(transport.started.map((s) => [s.at, s.cancelled])).toEqual([
      [0, false],
      [50, true],
    ]);
  });

  it('all attempts end non-fatally: the last one is the outcome', async () => {
    const script = [1, 2, 3].map((i) => ({ endAfter: 10 * i, code: Code.UNAVAILABLE, details: `try ${i}` }));
    const { transport, call, throttle } = start(script, hedgingPolicy({ hedgingDelayMs: 0 }));
    const out = await settle(call);
    expect(transport.started).toHaveLength(3);
    expect(out.error).toMatchObject({ code: Code.UNAVAILABLE, details: 'try 3' });
    expect(previous(out.trailers)).toBe('2');
    expect(throttle.tokens()).toBe(7);
  });

  it('pushback delays the next hedge; a later hedge resumes at hedgingDelay', async () => {
    const { transport, call } = start([{ ...UNAVAILABLE, trailers: { [RETRY_PUSHBACK_KEY]: '300' } }, HANG, OK_STEP], hedgingPolicy({ hedgingDelayMs: 100 }));
    await settle(call);
    expect(transport.started.map((s) => s.at)).toEqual([0, 301, 401]);
  });

  it('a "do not retry" pushback stops hedging', async () => {
    const { transport, call } = start([{ ...UNAVAILABLE, trailers: { [RETRY_PUSHBACK_KEY]: '-1' } }, OK_STEP], hedgingPolicy({ hedgingDelayMs: 100 }));
    const out = await settle(call);
    expect(transport.started).toHaveLength(1);
    expect(out.error?.code).toBe(Code.UNAVAILABLE);
  });

  it('the throttle stops hedges; the first attempt is always sent', async () => {
    const throttle = createRetryThrottle(2, 0.5);
    throttle.failed(); // 1 ≤ 2 / 2
    const { transport, call } = start([HANG, OK_STEP], hedgingPolicy({ hedgingDelayMs: 0 }), { throttle, timeoutMs: 200 });
    const out = await settle(call);
    expect(transport.started).toHaveLength(1);
    expect(out.error?.code).toBe(Code.DEADLINE_EXCEEDED);
  });

  it('the call deadline ends every hedge; no hedge is scheduled past it', async () => {
    const { transport, call } = start([HANG], hedgingPolicy({ hedgingDelayMs: 100 }), { timeoutMs: 150 });
    const out = await settle(call);
    expect(out.error?.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(out.ms).toBe(150);
    expect(transport.started.map((s) => s.at)).toEqual([0, 100]);
  });

  it('a transparent retry replaces a hedge with the same number', async () => {
    const { transport, call } = start([{ endAfter: 1, code: Code.UNAVAILABLE, unprocessed: true }, OK_STEP], hedgingPolicy({ hedgingDelayMs: 1000, maxAttempts: 2 }));
    const out = await settle(call);
    expect(out.error).toBeUndefined();
    expect(transport.started.map((s) => [s.at, previous(s.metadata)])).toEqual([
      [0, undefined],
      [1, undefined],
    ]);
  });
});

describe('no policy', () => {
  it.each([
    ['OK', OK_STEP, Code.OK],
    ['a failure', UNAVAILABLE, Code.UNAVAILABLE],
    ['synchronous OK', { sync: true }, Code.OK],
  ])('one attempt, its result as is: %s', async (_n, step, code) => {
    const { transport, call, md } = start([step], NO_POLICY);
    const out = await settle(call);
    expect(out.error?.code ?? Code.OK).toBe(code);
    expect(transport.started).toHaveLength(1);
    expect(transport.started[0]!.metadata).toBe(md);
    expect(previous(out.trailers)).toBeUndefined();
  });

  it('an OK end without a message is INTERNAL, as grpc-js reports it', async () => {
    const transport: Transport = {
      start(_p, _m, _b, _d, l) {
        l.onEnd({ code: Code.OK, details: '', response: undefined, headers: undefined, trailers: CallMetadata.EMPTY, unprocessed: false, unknown: false });
        return { cancel() {} };
      },
      connectivity: () => 'READY',
      close() {},
    };
    const out = await callWithPolicy(transport, '/p.S/M', Buffer.alloc(0), CallMetadata.EMPTY, 1000, NO_POLICY, createRetryThrottle(10, 0.1)).done;
    expect(out.error).toMatchObject({ code: Code.INTERNAL, details: 'No message received' });
  });
});

/**
 * node:http2 keeps a client stream, and with it the transport's attempt and listener, reachable until the
 * next mark-compact (bench/RESULTS.md §0.7.2). A settled call must not be kept by such a listener: it would
 * hold the call's message, metadata and outcome through every scavenge until then.
 */
describe('a transport that keeps its listeners after the end', () => {
  beforeEach(() => {
    vi.useRealTimers(); // setImmediate ends the job that holds the WeakRef targets
  });
  afterEach(() => {
    vi.useFakeTimers(); // for the file's own afterEach, which counts fake timers
  });

  /** A forced full GC (the flag may be set at run time; `gc` then exists in new contexts). */
  const fullGc = (): void => {
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
  };

  /** A transport that remembers every listener; attempts end OK at once, or hang until cancelled. */
  const keepingTransport = (hang: boolean): Transport & { kept: AttemptListener[] } => {
    const kept: AttemptListener[] = [];
    const ok: AttemptEnd = { code: Code.OK, details: '', response: Buffer.from('answer'), headers: undefined, trailers: CallMetadata.EMPTY, unprocessed: false, unknown: false };
    const cancelled: AttemptEnd = { code: Code.CANCELLED, details: 'Cancelled', response: undefined, headers: undefined, trailers: CallMetadata.EMPTY, unprocessed: false, unknown: false };
    return {
      kept,
      start(_p, _m, _b, _d, l) {
        kept.push(l);
        if (!hang) l.onEnd(ok);
        return { cancel: () => l.onEnd(cancelled) };
      },
      connectivity: () => 'READY',
      close() {},
    };
  };

  /** Runs one call to its end in a scope of its own and returns only a weak reference to it. */
  const settledCall = async (transport: Transport, policy: MethodPolicy, cancel: boolean): Promise<WeakRef<RunningCall>> => {
    const call = callWithPolicy(transport, '/p.S/M', Buffer.alloc(64), CallMetadata.EMPTY, 10_000, policy, createRetryThrottle(10, 0.1));
    if (cancel) call.cancel();
    await call.done;
    return new WeakRef(call);
  };

  for (const [name, policy] of [
    ['no policy', NO_POLICY],
    ['a retry policy', retryPolicy()],
    ['a hedging policy', hedgingPolicy({ maxAttempts: 1 })],
  ] as const) {
    for (const cancel of [false, true]) {
      it(`${name}, ${cancel ? 'cancelled' : 'answered'}: the call is collected while its listener is still held`, async () => {
        const transport = keepingTransport(cancel);
        const ref = await settledCall(transport, policy, cancel);
        await new Promise((r) => setImmediate(r)); // WeakRef targets are kept until the job that made them ends
        fullGc();
        expect(transport.kept).toHaveLength(1);
        expect(ref.deref()).toBeUndefined();
      });
    }
  }
});
